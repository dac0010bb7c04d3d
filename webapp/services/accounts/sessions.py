"""Signed-in sessions the server knows: one row per sign-in, listed and ended one by one.

A sign-in makes a random token. The browser keeps it in the signed login cookie (the login id
is "<user id>:<session version>:<token>"); the table keeps only its SHA-256, so a copy of the
table opens nothing. The one login statement (request_facts.for_login) reads the row with the
user. A row is live until it ends (ended_at), and it ends:
- at logout, or when its user signs it out from Account & security;
- when the password changes (every other row) or is reset (every row);
- when an admin signs the customer out, or revokes their portal access (every row);
- on its first request past the lifetime or the idle timeout (the preferences).
`User.session_version` stays beside the rows as the switch that ends everything at once, and
it is what makes emailed set-password links single-use.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, select
from ua_parser import parse as parse_user_agent

from webapp.models import UserSession
from webapp.services.core import wording
from webapp.services.core.errors import NotFound
from webapp.services.core.i18n import _

PASSWORD, INVITATION, RESET = "password", "invitation", "reset"
TOTP, RECOVERY = "totp", "recovery_code"  # a password (or a link) and then a second factor
METHOD_LABELS = {PASSWORD: _("Password"), INVITATION: _("Invitation link"),
                 RESET: _("Password reset link"), TOTP: _("Password + authenticator code"),
                 RECOVERY: _("Password + recovery code")}
# Last seen moves at most this often: one small UPDATE a minute per active browser.
TOUCH_EVERY = timedelta(minutes=1)
# Ended and expired rows are kept this long (Account & security lists only live ones).
RETENTION = timedelta(days=90)
_OS_NAMES = {"Mac OS X": "macOS", "Other": None}
_BROWSER_NAMES = {"Other": None}
_TABLE = UserSession.__table__


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@lru_cache(maxsize=256)
def describe_device(user_agent: str | None) -> str:
    """A short description of a browser from its User-Agent: "Chrome on macOS"."""
    parsed = parse_user_agent((user_agent or "")[:1000])
    browser = parsed.user_agent and _BROWSER_NAMES.get(parsed.user_agent.family,
                                                       parsed.user_agent.family)
    system = parsed.os and _OS_NAMES.get(parsed.os.family, parsed.os.family)
    if browser and system:
        return wording.write(wording.DEVICE, browser=browser, system=system)[:100]
    return (browser or system or wording.UNKNOWN_DEVICE)[:100]


@dataclass(frozen=True)
class Started:
    session_id: int
    token: str  # goes into the login cookie; never stored


def start(session: Session, *, user_id: int, method: str, ip: str | None,
          user_agent: str | None, now: datetime) -> Started:
    """Record a sign-in; the token it returns is what the browser's cookie will carry."""
    token = secrets.token_urlsafe(32)
    row = UserSession(user_id=user_id, token_hash=token_hash(token), method=method,
                      ip=(ip or "")[:45], device=describe_device(user_agent), created_at=now,
                      last_seen_at=now)
    session.add(row)
    session.flush()
    return Started(row.id, token)


@dataclass(frozen=True)
class Limits:
    lifetime: timedelta
    idle: timedelta

    @classmethod
    def of(cls, preferences) -> Limits:
        return cls(timedelta(days=preferences.session_lifetime_days),
                   timedelta(days=preferences.session_idle_days))

    def expired(self, *, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return now >= created_at + self.lifetime or now >= last_seen_at + self.idle


def is_live(row, *, limits: Limits, now: datetime) -> bool:
    """Not ended, and neither past its lifetime nor idle too long."""
    return row.ended_at is None and not limits.expired(
        created_at=row.created_at, last_seen_at=row.last_seen_at, now=now)


def due_for_touch(row, *, now: datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_EVERY


def touch(connection: Connection, *, session_id: int, now: datetime) -> None:
    """Move last seen to now, unless another request already did within the minute."""
    connection.execute(update(_TABLE).where(
        _TABLE.c.id == session_id, _TABLE.c.ended_at.is_(None),
        _TABLE.c.last_seen_at <= now - TOUCH_EVERY).values(last_seen_at=now))


def end_expired(connection: Connection, *, session_id: int, now: datetime) -> None:
    """End a row found expired by the login read."""
    connection.execute(update(_TABLE).where(_TABLE.c.id == session_id,
                                            _TABLE.c.ended_at.is_(None))
                       .values(ended_at=now, end_reason="expired"))


def _end(session: Session, *conditions, reason: str, now: datetime) -> int:
    result = session.connection().execute(
        update(_TABLE).where(_TABLE.c.ended_at.is_(None), *conditions)
        .values(ended_at=now, end_reason=reason))
    return result.rowcount


def end_by_token(session: Session, *, user_id: int, token: str, reason: str,
                 now: datetime) -> int:
    """End the session this browser holds (logout)."""
    return _end(session, _TABLE.c.user_id == user_id, _TABLE.c.token_hash == token_hash(token),
                reason=reason, now=now)


def end_all(session: Session, *, user_id: int, reason: str, now: datetime,
            keep_session_id: int | None = None) -> int:
    """End every live session of the user, but `keep_session_id`; how many ended."""
    keep = [] if keep_session_id is None else [_TABLE.c.id != keep_session_id]
    return _end(session, _TABLE.c.user_id == user_id, *keep, reason=reason, now=now)


@dataclass(frozen=True)
class SessionView:
    id: int
    device: str
    ip: str
    method: str
    created_at: datetime
    last_seen_at: datetime
    current: bool

    @property
    def method_label(self) -> str:
        return METHOD_LABELS.get(self.method, self.method)


def live_sessions(session: Session, *, user_id: int, limits: Limits, now: datetime,
                  current_session_id: int | None = None) -> tuple[SessionView, ...]:
    """The user's live sessions, this device first, then the most recently seen."""
    rows = session.exec(select(UserSession).where(
        UserSession.user_id == user_id, UserSession.ended_at.is_(None),
        UserSession.created_at > now - limits.lifetime,
        UserSession.last_seen_at > now - limits.idle)).all()
    views = [SessionView(r.id, r.device, r.ip, r.method, r.created_at, r.last_seen_at,
                         r.id == current_session_id) for r in rows]
    return tuple(sorted(views, key=lambda v: (not v.current, -v.last_seen_at.timestamp(),
                                              -v.id)))


def end_one(session: Session, *, user_id: int, session_id: int, reason: str,
            now: datetime) -> None:
    """End one of the user's sessions; NotFound when it is not theirs or already ended."""
    if not _end(session, _TABLE.c.user_id == user_id, _TABLE.c.id == session_id,
                reason=reason, now=now):
        raise NotFound(_("That session is not signed in."))


def purge(session: Session, *, limits: Limits, now: datetime) -> int:
    """Delete rows that ended, or expired, more than RETENTION ago; how many."""
    cutoff = now - RETENTION
    result = session.connection().execute(delete(_TABLE).where(or_(
        _TABLE.c.ended_at < cutoff,
        and_(_TABLE.c.ended_at.is_(None), or_(
            _TABLE.c.created_at < cutoff - limits.lifetime,
            _TABLE.c.last_seen_at < cutoff - limits.idle)))))
    return result.rowcount
