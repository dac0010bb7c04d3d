"""Statements of accounts: a customer's ledger over a date range, with a running balance.

What counts (in the customer's currency, by date):
- an invoice is a debit on its issue date; a void invoice is left out altogether, as if it had
  never been issued (it was never owed), so it needs no offsetting entry;
- a succeeded payment is a credit on the day it was paid, whatever it was allocated to;
- a credit note is a credit on its issue date (a void one is left out);
- a succeeded refund (Payment.kind == "refund") is a debit on the day it was paid;
- a credit note applied to an invoice is a row on the day it was applied, with the amount and
  the invoice, that moves no balance: the credit note counted when it was issued, and credit
  is applied to open invoices as soon as both exist, so the balance due is what the open
  invoices still owe (or, with nothing open, the credit left).

The opening balance is the same sum over everything before the range, and the summary's
Balance Due is computed from its parts, so Opening + Invoiced − Payments − Credits + Refunds =
Balance Due holds by construction; the running balance of the last entry equals it.

The aging table shows what was still owed on each invoice as of the range end (or today, if the
range ends later), by days past due.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, or_
from sqlmodel import Session, select

from webapp.models import (
    CreditApplication,
    CreditNote,
    Customer,
    Invoice,
    Organization,
    Payment,
    PaymentAllocation,
)
from webapp.services.core import brand, i18n, pdf, wording
from webapp.services.core.dates import Moment, add_months
from webapp.services.core.errors import DomainError
from webapp.services.core.i18n import _
from webapp.services.core.listing import FilterReader
from webapp.services.payments.history import METHOD_LABELS

PRESETS: dict[str, str] = {
    "this_month": _("This month"), "last_month": _("Last month"),
    "this_quarter": _("This quarter"), "last_quarter": _("Last quarter"),
    "this_year": _("This year"), "custom": _("Custom range"),
}
DEFAULT_PRESET = "this_month"
# Statements with more rows than this are rendered to PDF in a job, not in the request.
SYNC_ROW_LIMIT = 200


# --- The range -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatementPeriod:
    """The statement's range of calendar dates (both ends included)."""

    preset: str
    start: date
    end: date

    @property
    def label(self) -> str:
        return PRESETS[self.preset]

    def query_args(self) -> dict[str, str]:
        """The range as URL parameters (links, the PDF, the job form)."""
        if self.preset == "custom":
            return {"preset": "custom", "from": self.start.isoformat(),
                    "to": self.end.isoformat()}
        return {"preset": self.preset}

    def params(self) -> dict[str, str]:
        """The range as JSON for a job."""
        return {"preset": self.preset, "start": self.start.isoformat(),
                "end": self.end.isoformat()}

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> StatementPeriod:
        return cls(params["preset"], date.fromisoformat(params["start"]),
                   date.fromisoformat(params["end"]))


def job_params(period: StatementPeriod, today: date) -> dict[str, str]:
    """What a job needs to render the statement the customer saw today."""
    return {**period.params(), "today": today.isoformat()}


def _digest_of(model, *columns) -> Any:
    """count, newest id and the sums of `columns` over one of the customer's tables."""
    return select(func.count(), func.coalesce(func.max(model.id), 0),
                  *(func.coalesce(func.sum(c), 0) for c in columns)) \
        .where(model.customer_id == bindparam("customer_id"))


def _count_where(condition) -> Any:
    return case((condition, 1), else_=0)


# Everything a statement is made of, summed per table: any invoice, credit note, payment or
# refund added, settled, voided, applied or recorded moves at least one of these numbers.
_LEDGER_VERSION = [
    _digest_of(Invoice, Invoice.total, Invoice.amount_paid, Invoice.credits_applied,
               _count_where(Invoice.status == "void"), _count_where(Invoice.status == "paid")),
    _digest_of(CreditNote, CreditNote.total, CreditNote.balance,
               _count_where(CreditNote.status == "void")),
    _digest_of(Payment, Payment.amount, _count_where(Payment.status == "succeeded"),
               _count_where(Payment.status == "failed")),
]


