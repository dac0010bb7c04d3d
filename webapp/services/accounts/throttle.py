"""The per-account sign-in limit: after a few wrong passwords for one email, each further try
waits longer (30 s, doubling, at most 15 minutes), from whatever address it comes.

Rows are keyed by a hash of the typed email, known or not, so an unknown address is throttled
exactly like a known one. A browser that has signed in to the account before (it shows the
signed device cookie, webapp/login.py) is not held back: the limit stops guessing, not the
owner. The owner is emailed when the throttling starts, at most once an hour (through
services/notices.py, so that too is the same work for any address).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from webapp.models import LoginThrottle, User
from webapp.services.accounts import auth, notices

FREE_FAILURES = 5
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)  # failures this old no longer count
NOTIFY_EVERY = timedelta(hours=1)
_TABLE = LoginThrottle.__table__


def key_for(email: str) -> str:
    return hashlib.sha256(auth.normalize_email(email).encode()).hexdigest()


def delay_after(failures: int) -> timedelta:
    """How long the next try waits after `failures` wrong passwords in a row."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(MAX_DELAY, FIRST_DELAY * 2 ** (failures - FREE_FAILURES))


def _row(session: Session, key: str) -> LoginThrottle:
    """The key's row, created if new and locked for this transaction: tries for one account
    take turns (SQLite's POST transactions already hold the write lock)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.connection().execute(dialect.insert(_TABLE).values(key=key, failures=0)
                                 .on_conflict_do_nothing(index_elements=[_TABLE.c.key]))
    return session.exec(select(LoginThrottle).where(LoginThrottle.key == key)
                        .with_for_update().execution_options(populate_existing=True)).one()


@dataclass(frozen=True)
class Gate:
    allowed: bool
    wait: timedelta  # how long until the next try, when not allowed


def gate(session: Session, *, email: str, now: datetime, trusted_device: bool) -> Gate:
    """May a password be tried for this email now?"""
    row = _row(session, key_for(email))
    if trusted_device or row.locked_until is None or row.locked_until <= now:
        return Gate(True, timedelta(0))
    return Gate(False, row.locked_until - now)


def record_failure(session: Session, *, email: str, now: datetime) -> None:
    """Count a wrong password; from the FREE_FAILURES-th on, the account waits."""
    row = _row(session, key_for(email))
    if row.last_failure_at is not None and now - row.last_failure_at >= FORGET_AFTER:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    wait = delay_after(row.failures)
    if wait:
        row.locked_until = now + wait
        if row.notified_at is None or now - row.notified_at >= NOTIFY_EVERY:
            row.notified_at = now
            notices.record(session, kind=notices.LOGIN_THROTTLED, email=email,
                           now=now)


def record_success(session: Session, *, email: str) -> None:
    """The right password: the account's count starts again."""
    session.connection().execute(delete(_TABLE).where(_TABLE.c.key == key_for(email)))


def purge(session: Session, *, now: datetime) -> int:
    """Forget accounts whose failures no longer count and that wait for nothing."""
    return session.connection().execute(delete(_TABLE).where(
        or_(_TABLE.c.last_failure_at.is_(None), _TABLE.c.last_failure_at < now - FORGET_AFTER),
        or_(_TABLE.c.locked_until.is_(None), _TABLE.c.locked_until < now))).rowcount


@dataclass(frozen=True)
class Attempt:
    user: User | None  # signed in when set
    wait: timedelta  # > 0 when the account is throttled and the password was not tried


def attempt(session: Session, *, email: str, password: str, trusted_device: bool,
            now: datetime) -> Attempt:
    """One sign-in try: refused unchecked while the account waits, else the password is
    checked and the outcome counted."""
    allowed = gate(session, email=email, now=now, trusted_device=trusted_device)
    if not allowed.allowed:
        return Attempt(None, allowed.wait)
    user = auth.authenticate(session, email=email, password=password, now=now)
    if user is None:
        record_failure(session, email=email, now=now)
    else:
        record_success(session, email=email)
    return Attempt(user, timedelta(0))
