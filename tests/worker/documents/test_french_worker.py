"""A French customer's mail and PDF, made by the worker, are in French (issue 33): Jane, with her
locale set to fr_FR, forwards her invoice; `rq worker` writes the mail and renders the PDF, and
SMTP delivers them. The expected words come from the French catalog, not from this file."""

from __future__ import annotations

from rq import Queue
from sqlmodel import Session, select

from tests.mail_sink import text_of
from tests.worker.conftest import run_worker
from tests.worker.documents.test_forwarding_worker import _attached_pdf_text
from webapp import demo
from webapp.clock import utcnow
from webapp.models import Customer, Invoice, Organization, OutboxMessage
from webapp.services.core import outbox
from webapp.services.core.i18n import translations_for
from webapp.services.documents import forwarding

FRENCH = translations_for("fr_FR")


def fr(msgid: str, **params: object) -> str:
    text = FRENCH.gettext(msgid)
    assert text != msgid, f"no French for {msgid!r}"
    return text % params if params else text


def _french_jane(session: Session) -> tuple[Customer, Invoice]:
    seeded = demo.seed_demo(session, now=utcnow())
    jane = session.get(Customer, seeded.jane_customer_id)
    jane.locale = "fr_FR"
    session.add(jane)
    invoice = session.exec(select(Invoice).where(Invoice.customer_id == jane.id)
                           .order_by(Invoice.id)).first()
    return jane, invoice


def test_a_french_customers_forwarded_invoice_mail_and_pdf_are_in_french(
        database, redis_conn, sink, worker_env):
    with Session(database, expire_on_commit=False) as session:
        jane, invoice = _french_jane(session)
        forwarding.forward(session, customer_id=jane.id, user_id=None, kind="invoice",
                           document_id=invoice.id, contact_ids=(),
                           addresses="acct@example.org", message="", now=utcnow())
        session.commit()
        (row,) = session.exec(select(OutboxMessage)).all()
        org = session.get(Organization, 1).name
    Queue("mail", connection=redis_conn).enqueue("worker.jobs.send_outbox_message", row.id)

    run_worker(worker_env)

    (mail,) = sink.wait_for(1)
    assert mail["Subject"] == fr("Invoice %(number)s from %(org)s", number=invoice.number, org=org)
    assert fr("Hello,") in text_of(mail)
    pdf = _attached_pdf_text(mail)
    assert fr("Balance due") in pdf and fr("Invoice date") in pdf
    assert "Balance due" not in pdf


def test_a_french_customers_invoice_mail_is_in_french(database, redis_conn, sink, worker_env):
    with Session(database, expire_on_commit=False) as session:
        jane, invoice = _french_jane(session)
        row = outbox.enqueue(session, template="invoice_issued", to=jane.email,
                             subject=fr("Invoice %(number)s", number=invoice.number),
                             customer_id=jane.id, now=utcnow(),
                             context={"name": jane.display_name, "number": invoice.number,
                                      "amount": invoice.total, "currency": invoice.currency,
                                      "due_date": "2026-12-10",
                                      "page": outbox.page("invoices.detail",
                                                          invoice_id=invoice.id)})
        session.commit()
    Queue("mail", connection=redis_conn).enqueue("worker.jobs.send_outbox_message", row.id)

    run_worker(worker_env)

    (mail,) = sink.wait_for(1)
    text = text_of(mail)
    assert fr("Hello %(name)s,", name=jane.display_name) in text
    assert "is ready" not in text, text
    assert "10 déc. 2026" in text, text  # the date in French too
