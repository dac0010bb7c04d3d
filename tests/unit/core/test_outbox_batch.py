"""The outbox several rows at a time: one claim, one SMTP connection, one update for the sent."""

from __future__ import annotations

import io
import socket
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from tests.factories import make_customer
from tests.mail_sink import MailSink, free_port
from webapp import demo
from webapp import dispatch as dispatch_module
from webapp.db import db
from webapp.models import OutboxMessage
from webapp.services.core import outbox
from webapp.services.core.mail import ConsoleMailer, SmtpMailer
from webapp.services.documents import sources
from worker import jobs

LEASE = 300


class RecordingMailer:
    """A mailer without `connection()`: send_many falls back to `send` per message."""

    mail_from = "portal@northwind.example"

    def __init__(self, fail_for: str | None = None) -> None:
        self.sent: list[EmailMessage] = []
        self.fail_for = fail_for

    def send(self, message: EmailMessage) -> None:
        if message["To"] == self.fail_for:
            raise ConnectionResetError("server hung up")
        self.sent.append(message)


class SessionCountingSink(MailSink):
    """The test sink, also counting SMTP sessions and refusing one recipient with a 550."""

    def __init__(self, refuse: str | None = None) -> None:
        super().__init__()
        self.sessions = 0  # SMTP sessions that delivered something
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        if address == self.refuse:
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        if not getattr(session, "counted", False):
            session.counted = True  # aiosmtpd makes one Session per connection
            self.sessions += 1
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def org(session, now):
    org = demo.seed_organization(session, now=now)
    session.commit()
    return org


@pytest.fixture
def sink():
    sink = SessionCountingSink(refuse="refused@example.com").start()
    yield sink
    sink.stop()


def _enqueue(session: Session, now, to: str) -> OutboxMessage:
    return outbox.enqueue(session, template="password_reset", to=to,
                          subject="Reset your password", now=now,
                          context={"link": "http://portal.test/password/reset/x",
                                   "valid_hours": 2})


def _write(session: Session, now, *addresses: str) -> list[int]:
    ids = [_enqueue(session, now, to).id for to in addresses]
    session.commit()
    outbox.take_written_ids(session)
    return ids


def _addresses(n: int) -> list[str]:
    return [f"r{i}@example.com" for i in range(n)]


def _states(session: Session) -> list[tuple[str, str, int]]:
    rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)
                        .execution_options(populate_existing=True))
    return [(r.to_address, r.status, r.attempts) for r in rows]


def _claim_and_send(session, ids, now, smtp, **kwargs) -> outbox.BatchResult:
    claimed = outbox.claim_many(session, message_ids=ids, now=now, lease_seconds=LEASE)
    session.commit()
    result = outbox.send_many(session, message_ids=claimed, now=now, smtp=smtp, **kwargs)
    session.commit()
    return result


def test_claim_many_takes_every_free_row_once_and_a_second_claim_gets_none(
        engine, session, org, now):
    ids = _write(session, now, *_addresses(3))
    with Session(engine) as first, Session(engine) as second:
        won_first = outbox.claim_many(first, message_ids=ids, now=now, lease_seconds=LEASE)
        first.commit()
        won_second = outbox.claim_many(second, message_ids=ids, now=now, lease_seconds=LEASE)
        second.commit()
    assert (won_first, won_second) == (ids, [])
    rows = session.exec(select(OutboxMessage).execution_options(populate_existing=True)).all()
    assert {(r.status, r.attempts, r.lease_until) for r in rows} == {
        ("sending", 1, now + timedelta(seconds=LEASE))}


def test_claim_many_takes_only_the_rows_a_single_claim_could_take(session, org, now):
    free, leased, sent, expired = _write(session, now, *_addresses(4))
    outbox.claim(session, message_id=leased, now=now, lease_seconds=LEASE)
    outbox.claim(session, message_id=expired, now=now - timedelta(seconds=LEASE + 1),
                 lease_seconds=LEASE)
    outbox.claim(session, message_id=sent, now=now, lease_seconds=LEASE)
    outbox.send(session, message_id=sent, now=now, smtp=RecordingMailer())
    session.commit()
    assert outbox.claim_many(session, message_ids=[expired, sent, leased, free, 999_999],
                             now=now, lease_seconds=LEASE) == [free, expired]
    assert outbox.claim_many(session, message_ids=[], now=now, lease_seconds=LEASE) == []


