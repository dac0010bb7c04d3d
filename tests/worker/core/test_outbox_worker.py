"""Mail through the real pieces: Redis, an `rq worker` process, SMTP to an aiosmtpd sink."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from rq import Queue
from sqlmodel import Session, select

from tests.conftest import post_form
from tests.mail_sink import free_port, link_in
from tests.worker.conftest import make_app, run_worker
from webapp import demo
from webapp.clock import utcnow
from webapp.db import db, session_scope
from webapp.models import Customer, OutboxMessage
from webapp.services.core import outbox

NEW_PASSWORD = "set-by-the-link-1"


def _row(engine, message_id: int) -> OutboxMessage:
    with Session(engine) as session:
        return session.get(OutboxMessage, message_id)


def _only_row(engine) -> OutboxMessage:
    with Session(engine) as session:
        return session.exec(select(OutboxMessage)).one()


def test_an_invitation_arrives_through_the_worker_with_a_working_link(
        database, redis_conn, sink, worker_env):
    app = make_app(worker_env)
    with app.app_context():
        demo.seed_demo(db.session, now=utcnow())
        db.session.add(Customer(display_name="Ann Lee", email="ann@example.com",
                                currency="USD", created_at=utcnow()))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["invite", "ann@example.com"])
    assert result.exit_code == 0, result.output
    assert Queue("mail", connection=redis_conn).count == 1  # queued, not sent in-process
    assert sink.messages == []

    run_worker(worker_env)

    (mail,) = sink.wait_for(1)
    assert (mail["To"], mail["Message-ID"]) == ("ann@example.com",
                                                _only_row(database).message_id_header)
    link = link_in(mail)
    assert link.startswith("http://portal.test/password/invite/")
    client = app.test_client()
    path = urlsplit(link).path
    signed_in = post_form(client, path, {"new_password": NEW_PASSWORD,
                                         "confirm_password": NEW_PASSWORD})
    assert (signed_in.status_code, signed_in.headers["Location"]) == (303, "/")
    assert client.get("/").status_code == 200  # the link signed Ann in


def test_a_sender_killed_after_claiming_is_replaced_by_the_sweep_once_its_lease_ends(
        database, redis_conn, sink, worker_env):
    with session_scope(database) as session:
        demo.seed_organization(session, now=utcnow())
        row = outbox.enqueue(session, template="password_reset", to="jane@example.com",
                             subject="Reset your password", now=utcnow(),
                             context={"link": "http://portal.test/password/reset/x",
                                      "valid_hours": 2})
    queue = Queue("default", connection=redis_conn)
    queue.enqueue("tests.worker.dying_jobs.send_then_die", row.id)
    run_worker(worker_env)
    sink.wait_for(1)
    leased = _row(database, row.id)
    assert leased.status == "sending"  # delivered, but the sender died before marking it

    queue.enqueue("worker.jobs.sweep_outbox")
    run_worker(worker_env)  # the lease still holds: the sweep leaves the row alone
    assert (len(sink.messages), _row(database, row.id).status) == (1, "sending")

    while utcnow() <= leased.lease_until:
        time.sleep(0.2)
    queue.enqueue("worker.jobs.sweep_outbox")
    run_worker(worker_env)

    copies = sink.wait_for(2)
    assert [m["Message-ID"] for m in copies] == [row.message_id_header] * 2
    sent = _row(database, row.id)
    assert (sent.status, sent.attempts, len(sink.messages)) == ("sent", 2, 2)


def test_with_redis_down_the_request_succeeds_and_the_sweep_sends_the_mail_later(
        database, redis_conn, sink, worker_env):
    app = make_app(worker_env, redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing there
    with app.app_context():
        demo.seed_demo(db.session, now=utcnow())
        db.session.commit()
    client = app.test_client()

    response = post_form(client, "/password/forgot", {"email": demo.JANE[0]})

    assert response.status_code == 200
    assert "If that email has an account, we've sent a link" in response.get_data(as_text=True)
    assert sink.messages == []  # the request only recorded the address
    Queue("default", connection=redis_conn).enqueue("worker.jobs.sweep_account_notices")
    run_worker(worker_env)  # Redis is back: the schedule's sweep mails the link
    (mail,) = sink.wait_for(1)
    assert link_in(mail).startswith("http://portal.test/password/reset/")
    assert _only_row(database).status == "sent"
