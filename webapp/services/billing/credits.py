"""Credits: credit notes, where they were applied, and what is left to use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

from webapp.models import CreditApplication, CreditNote, Customer, Invoice
from webapp.services.core.errors import NotFound
from webapp.services.core.i18n import _
from webapp.services.core.listing import PAGE_SIZE, FilterReader, Page, read


@dataclass(frozen=True)
class CreditRow:
    id: int
    number: str
    issue_date: date
    reason: str
    currency: str
    total: int
    balance: int
    status_label: str

    @classmethod
    def of(cls, note: CreditNote) -> CreditRow:
        return cls.of_values(note.id, note.number, note.issue_date, note.reason, note.currency,
                             note.total, note.balance, note.status)

    @classmethod
    def of_values(cls, id: int, number: str, issue_date: date, reason: str, currency: str,
                  total: int, balance: int, status: str) -> CreditRow:
        label = STATUS_LABELS[status]
        return cls(id, number, issue_date, reason, currency, total, balance, label)


STATUS_LABELS = {"open": _("Open"), "closed": _("Used"), "void": _("Void")}


@dataclass(frozen=True)
class CreditFilters:
    page: int = 1

    def query_args(self, **overrides) -> dict:
        args = {"page": self.page if self.page > 1 else None} | overrides
        return {k: v for k, v in args.items() if v is not None}


def read_filters(params: Mapping[str, str]) -> tuple[CreditFilters, list[str]]:
    reader = FilterReader(params)
    return CreditFilters(page=reader.page()), reader.messages


# Σ unused credit for the parameter customer_id (the dashboard reads it as a subquery).
UNUSED_CREDIT = (select(func.coalesce(func.sum(CreditNote.balance), 0).label("unused_credit"))
                 .where(CreditNote.customer_id == bindparam("customer_id"),
                        CreditNote.status == "open"))


def unused_credit(session: Session, *, customer_id: int) -> int:
    """Σ of what is left on the customer's open credit notes."""
    return int(read(session, UNUSED_CREDIT, {"customer_id": customer_id}).scalar_one())


@dataclass(frozen=True)
class CreditBalance:
    unused: int
    currency: str


def balance(session: Session, *, customer_id: int) -> CreditBalance:
    """The customer's unused credit, in their currency."""
    customer = session.get(Customer, customer_id)
    return CreditBalance(unused_credit(session, customer_id=customer_id), customer.currency)


def list_credits(session: Session, *, customer_id: int, filters: CreditFilters,
                 page_size: int = PAGE_SIZE) -> Page[CreditRow]:
    page = filters.page
    condition = CreditNote.customer_id == customer_id
    total = session.exec(select(func.count()).select_from(CreditNote).where(condition)).one()
    result = Page((), page, page_size, total)
    notes = session.exec(select(CreditNote).where(condition)
                         .order_by(CreditNote.issue_date.desc(), CreditNote.id.desc())
                         .offset(result.offset).limit(page_size)).all()
    return Page(tuple(CreditRow.of(n) for n in notes), page, page_size, total)


@dataclass(frozen=True)
class CreditUse:
    invoice_id: int
    invoice_number: str
    amount: int
    applied_on: date


@dataclass(frozen=True)
class CreditDetail:
    row: CreditRow
    origin_invoice: Invoice | None
    uses: tuple[CreditUse, ...]


def credit_detail(session: Session, *, customer_id: int, credit_note_id: int) -> CreditDetail:
    note = session.get(CreditNote, credit_note_id)
    if note is None or note.customer_id != customer_id:
        raise NotFound(_("No such credit note."))
    origin = session.get(Invoice, note.invoice_id) if note.invoice_id else None
    uses = session.exec(select(CreditApplication, Invoice.number)
                        .join(Invoice, Invoice.id == CreditApplication.invoice_id)
                        .where(CreditApplication.credit_note_id == note.id)
                        .order_by(CreditApplication.applied_on, CreditApplication.id)).all()
    return CreditDetail(CreditRow.of(note), origin,
                        tuple(CreditUse(a.invoice_id, number, a.amount, a.applied_on)
                              for a, number in uses))