def test_an_expired_lease_can_be_claimed_again_by_claim_many(session, org, now):
    ids = _write(session, now, *_addresses(2))
    assert outbox.claim_many(session, message_ids=ids, now=now, lease_seconds=LEASE) == ids
    session.commit()
    assert outbox.claim_many(session, message_ids=ids, now=now + timedelta(seconds=LEASE),
                             lease_seconds=LEASE) == []
    later = now + timedelta(seconds=LEASE + 1)
    assert outbox.claim_many(session, message_ids=ids, now=later, lease_seconds=LEASE) == ids
    session.commit()
    assert [attempts for _, _, attempts in _states(session)] == [2, 2]


def test_a_batch_sends_each_row_once_with_its_own_message_id_and_marks_them_sent(
        session, org, now):
    ids = _write(session, now, *_addresses(3))
    mailer = RecordingMailer()
    result = _claim_and_send(session, ids, now, mailer)
    assert result == outbox.BatchResult(sent=tuple(ids))
    rows = {r.id: r for r in session.exec(select(OutboxMessage)
                                          .execution_options(populate_existing=True))}
    assert [(m["To"], m["Message-ID"]) for m in mailer.sent] == [
        (rows[i].to_address, rows[i].message_id_header) for i in ids]
    assert len({m["Message-ID"] for m in mailer.sent}) == 3
    assert {(r.status, r.sent_at, r.lease_until) for r in rows.values()} == {("sent", now, None)}
    # Sent rows are neither claimed nor sent again.
    assert _claim_and_send(session, ids, now, mailer) == outbox.BatchResult()
    assert len(mailer.sent) == 3


def test_send_many_skips_rows_it_has_not_claimed(session, org, now):
    claimed, unclaimed = _write(session, now, *_addresses(2))
    outbox.claim(session, message_id=claimed, now=now, lease_seconds=LEASE)
    mailer = RecordingMailer()
    result = outbox.send_many(session, message_ids=[claimed, unclaimed], now=now, smtp=mailer)
    session.commit()
    assert (result.sent, [m["To"] for m in mailer.sent]) == ((claimed,), ["r0@example.com"])
    assert _states(session) == [("r0@example.com", "sent", 1), ("r1@example.com", "pending", 0)]


def test_a_failing_message_in_the_middle_is_released_and_the_others_are_sent(session, org, now):
    first, middle, last = _write(session, now, *_addresses(3))
    mailer = RecordingMailer(fail_for="r1@example.com")
    result = _claim_and_send(session, [first, middle, last], now, mailer)
    assert (result.sent, result.failed) == ((first, last), (middle,))
    assert [m["To"] for m in mailer.sent] == ["r0@example.com", "r2@example.com"]
    assert _states(session) == [("r0@example.com", "sent", 1), ("r1@example.com", "pending", 1),
                                ("r2@example.com", "sent", 1)]
    released = session.get(OutboxMessage, middle, populate_existing=True)
    assert (released.lease_until, released.last_error) == (
        None, "ConnectionResetError('server hung up')")
    assert outbox.sweep(session, now=now) == [middle]


def test_a_row_that_keeps_failing_in_batches_ends_up_failed(session, org, now):
    ids = _write(session, now, *_addresses(2))
    mailer = RecordingMailer(fail_for="r0@example.com")
    for _ in range(outbox.MAX_ATTEMPTS):
        _claim_and_send(session, ids, now, mailer)
    assert _states(session) == [("r0@example.com", "failed", outbox.MAX_ATTEMPTS),
                                ("r1@example.com", "sent", 1)]


def test_the_organization_is_read_once_per_batch(engine, session, org, now):
    ids = _write(session, now, *_addresses(5))
    claimed = outbox.claim_many(session, message_ids=ids, now=now, lease_seconds=LEASE)
    session.commit()
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as batch:
            outbox.send_many(batch, message_ids=claimed, now=now, smtp=RecordingMailer())
            batch.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert sum("FROM organization" in s for s in statements) == 1
    assert sum(s.lstrip().upper().startswith("UPDATE OUTBOX_MESSAGE") for s in statements) == 1


