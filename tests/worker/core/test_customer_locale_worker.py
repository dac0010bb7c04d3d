"""A mail the worker sends is written in its customer's locale (issue 25): Omar (de_DE) gets
his invoice mail in German, with German amounts and dates, through Redis, `rq worker` and
SMTP."""

from __future__ import annotations

from rq import Queue
from sqlmodel import Session, select

from tests.factories import make_invoice
from tests.i18n.german import german
from tests.worker.conftest import run_worker
from webapp import demo
from webapp.clock import utcnow
from webapp.models import Customer
from webapp.services.core import outbox


def test_the_worker_writes_a_customers_mail_in_their_locale(database, redis_conn, sink,
                                                            worker_env):
    now = utcnow()
    with Session(database, expire_on_commit=False) as session:
        demo.seed_demo(session, now=now)
        omar = session.exec(select(Customer).where(Customer.email == demo.OMAR[0])).one()
        invoice = make_invoice(session, customer=omar, now=now, amount=13880)
        row = outbox.enqueue(session, template="invoice_issued", to=omar.email,
                             subject=f"Invoice {invoice.number}", customer_id=omar.id, now=now,
                             context={"name": omar.display_name, "number": invoice.number,
                                      "amount": invoice.total, "currency": invoice.currency,
                                      "due_date": "2026-12-10",
                                      "page": outbox.page("invoices.detail",
                                                          invoice_id=invoice.id)})
        session.commit()
    Queue("mail", connection=redis_conn).enqueue("worker.jobs.send_outbox_message", row.id)

    run_worker(worker_env)

    (mail,) = sink.wait_for(1)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert german("Invoice %(number)s for %(amount)s is ready. It is due on %(date)s; you can view "
                  "and pay it in the portal:", number=invoice.number, amount="138,80\xa0€",
                  date="10.12.2026") in text