def ledger_version(session: Session, *, customer_id: int) -> str:
    """A short fingerprint of the customer's ledger: it changes with anything a statement or
    an accountant pack shows, so a document made from an older ledger is never handed out
    as current (document_jobs keys its jobs by it)."""
    parts = [tuple(session.execute(query, {"customer_id": customer_id}).one())
             for query in _LEDGER_VERSION]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def preset_period(preset: str, today: date) -> StatementPeriod:
    """The dates of a preset range around `today` (the organization's date)."""
    month = today.replace(day=1)
    quarter = _quarter_start(today)
    starts_ends = {
        "this_month": (month, add_months(month, 1) - timedelta(days=1)),
        "last_month": (add_months(month, -1), month - timedelta(days=1)),
        "this_quarter": (quarter, add_months(quarter, 3) - timedelta(days=1)),
        "last_quarter": (add_months(quarter, -3), quarter - timedelta(days=1)),
        "this_year": (date(today.year, 1, 1), date(today.year, 12, 31)),
    }
    start, end = starts_ends[preset]
    return StatementPeriod(preset, start, end)


def read_period(params: Mapping[str, str], today: date) -> tuple[StatementPeriod, list[str]]:
    """The range asked for in the query string; a bad one falls back to this month, with a
    message (as list filters do)."""
    reader = FilterReader(params)
    preset = reader.choice("preset", tuple(PRESETS), "range")
    start, end = reader.date("from", "from"), reader.date("to", "to")
    if preset is None and (start or end):
        preset = "custom"
    if preset != "custom":
        return preset_period(preset or DEFAULT_PRESET, today), reader.messages
    if start is None or end is None:
        reader.messages.append(_("Choose both dates of a custom range; showing this month."))
    elif start > end:
        reader.messages.append(_("The custom range ends before it starts; showing this "
                                 "month."))
    else:
        return StatementPeriod("custom", start, end), reader.messages
    return preset_period(DEFAULT_PRESET, today), reader.messages


# --- The statement ---------------------------------------------------------------------------

@dataclass(frozen=True)
class StatementEntry:
    """One line of the statement; `balance` is the running balance after it."""

    on: date
    kind: str  # invoice | credit_note | credit_application | payment | refund
    label: str
    number: str
    document_id: int  # the invoice's, credit note's or payment's id
    details: str
    due_date: date | None
    debit: int
    credit: int
    balance: int
    endpoint: str  # the page of the document, for links on the HTML statement
    endpoint_args: Mapping[str, int] = field(default_factory=dict)
    applied: int = 0  # a credit application's amount (it is neither debit nor credit)


@dataclass(frozen=True)
class StatementSummary:
    opening: int
    invoiced: int
    payments: int
    credits: int
    refunds: int

    @property
    def balance_due(self) -> int:
        """Opening + Invoiced − Payments − Credits + Refunds, always."""
        return self.opening + self.invoiced - self.payments - self.credits + self.refunds


AGING_BUCKETS: tuple[tuple[str, str, int | None], ...] = (
    # key, label, most days past due (None: no limit)
    ("current", _("Current"), 0), ("1_30", _("1–30 days"), 30),
    ("31_60", _("31–60 days"), 60), ("61_90", _("61–90 days"), 90),
    ("over_90", _("Over 90 days"), None),
)


@dataclass(frozen=True)
class AgingBucket:
    key: str
    label: str
    amount: int
    invoices: int


@dataclass(frozen=True)
class Aging:
    as_of: date
    buckets: tuple[AgingBucket, ...]

    @property
    def total(self) -> int:
        return sum(bucket.amount for bucket in self.buckets)


@dataclass(frozen=True)
class Statement:
    customer: Customer
    currency: str
    period: StatementPeriod
    summary: StatementSummary
    entries: tuple[StatementEntry, ...]
    aging: Aging
    generated_on: date
    row_limit: int = SYNC_ROW_LIMIT

    @property
    def rows(self) -> int:
        return len(self.entries)

    @property
    def big(self) -> bool:
        """Too many rows to render the PDF inside a request: it is prepared in a job."""
        return self.rows > self.row_limit


class StatementTooBig(DomainError):
    """A big statement's PDF is prepared in a job, not rendered in the request."""

    def __init__(self) -> None:
        super().__init__(_("This statement is long: prepare its PDF, then download it."))


# Each source: (kind, sort rank within a day, debit?, its date column).
_ORDER = {"invoice": 0, "credit_note": 1, "credit_application": 2, "payment": 3, "refund": 4}


