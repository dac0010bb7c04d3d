"""The outbox: written with the transaction, claimed by one sender, swept after a lost lease."""

from __future__ import annotations

import io
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlmodel import Session, select

from webapp import demo
from webapp.models import OutboxMessage
from webapp.services.core import outbox
from webapp.services.core.mail import ConsoleMailer

LEASE = 300


class RecordingMailer:
    mail_from = "portal@northwind.example"

    def __init__(self, fail: Exception | None = None) -> None:
        self.sent: list[EmailMessage] = []
        self.fail = fail

    def send(self, message: EmailMessage) -> None:
        if self.fail:
            raise self.fail
        self.sent.append(message)


def _enqueue(session: Session, now, to: str = "jane@example.com") -> OutboxMessage:
    return outbox.enqueue(session, template="password_reset", to=to,
                          subject="Reset your password", now=now,
                          context={"link": "http://portal.test/password/reset/x",
                                   "valid_hours": 2})


@pytest.fixture
def org(session, now):
    org = demo.seed_organization(session, now=now)
    session.commit()
    return org


def _rows(session: Session) -> list[OutboxMessage]:
    return list(session.exec(select(OutboxMessage)))


def test_a_rolled_back_transaction_leaves_no_outbox_row(session, org, now):
    _enqueue(session, now)
    session.rollback()
    assert _rows(session) == []
    assert outbox.take_written_ids(session) == []


def test_a_committed_transaction_leaves_its_outbox_row_pending(session, org, now):
    row = _enqueue(session, now)
    session.commit()
    assert outbox.take_written_ids(session) == [row.id]
    assert [(r.status, r.to_address) for r in _rows(session)] == [("pending", "jane@example.com")]


def test_each_row_gets_its_own_message_id(session, org, now):
    first, second = _enqueue(session, now), _enqueue(session, now)
    assert first.message_id_header != second.message_id_header
    assert first.message_id_header.endswith("@northwind.example>")


def test_an_unknown_template_is_refused_when_enqueued(session, org, now):
    with pytest.raises(ValueError, match="no mail template"):
        outbox.enqueue(session, template="no_such_mail", to="a@b.example", subject="x",
                       context={}, now=now)


def test_only_one_of_two_senders_claims_a_row(engine, session, org, now):
    row = _enqueue(session, now)
    session.commit()
    with Session(engine) as first, Session(engine) as second:
        won_first = outbox.claim(first, message_id=row.id, now=now, lease_seconds=LEASE)
        first.commit()
        won_second = outbox.claim(second, message_id=row.id, now=now, lease_seconds=LEASE)
        second.commit()
    assert (won_first, won_second) == (True, False)


def test_sending_a_claimed_row_sends_it_once_and_marks_it_sent(session, org, now):
    row = _enqueue(session, now)
    session.commit()
    mailer = RecordingMailer()
    assert outbox.claim(session, message_id=row.id, now=now, lease_seconds=LEASE)
    assert outbox.send(session, message_id=row.id, now=now, smtp=mailer)
    session.commit()
    assert not outbox.claim(session, message_id=row.id, now=now, lease_seconds=LEASE)
    assert not outbox.send(session, message_id=row.id, now=now, smtp=mailer)
    sent = session.get(OutboxMessage, row.id, populate_existing=True)
    assert (sent.status, sent.sent_at, len(mailer.sent)) == ("sent", now, 1)


def test_an_unclaimed_row_is_not_sent(session, org, now):
    row = _enqueue(session, now)
    session.commit()
    mailer = RecordingMailer()
    assert not outbox.send(session, message_id=row.id, now=now, smtp=mailer)
    assert mailer.sent == []


def test_the_message_comes_from_the_organization_with_its_reply_to_and_the_rows_id(
        session, org, now):
    row = _enqueue(session, now)
    message = outbox.build_message(session, row, mail_from="portal@northwind.example", now=now)
    assert message["From"] == "Northwind Cloud Ltd <portal@northwind.example>"
    assert message["Reply-To"] == "billing@northwind.example"
    assert message["Message-ID"] == row.message_id_header
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "http://portal.test/password/reset/x" in text
    assert 'href="http://portal.test/password/reset/x"' in html


def test_a_failed_send_puts_the_row_back_with_the_error(session, org, now):
    row = _enqueue(session, now)
    session.commit()
    outbox.claim(session, message_id=row.id, now=now, lease_seconds=LEASE)
    with pytest.raises(ConnectionRefusedError):
        outbox.send(session, message_id=row.id, now=now,
                    smtp=RecordingMailer(fail=ConnectionRefusedError("no server")))
    outbox.release(session, message_id=row.id, error="ConnectionRefusedError('no server')")
    session.commit()
    back = session.get(OutboxMessage, row.id, populate_existing=True)
    assert (back.status, back.attempts, back.last_error) == (
        "pending", 1, "ConnectionRefusedError('no server')")


def test_a_row_that_keeps_failing_ends_up_failed(session, org, now):
    row = _enqueue(session, now)
    session.commit()
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.claim(session, message_id=row.id, now=now, lease_seconds=LEASE)
        outbox.release(session, message_id=row.id, error="boom")
    session.commit()
    assert session.get(OutboxMessage, row.id, populate_existing=True).status == "failed"
    assert outbox.sweep(session, now=now) == []


def test_the_sweep_picks_pending_rows_and_expired_leases_but_not_live_ones(session, org, now):
    pending, leased, sent = _enqueue(session, now), _enqueue(session, now), _enqueue(session, now)
    session.commit()
    for row in (leased, sent):
        outbox.claim(session, message_id=row.id, now=now, lease_seconds=LEASE)
    outbox.send(session, message_id=sent.id, now=now, smtp=RecordingMailer())
    session.commit()
    assert outbox.sweep(session, now=now + timedelta(seconds=LEASE - 1)) == [pending.id]
    assert outbox.sweep(session, now=now + timedelta(seconds=LEASE + 1)) == [pending.id, leased.id]


def test_an_expired_lease_can_be_claimed_again(session, org, now):
    row = _enqueue(session, now)
    session.commit()
    assert outbox.claim(session, message_id=row.id, now=now, lease_seconds=LEASE)
    later = now + timedelta(seconds=LEASE + 1)
    assert outbox.claim(session, message_id=row.id, now=later, lease_seconds=LEASE)


def test_without_an_smtp_host_the_message_is_printed(session, org, now):
    row = _enqueue(session, now)
    session.commit()
    stream = io.StringIO()
    outbox.claim(session, message_id=row.id, now=now, lease_seconds=LEASE)
    outbox.send(session, message_id=row.id, now=now,
                smtp=ConsoleMailer(mail_from="portal@localhost", stream=stream))
    printed = stream.getvalue()
    assert "Subject: Reset your password" in printed
    assert "http://portal.test/password/reset/x" in printed