def test_a_batch_that_runs_out_of_time_hands_the_untried_rows_back(session, org, now):
    ids = _write(session, now, *_addresses(3))
    mailer = RecordingMailer()
    result = _claim_and_send(session, ids, now, mailer, budget_seconds=0)
    assert (result.sent, result.returned) == ((ids[0],), tuple(ids[1:]))
    # Handed back untouched: pending again, the claim not counted as an attempt.
    assert _states(session) == [("r0@example.com", "sent", 1), ("r1@example.com", "pending", 0),
                                ("r2@example.com", "pending", 0)]
    assert outbox.sweep(session, now=now) == ids[1:]


def _forwarded_invoice(session, now, customer_id: int, invoice_id: int) -> OutboxMessage:
    """A forwarded invoice's mail: a row that attaches the invoice's PDF."""
    number = f"INV-{invoice_id}"
    return outbox.enqueue(session, template="document_forward", to="acct@example.org",
                          subject=f"Invoice {number}", now=now, customer_id=customer_id,
                          attachment_kind="invoice", attachment_id=invoice_id,
                          context={"document_label": "Invoice", "number": number,
                                   "sender": "Jane", "sender_email": "jane@example.com",
                                   "message": ""})


def test_a_document_that_cannot_be_rendered_fails_alone(session, org, now):
    customer = make_customer(session, now=now, email="jane@example.com")
    plain = _enqueue(session, now, "r0@example.com")
    broken = _forwarded_invoice(session, now, customer.id, 404)
    last = _enqueue(session, now, "r2@example.com")
    session.commit()
    ids = [plain.id, broken.id, last.id]
    mailer = RecordingMailer()
    result = _claim_and_send(session, ids, now, mailer, attach=sources.attachment)
    assert (result.sent, result.failed) == ((plain.id, last.id), (broken.id,))
    assert [m["To"] for m in mailer.sent] == ["r0@example.com", "r2@example.com"]
    assert session.get(OutboxMessage, broken.id, populate_existing=True).status == "pending"


def test_a_batch_goes_over_one_smtp_connection(sink, session, org, now):
    ids = _write(session, now, *_addresses(4))
    smtp = SmtpMailer(host="127.0.0.1", port=sink.port, mail_from="portal@northwind.example")
    result = _claim_and_send(session, ids, now, smtp)
    received = sink.wait_for(4)
    assert result.sent == tuple(ids)
    assert sink.sessions == 1
    rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m["Message-ID"] for m in received] == [r.message_id_header for r in rows]


def test_a_recipient_the_server_refuses_is_released_and_the_connection_goes_on(
        sink, session, org, now):
    ids = _write(session, now, "r0@example.com", "refused@example.com", "r2@example.com")
    smtp = SmtpMailer(host="127.0.0.1", port=sink.port, mail_from="portal@northwind.example")
    result = _claim_and_send(session, ids, now, smtp)
    received = sink.wait_for(2)
    assert (result.sent, result.failed) == ((ids[0], ids[2]), (ids[1],))
    assert [m["To"] for m in received] == ["r0@example.com", "r2@example.com"]
    assert sink.sessions == 1
    refused = session.get(OutboxMessage, ids[1], populate_existing=True)
    assert refused.status == "pending" and "SMTPRecipientsRefused" in refused.last_error


def test_the_smtp_connection_reconnects_after_the_server_dropped_it(sink):
    smtp = SmtpMailer(host="127.0.0.1", port=sink.port, mail_from="portal@northwind.example")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp.mail_from, "a@example.com", "Hi"
    message.set_content("Hello")
    with smtp.connection() as conn:
        conn.send(message)
        conn._server.sock.shutdown(socket.SHUT_RDWR)  # the connection went away
        with pytest.raises(OSError):
            conn.send(message)
        conn.send(message)
    assert conn.opened == 2
    assert len(sink.wait_for(2)) == 2


def test_a_batch_without_an_smtp_host_is_printed(session, org, now):
    ids = _write(session, now, *_addresses(2))
    stream = io.StringIO()
    result = _claim_and_send(session, ids, now,
                             ConsoleMailer(mail_from="portal@localhost", stream=stream))
    assert result.sent == tuple(ids)
    printed = stream.getvalue()
    assert printed.count("Subject: Reset your password") == 2
    assert "To: r0@example.com" in printed and "To: r1@example.com" in printed