def _conditions(customer: Customer) -> dict[str, tuple[Any, list]]:
    """Per kind: the date column and what makes a row count (scoped to the customer)."""
    payments = [Payment.customer_id == customer.id, Payment.currency == customer.currency,
                Payment.status == "succeeded", Payment.paid_on.is_not(None)]
    return {
        "invoice": (Invoice.issue_date, [Invoice.customer_id == customer.id,
                                         Invoice.currency == customer.currency,
                                         Invoice.status != "void"]),
        "credit_note": (CreditNote.issue_date, [CreditNote.customer_id == customer.id,
                                                CreditNote.currency == customer.currency,
                                                CreditNote.status != "void"]),
        "payment": (Payment.paid_on, [*payments, Payment.kind == "payment"]),
        "refund": (Payment.paid_on, [*payments, Payment.kind == "refund"]),
    }


_AMOUNTS = {"invoice": Invoice.total, "credit_note": CreditNote.total,
            "payment": Payment.amount, "refund": Payment.amount}


def _totals_before(session: Session, customer: Customer, start: date) -> dict[str, int]:
    totals = {}
    for kind, (on, conditions) in _conditions(customer).items():
        totals[kind] = int(session.exec(select(func.coalesce(func.sum(_AMOUNTS[kind]), 0))
                                        .where(*conditions, on < start)).one())
    return totals


def opening_balance(session: Session, *, customer_id: int, before: date) -> int:
    """Everything before `before`: invoices − payments − credit notes + refunds."""
    totals = _totals_before(session, session.get(Customer, customer_id), before)
    return StatementSummary(0, totals["invoice"], totals["payment"], totals["credit_note"],
                            totals["refund"]).balance_due


@dataclass(frozen=True)
class _Row:
    on: date
    kind: str
    id: int
    number: str
    details: str
    amount: int
    due_date: date | None = None


def _rows(session: Session, customer: Customer, period: StatementPeriod) -> list[_Row]:
    sources = _conditions(customer)
    rows: list[_Row] = []

    def within(kind: str) -> list:
        on, conditions = sources[kind]
        return [*conditions, on >= period.start, on <= period.end]

    for inv in session.exec(select(Invoice).where(*within("invoice"))):
        rows.append(_Row(inv.issue_date, "invoice", inv.id, inv.number, "", inv.total,
                         inv.due_date))
    for note in session.exec(select(CreditNote).where(*within("credit_note"))):
        rows.append(_Row(note.issue_date, "credit_note", note.id, note.number,
                         wording.reword(note.reason),
                         note.total))
    notes = sources["credit_note"][1]
    for application, note, invoice_number in session.exec(
            select(CreditApplication, CreditNote, Invoice.number)
            .join(CreditNote, CreditNote.id == CreditApplication.credit_note_id)
            .join(Invoice, Invoice.id == CreditApplication.invoice_id)
            .where(*notes, CreditApplication.applied_on >= period.start,
                   CreditApplication.applied_on <= period.end)):
        rows.append(_Row(application.applied_on, "credit_application", note.id, note.number,
                         _("applied to %(number)s", number=invoice_number),
                         application.amount))
    for kind in ("payment", "refund"):
        for p in session.exec(select(Payment).where(*within(kind))):
            rows.append(_Row(p.paid_on, kind, p.id, p.number or "",
                             METHOD_LABELS.get(p.method, p.method), p.amount))
    rows.sort(key=lambda row: (row.on, _ORDER[row.kind], row.number, row.id))
    return rows


_ENTRY_KINDS: dict[str, tuple[str, bool | None, str, str]] = {
    # kind: (label, debit? (None: moves no balance), endpoint, its argument)
    "invoice": (_("Invoice"), True, "invoices.detail", "invoice_id"),
    "credit_note": (_("Credit note"), False, "credits.detail", "credit_note_id"),
    "credit_application": (_("Credit applied"), None, "credits.detail", "credit_note_id"),
    "payment": (_("Payment"), False, "payments.receipt", "payment_id"),
    "refund": (_("Refund"), True, "payments.receipt", "payment_id"),
}


def _entries(rows: list[_Row], opening: int) -> tuple[StatementEntry, ...]:
    balance, entries = opening, []
    for row in rows:
        label, debit, endpoint, argument = _ENTRY_KINDS[row.kind]
        moves = debit is not None
        balance += (row.amount if debit else -row.amount) if moves else 0
        entries.append(StatementEntry(
            row.on, row.kind, label, row.number, row.id, row.details, row.due_date,
            debit=row.amount if debit else 0, credit=row.amount if debit is False else 0,
            balance=balance, endpoint=endpoint, endpoint_args={argument: row.id},
            applied=0 if moves else row.amount))
    return tuple(entries)


