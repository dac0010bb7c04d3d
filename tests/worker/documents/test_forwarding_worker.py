"""Forwarded documents through the real pieces: Redis, `rq worker`, SMTP to an aiosmtpd sink."""

from __future__ import annotations

import time
from io import BytesIO

from pypdf import PdfReader
from rq import Queue
from sqlmodel import Session, select

from tests.conftest import Auth, post_form
from tests.mail_sink import free_port
from tests.worker.conftest import make_app, run_worker
from webapp import demo
from webapp.clock import utcnow
from webapp.db import db
from webapp.models import Invoice, OutboxMessage


def _rows(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def _forward_janes_invoice(worker_env, address: str = "acct@example.org"):
    """Jane forwards her first invoice from the web app (dispatch enqueues on Redis)."""
    app = make_app(worker_env)
    with app.app_context():
        seeded = demo.seed_demo(db.session, now=utcnow())
        db.session.commit()
        invoice = db.session.exec(select(Invoice).where(
            Invoice.customer_id == seeded.jane_customer_id).order_by(Invoice.id)).first()
    client = app.test_client()
    Auth(client).login()
    response = post_form(client, f"/invoices/{invoice.id}/forward", {"addresses": address})
    assert response.status_code == 303
    return client, response.headers["Location"], invoice


def _attached_pdf_text(mail) -> str:
    (attached,) = mail.iter_attachments()
    assert attached.get_content_type() == "application/pdf"
    reader = PdfReader(BytesIO(attached.get_content()))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_a_forwarded_invoice_arrives_with_its_pdf_and_the_page_shows_it_sent(
        database, redis_conn, sink, worker_env):
    client, status_url, invoice = _forward_janes_invoice(worker_env)
    assert Queue("mail", connection=redis_conn).count == 1 and sink.messages == []
    assert ">Queued</span>" in client.get(status_url).get_data(as_text=True)

    run_worker(worker_env)

    (mail,) = sink.wait_for(1)
    (row,) = _rows(database)
    assert (mail["To"], mail["Message-ID"]) == ("acct@example.org", row.message_id_header)
    assert invoice.number in _attached_pdf_text(mail)
    assert ">Sent</span>" in client.get(status_url).get_data(as_text=True)


def _sweep_after_lease(database, redis_conn, worker_env) -> None:
    (row,) = _rows(database)
    while utcnow() <= row.lease_until:
        time.sleep(0.2)
    Queue("default", connection=redis_conn).enqueue("worker.jobs.sweep_outbox")
    run_worker(worker_env)


def test_a_sender_killed_while_rendering_the_pdf_is_replaced_and_the_mail_arrives_once(
        database, redis_conn, sink, worker_env):
    _client, _status_url, invoice = _forward_janes_invoice(worker_env)
    queue = Queue("mail", connection=redis_conn)
    queue.empty()  # the request's own send job: replaced by one that dies mid-render
    (row,) = _rows(database)
    queue.enqueue("tests.worker.dying_document_jobs.render_then_die", row.id)
    run_worker(worker_env)
    assert sink.messages == [] and _rows(database)[0].status == "sending"

    _sweep_after_lease(database, redis_conn, worker_env)

    (mail,) = sink.wait_for(1)
    assert mail["Message-ID"] == row.message_id_header
    assert invoice.number in _attached_pdf_text(mail)
    assert _rows(database)[0].status == "sent"


def test_a_sender_killed_after_delivering_sends_a_copy_with_the_same_message_id(
        database, redis_conn, sink, worker_env):
    _client, _status_url, invoice = _forward_janes_invoice(worker_env)
    queue = Queue("mail", connection=redis_conn)
    queue.empty()
    (row,) = _rows(database)
    queue.enqueue("tests.worker.dying_jobs.send_then_die", row.id)
    run_worker(worker_env)
    sink.wait_for(1)

    _sweep_after_lease(database, redis_conn, worker_env)

    copies = sink.wait_for(2)
    assert [m["Message-ID"] for m in copies] == [row.message_id_header] * 2
    assert all(invoice.number in _attached_pdf_text(m) for m in copies)
    assert _rows(database)[0].status == "sent"


def test_with_redis_down_the_forward_is_kept_and_sent_by_the_sweep_later(
        database, redis_conn, sink, worker_env):
    down = {**worker_env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}  # nothing there
    _client, _status_url, invoice = _forward_janes_invoice(down)
    assert _rows(database)[0].status == "pending" and sink.messages == []

    Queue("default", connection=redis_conn).enqueue("worker.jobs.sweep_outbox")
    run_worker(worker_env)  # Redis is back: the sweep dispatches, the worker sends

    (mail,) = sink.wait_for(1)
    assert invoice.number in _attached_pdf_text(mail)
