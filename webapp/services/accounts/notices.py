"""Mail about an account asked for by someone not signed in: a password-reset link, or a
warning that its sign-in is being throttled.

The request only records the typed address (`record`); a job (`process`), never the request,
looks the address up and mails it only when it belongs to an active login. So a request for an
unknown address does exactly the work of one for a known address: the same statement and the
same job, and no answer or timing tells the two apart (bench/enumeration.py measures it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, select

from webapp.models import AccountNotice, User
from webapp.services.accounts import auth, invitations
from webapp.services.core import outbox
from webapp.services.core.i18n import _

PASSWORD_RESET, LOGIN_THROTTLED = "password_reset", "login_throttled"
KINDS = (PASSWORD_RESET, LOGIN_THROTTLED)
RETENTION = timedelta(days=7)
# session.info key: notices written in this transaction, for their jobs after commit.
WRITTEN_IDS = "account_notice_ids"
_TABLE = AccountNotice.__table__


def record(session: Session, *, kind: str, email: str, now: datetime) -> int:
    """Write the notice in the caller's transaction; its id is for the job."""
    if kind not in KINDS:
        raise ValueError(f"unknown account notice {kind!r}")
    notice = AccountNotice(kind=kind, email=auth.normalize_email(email)[:254], created_at=now)
    session.add(notice)
    session.flush()
    session.info.setdefault(WRITTEN_IDS, []).append(notice.id)
    return notice.id


def take_written_ids(session: Session) -> list[int]:
    """The notices this transaction wrote (once committed, they are the jobs' to run)."""
    return session.info.pop(WRITTEN_IDS, [])


def process(session: Session, *, notice_id: int, now: datetime, secret: str) -> bool:
    """Take the notice (once, however many jobs run it) and mail its address if an active
    login has it; True when a mail was written."""
    claimed = session.connection().execute(
        update(_TABLE).where(_TABLE.c.id == notice_id, _TABLE.c.processed_at.is_(None))
        .values(processed_at=now)).rowcount
    if not claimed:
        return False
    notice = session.get(AccountNotice, notice_id)
    user = session.exec(select(User).where(User.email == notice.email)).first()
    if user is None or not user.is_active:
        return False
    if notice.kind == PASSWORD_RESET:
        invitations.mail_password_reset(session, user=user, now=now, secret=secret)
    else:
        outbox.enqueue(session, template="login_throttled", to=user.email,
                       customer_id=user.customer_id, now=now,
                       subject=_("Failed sign-ins to your %(portal)s account",
                                 portal=invitations.portal_name(session)),
                       context={"page": outbox.page("password.forgot")})
    return True


def pending(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """Notices not yet taken, oldest first: what the schedule's sweep runs."""
    return list(session.exec(select(AccountNotice.id).where(
        AccountNotice.processed_at.is_(None), AccountNotice.created_at <= now)
        .order_by(AccountNotice.id).limit(limit)).all())


def purge(session: Session, *, now: datetime) -> int:
    """Forget the typed addresses of notices handled more than a week ago."""
    return session.connection().execute(delete(_TABLE).where(
        _TABLE.c.processed_at < now - RETENTION)).rowcount
