"""Signed-in sessions as the server keeps them: start, list, end, expire, purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from webapp.models import User, UserSession
from webapp.services.accounts import request_facts
from webapp.services.accounts import sessions as account_sessions
from webapp.services.accounts.auth import hash_password
from webapp.services.core.errors import NotFound

MAC_CHROME = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
LIMITS = account_sessions.Limits(lifetime=timedelta(days=30), idle=timedelta(days=7))


def _user(session, now, email="jane@example.com") -> User:
    user = User(email=email, password_hash=hash_password("first-password"), role="customer",
                created_at=now)
    session.add(user)
    session.commit()
    return user


def _start(session, user, now, user_agent=MAC_CHROME, ip="203.0.113.7"):
    started = account_sessions.start(session, user_id=user.id, method="password", ip=ip,
                                     user_agent=user_agent, now=now)
    session.commit()
    return started


def _row(session, session_id) -> UserSession:
    session.commit()  # a fresh read: what other connections committed since
    return session.get(UserSession, session_id)


@pytest.mark.parametrize(("user_agent", "device"), [
    (MAC_CHROME, "Chrome on macOS"),
    (IPHONE, "Mobile Safari on iOS"),
    ("Werkzeug/3.1", "Unknown browser"),
    (None, "Unknown browser"),
])
def test_a_sign_in_is_described_by_browser_and_system(user_agent, device):
    assert account_sessions.describe_device(user_agent) == device


def test_only_a_hash_of_the_token_is_stored(session, now):
    user = _user(session, now)
    started = _start(session, user, now)
    row = _row(session, started.session_id)
    assert row.token_hash == account_sessions.token_hash(started.token)
    assert started.token not in row.token_hash and len(started.token) >= 40
    assert (row.device, row.ip, row.method) == ("Chrome on macOS", "203.0.113.7", "password")
    assert row.created_at == row.last_seen_at == now and row.ended_at is None


def test_the_list_shows_live_sessions_this_device_first(session, now):
    user = _user(session, now)
    this = _start(session, user, now - timedelta(days=2))
    phone = _start(session, user, now - timedelta(days=1), user_agent=IPHONE)
    ended = _start(session, user, now)
    account_sessions.end_one(session, user_id=user.id, session_id=ended.session_id,
                             reason="signed_out", now=now)
    listed = account_sessions.live_sessions(session, user_id=user.id, limits=LIMITS, now=now,
                                            current_session_id=this.session_id)
    assert [(s.id, s.current, s.device) for s in listed] == [
        (this.session_id, True, "Chrome on macOS"), (phone.session_id, False,
                                                     "Mobile Safari on iOS")]


def test_ending_another_users_session_is_not_found(session, now):
    jane, omar = _user(session, now), _user(session, now, "omar@example.com")
    omars = _start(session, omar, now)
    with pytest.raises(NotFound):
        account_sessions.end_one(session, user_id=jane.id, session_id=omars.session_id,
                                 reason="signed_out", now=now)
    assert _row(session, omars.session_id).ended_at is None


def test_ending_everything_else_keeps_the_current_session(session, now):
    user = _user(session, now)
    this, a, b = (_start(session, user, now) for _ in range(3))
    assert account_sessions.end_all(session, user_id=user.id, reason="others_signed_out",
                                    now=now, keep_session_id=this.session_id) == 2
    session.commit()
    assert _row(session, this.session_id).ended_at is None
    assert {_row(session, s.session_id).end_reason for s in (a, b)} == {"others_signed_out"}


@pytest.mark.parametrize(("age", "idle", "expired"), [
    (timedelta(days=29, hours=23), timedelta(days=6, hours=23), False),
    (timedelta(days=30), timedelta(0), True),  # the lifetime, however active
    (timedelta(days=10), timedelta(days=7), True),  # idle for the idle timeout
])
def test_a_session_expires_at_its_lifetime_or_idle_timeout(session, now, age, idle, expired):
    user = _user(session, now)
    started = _start(session, user, now - age)
    row = _row(session, started.session_id)
    row.last_seen_at = now - idle
    session.commit()
    login_id = request_facts.login_id(user.id, user.session_version, started.token)
    facts = request_facts.for_login(session, login_id)
    assert facts.session_expired(now) is expired
    assert account_sessions.is_live(facts.login_session, limits=LIMITS, now=now) is not expired


def test_last_seen_moves_at_most_once_a_minute(session, engine, now):
    user = _user(session, now)
    started = _start(session, user, now)
    for seconds, seen in ((30, now), (60, now + timedelta(seconds=60)),
                          (90, now + timedelta(seconds=60))):
        with engine.begin() as connection:
            account_sessions.touch(connection, session_id=started.session_id,
                                   now=now + timedelta(seconds=seconds))
        assert _row(session, started.session_id).last_seen_at == seen, seconds


def test_old_ended_and_expired_rows_are_purged_after_90_days(session, now):
    user = _user(session, now)
    live = _start(session, user, now - timedelta(days=1))
    ended_recently = _start(session, user, now - timedelta(days=100))
    ended_long_ago = _start(session, user, now - timedelta(days=100))
    idle_long_ago = _start(session, user, now - timedelta(days=98))  # idle since, + 7 days
    idle_recently = _start(session, user, now - timedelta(days=96))
    for started, ended_at in ((ended_recently, now - timedelta(days=89)),
                              (ended_long_ago, now - timedelta(days=91))):
        _row(session, started.session_id).ended_at = ended_at
    session.commit()
    assert account_sessions.purge(session, limits=LIMITS, now=now) == 2
    session.commit()
    kept = set(session.exec(select(UserSession.id)).all())
    assert kept == {live.session_id, ended_recently.session_id, idle_recently.session_id}
    assert idle_long_ago.session_id not in kept and ended_long_ago.session_id not in kept
