"""Account notices: the request records a typed address; the job mails only a real login."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from webapp.models import AccountNotice, OutboxMessage, User
from webapp.services.accounts import notices as account_notices
from webapp.services.accounts.auth import hash_password

SECRET = "notice-secret"


@pytest.fixture
def jane(session, now) -> User:
    user = User(email="jane@example.com", password_hash=hash_password("a-long-password"),
                role="customer", created_at=now)
    session.add(user)
    session.commit()
    return user


def _process(session, notice_id, now) -> bool:
    sent = account_notices.process(session, notice_id=notice_id, now=now, secret=SECRET)
    session.commit()
    return sent


def _mails(session) -> list[OutboxMessage]:
    return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_a_reset_request_for_a_login_mails_its_link_once(session, now, jane):
    notice = account_notices.record(session, kind="password_reset", email=" JANE@example.com",
                                    now=now)
    session.commit()
    assert _process(session, notice, now) is True
    assert _process(session, notice, now) is False  # a second job for it does nothing
    (mail,) = _mails(session)
    assert (mail.template, mail.to_address) == ("password_reset", "jane@example.com")
    assert mail.context["page"]["endpoint"] == "password.reset"
    assert mail.context["page"]["values"]["token"]


@pytest.mark.parametrize("email", ["nobody@example.com", "jane@example.com"])
def test_an_unknown_or_deactivated_address_gets_no_mail(session, now, jane, email):
    jane.is_active = False
    notice = account_notices.record(session, kind="password_reset", email=email, now=now)
    session.commit()
    assert _process(session, notice, now) is False
    assert _mails(session) == []
    assert session.get(AccountNotice, notice).processed_at == now


def test_a_throttle_warning_goes_to_the_owner(session, now, jane):
    notice = account_notices.record(session, kind="login_throttled", email="jane@example.com",
                                    now=now)
    session.commit()
    _process(session, notice, now)
    assert [(m.template, m.to_address) for m in _mails(session)] == [
        ("login_throttled", "jane@example.com")]


def test_the_sweep_finds_what_no_job_took_and_old_notices_are_forgotten(session, now, jane):
    first = account_notices.record(session, kind="password_reset", email="a@example.com",
                                   now=now)
    second = account_notices.record(session, kind="password_reset", email="b@example.com",
                                    now=now)
    session.commit()
    assert account_notices.pending(session, now=now) == [first, second]
    _process(session, first, now)
    assert account_notices.pending(session, now=now) == [second]
    assert account_notices.purge(session, now=now + timedelta(days=6)) == 0
    assert account_notices.purge(session, now=now + timedelta(days=8)) == 1