def _summary(opening: int, entries: tuple[StatementEntry, ...]) -> StatementSummary:
    def total(kind: str) -> int:
        return sum(e.debit + e.credit for e in entries if e.kind == kind)

    return StatementSummary(opening, total("invoice"), total("payment"), total("credit_note"),
                            total("refund"))


def aging(session: Session, *, customer: Customer, as_of: date) -> Aging:
    """What each invoice still owed on `as_of`, by days past due on that day."""
    paid = (select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(PaymentAllocation.invoice_id == Invoice.id, Payment.status == "succeeded",
                   Payment.paid_on <= as_of)
            .correlate(Invoice).scalar_subquery())
    credited = (select(func.coalesce(func.sum(CreditApplication.amount), 0))
                .where(CreditApplication.invoice_id == Invoice.id,
                       CreditApplication.applied_on <= as_of)
                .correlate(Invoice).scalar_subquery())
    rows = session.exec(
        select(Invoice.due_date, Invoice.total - paid - credited)
        .where(Invoice.customer_id == customer.id, Invoice.currency == customer.currency,
               Invoice.status != "void", Invoice.issue_date <= as_of,
               # paid in full on or before as_of: nothing owed then
               or_(Invoice.status == "open", Invoice.paid_on.is_(None),
                   Invoice.paid_on > as_of))).all()
    amounts = {key: [0, 0] for key, _, _ in AGING_BUCKETS}
    for due_date, owed in rows:
        if owed <= 0:
            continue
        days = (as_of - due_date).days
        key = next(key for key, _, most in AGING_BUCKETS if most is None or days <= most)
        amounts[key][0] += int(owed)
        amounts[key][1] += 1
    return Aging(as_of, tuple(AgingBucket(key, label, *amounts[key])
                              for key, label, _ in AGING_BUCKETS))


def statement(session: Session, *, customer_id: int, period: StatementPeriod,
              at: Moment, row_limit: int = SYNC_ROW_LIMIT) -> Statement:
    """The customer's statement of accounts for the range."""
    customer = session.get(Customer, customer_id)
    totals = _totals_before(session, customer, period.start)
    opening = StatementSummary(0, totals["invoice"], totals["payment"], totals["credit_note"],
                               totals["refund"]).balance_due
    entries = _entries(_rows(session, customer, period), opening)
    return Statement(customer, customer.currency, period, _summary(opening, entries), entries,
                     aging(session, customer=customer, as_of=min(period.end, at.today)), at.today,
                     row_limit)


# --- The PDF ---------------------------------------------------------------------------------

Report = Callable[[int], None]


def filename_for(period: StatementPeriod) -> str:
    return f"statement-{period.start.isoformat()}-to-{period.end.isoformat()}.pdf"


@dataclass(frozen=True)
class StatementDocument:
    """Everything the statement's PDF shows, loaded: rendering it needs no database."""

    org: Organization | None
    statement: Statement
    logo: str | None = None  # a data: URI (core/brand.py)

    def render(self, report: Report | None = None) -> pdf.Document:
        """The PDF; `report(percent)` hears how far it has got."""
        report = report or (lambda _percent: None)
        context = {"org": self.org, "customer": self.statement.customer,
                   "statement": self.statement, "logo": self.logo}
        # In the customer's language, its "Page i of M" too (stamped after the layout).
        with i18n.use_locale(pdf.document_locale(context)):
            html = pdf.render_html("print/statement.html", context)
            report(50)
            return pdf.Document(filename_for(self.statement.period),
                                pdf.html_to_pdf(html, images=(self.logo,)))


def load_statement_document(session: Session, *, customer_id: int, period: StatementPeriod,
                            at: Moment) -> StatementDocument:
    """Load what the statement's PDF needs (a job renders it after its session is closed)."""
    return StatementDocument(session.get(Organization, 1),
                             statement(session, customer_id=customer_id, period=period, at=at),
                             brand.logo_data_uri(session))


def statement_pdf(session: Session, *, customer_id: int, period: StatementPeriod, at: Moment,
                  row_limit: int | None = None) -> pdf.Document:
    """The statement as a PDF, rendered now; StatementTooBig past `row_limit` rows (None: no
    limit), since a long one is prepared in a job."""
    loaded = load_statement_document(session, customer_id=customer_id, period=period, at=at)
    if row_limit is not None and loaded.statement.rows > row_limit:
        raise StatementTooBig()
    return loaded.render()
