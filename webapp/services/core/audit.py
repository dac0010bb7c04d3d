"""The audit trail: every change a person makes is recorded as who, when, old -> new.

Built with the preferences page; later changes (profile, admin actions) call `record` too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from webapp.models import AuditEntry


def _jsonable(value):
    """Values as JSON can hold them: dates as ISO text, Decimals as text, tuples as lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def diff(before: Mapping, after: Mapping) -> tuple[dict, dict]:
    """Only the keys whose value differs: (old values, new values), ready for `record`."""
    changed = [key for key in after if before.get(key) != after[key]]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def record(session: Session, *, actor_user_id: int | None, actor_label: str, action: str,
           subject_type: str, subject_id: int | None, before: Mapping, after: Mapping,
           now: datetime, customer_id: int | None = None) -> AuditEntry:
    """Add one audit entry to the session (the caller commits it with the change itself)."""
    entry = AuditEntry(
        actor_user_id=actor_user_id, actor_label=actor_label[:254], action=action,
        subject_type=subject_type, subject_id=subject_id, customer_id=customer_id,
        before=_jsonable(dict(before)), after=_jsonable(dict(after)), created_at=now)
    session.add(entry)
    return entry


def recent(session: Session, *, subject_type: str | Sequence[str] | None = None,
           customer_id: int | None = None, limit: int = 20) -> list[AuditEntry]:
    """The newest entries first, optionally for one or several subject types or one customer."""
    query = select(AuditEntry)
    if isinstance(subject_type, str):
        query = query.where(AuditEntry.subject_type == subject_type)
    elif subject_type is not None:
        query = query.where(col(AuditEntry.subject_type).in_(list(subject_type)))
    if customer_id is not None:
        query = query.where(AuditEntry.customer_id == customer_id)
    query = query.order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
    return list(session.exec(query.limit(limit)).all())
