"""The audit log page: every recorded change (by admins and customers), newest first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from webapp.models import AuditEntry, Customer
from webapp.services.core.listing import FilterReader, Page
from webapp.services.core.notifications import MESSAGE_PARAMS, render, render_body

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    customer_id: int | None = None
    page: int = 1

    def query_args(self, **overrides) -> dict:
        args = {"customer": self.customer_id,
                "page": self.page if self.page > 1 else None} | overrides
        return {k: v for k, v in args.items() if v is not None}


def read_filters(params: Mapping[str, str]) -> tuple[AuditFilters, list[str]]:
    reader = FilterReader(params)
    return AuditFilters(reader.integer("customer", "customer"), reader.page()), reader.messages


@dataclass(frozen=True)
class Change:
    field: str
    before: object
    after: object


@dataclass(frozen=True)
class AuditRow:
    id: int
    created_at: datetime
    actor: str
    action: str
    subject: str
    customer_id: int | None
    customer_name: str | None
    changes: tuple[Change, ...]

    @classmethod
    def of(cls, entry: AuditEntry, customer_name: str | None) -> AuditRow:
        """The entry as the audit log and the admin home show it: what a customer's action
        told the organization (its "title" and "body" message ids with their params) in the
        reader's language, written now."""
        params = entry.after.get(MESSAGE_PARAMS)
        keys = [k for k in dict.fromkeys([*entry.before, *entry.after]) if k != MESSAGE_PARAMS]
        subject = f"{entry.subject_type} #{entry.subject_id}" if entry.subject_id is not None \
            else entry.subject_type
        return cls(entry.id, entry.created_at, entry.actor_label, entry.action, subject,
                   entry.customer_id, customer_name,
                   tuple(Change(k, entry.before.get(k), _said(k, entry.after.get(k), params))
                         for k in keys))


def _said(key: str, value: object, params: dict | None) -> object:
    """A customer action's title or body as the reader reads it (a message id with params;
    an entry from before issue 33 is shown as it was stored)."""
    if key in ("title", "body") and isinstance(value, str) and isinstance(params, dict):
        return render(value, params) if key == "title" else render_body(value, params)
    return value


def audit_log(session: Session, *, filters: AuditFilters,
              page_size: int = PAGE_SIZE) -> Page[AuditRow]:
    """One page of the trail, optionally for one customer; two queries."""
    conditions = [AuditEntry.customer_id == filters.customer_id] if filters.customer_id else []
    total = session.exec(select(func.count()).select_from(AuditEntry).where(*conditions)).one()
    page = Page((), filters.page, page_size, total)
    rows = session.exec(select(AuditEntry, Customer.display_name)
                        .outerjoin(Customer, Customer.id == AuditEntry.customer_id)
                        .where(*conditions)
                        .order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
                        .offset(page.offset).limit(page_size)).all()
    return Page(tuple(AuditRow.of(entry, name) for entry, name in rows), filters.page,
                page_size, total)


def customer_options(session: Session, limit: int = 1000) -> tuple[tuple[int, str], ...]:
    """Customers to filter by, by name (the first `limit`)."""
    rows = session.exec(select(Customer.id, Customer.display_name, Customer.company)
                        .order_by(func.lower(Customer.display_name), Customer.id).limit(limit))
    return tuple((cid, f"{name} ({company})" if company else name) for cid, name, company in rows)