# --- dispatching: the app and the sweep hand several rows to one batch job -----------------

@pytest.fixture
def recorded_dispatch(monkeypatch):
    """Every job commit_and_dispatch / the sweep dispatch, still run (in-process here)."""
    calls: list[tuple[str, tuple[int, ...]]] = []
    real = dispatch_module.dispatch

    def recording(job, *ids, queue=dispatch_module.QUEUE_NAME):
        assert queue == dispatch_module.MAIL_QUEUE  # mail never waits behind other jobs
        calls.append((dispatch_module.job_name(job).rpartition(".")[2], ids))
        real(job, *ids, queue=queue)

    monkeypatch.setattr(dispatch_module, "dispatch", recording)
    monkeypatch.setattr(dispatch_module, "OUTBOX_BATCH", 2)
    return calls


def _app_rows(app, now, n: int) -> list[int]:
    with app.app_context():
        demo.seed_organization(db.session, now=now)
        ids = [_enqueue(db.session, now, to).id for to in _addresses(n)]
        dispatch_module.commit_and_dispatch()
    return ids


def _app_states(app) -> list[tuple[str, str, int]]:
    with app.app_context():
        return _states(db.session)


def test_rows_written_together_are_sent_in_batch_jobs_in_process(app, now, recorded_dispatch,
                                                                 capsys):
    ids = _app_rows(app, now, 3)
    assert recorded_dispatch == [("send_outbox_messages", tuple(ids[:2])),
                                 ("send_outbox_messages", tuple(ids[2:]))]
    assert [status for _, status, _ in _app_states(app)] == ["sent"] * 3
    assert capsys.readouterr().out.count("Subject: Reset your password") == 3


def test_a_row_written_alone_keeps_its_single_send_job(app, now, recorded_dispatch):
    ids = _app_rows(app, now, 1)
    assert recorded_dispatch == [("send_outbox_message", tuple(ids))]
    assert _app_states(app) == [("r0@example.com", "sent", 1)]


def test_a_failing_smtp_server_leaves_every_row_of_the_batch_pending_with_the_error(app, now):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nothing listens
    _app_rows(app, now, 2)  # the job's failure is logged, the commit stands
    assert [(status, attempts) for _, status, attempts in _app_states(app)] == [
        ("pending", 1), ("pending", 1)]
    with app.app_context():
        errors = db.session.exec(select(OutboxMessage.last_error)).all()
        assert all("ConnectionRefusedError" in error for error in errors)
        with pytest.raises(jobs.OutboxSendFailed, match="2 of 2"):
            jobs.send_outbox_messages(*_ids(db.session))


def _ids(session: Session) -> list[int]:
    return list(session.exec(select(OutboxMessage.id).order_by(OutboxMessage.id)))


def test_the_sweep_dispatches_pending_rows_in_batches(app, now, recorded_dispatch):
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # down: rows stay pending
    ids = _app_rows(app, now, 3)
    recorded_dispatch.clear()
    app.config["REDIS_URL"] = None
    with app.app_context():
        assert jobs.sweep_outbox() == 3
    assert recorded_dispatch == [("send_outbox_messages", tuple(ids[:2])),
                                 ("send_outbox_messages", tuple(ids[2:]))]
    assert [status for _, status, _ in _app_states(app)] == ["sent"] * 3


def test_the_batch_job_does_nothing_for_rows_already_sent(app, now):
    ids = _app_rows(app, now, 2)
    with app.app_context():
        assert jobs.send_outbox_messages(*ids) == 0
    assert [attempts for _, _, attempts in _app_states(app)] == [1, 1]


def test_a_sender_without_documents_fails_an_attaching_row_and_still_sends_the_rest(
        session, org, now):
    customer = make_customer(session, now=now, email="jane@example.com")
    attaching = _forwarded_invoice(session, now, customer.id, 1)
    plain = _enqueue(session, now, "r0@example.com")
    session.commit()
    mailer = RecordingMailer()
    result = _claim_and_send(session, [attaching.id, plain.id], now, mailer)
    assert (result.sent, result.failed) == ((plain.id,), (attaching.id,))
    row = session.get(OutboxMessage, attaching.id, populate_existing=True)
    assert "send it with attach=" in row.last_error
