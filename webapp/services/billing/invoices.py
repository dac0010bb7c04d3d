"""Invoices as the customer sees them: derived statuses, balances, lists and details."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Date, Row, Select, and_, bindparam, case, func
from sqlmodel import Session, select

from webapp.models import (
    CreditApplication,
    CreditNote,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    Plan,
    Subscription,
)
from webapp.services.billing import tax
from webapp.services.billing.ledger import balance_due
from webapp.services.core.dates import Moment, interval_label
from webapp.services.core.errors import NotFound
from webapp.services.core.i18n import _, translated
from webapp.services.core.listing import (
    PAGE_SIZE,
    FilterReader,
    Page,
    counted_page,
    date_range,
    fixed,
    matching,
    read,
)
from webapp.services.core.rows import columns, split

STATUS_FILTERS = ("paid", "unpaid", "overdue", "partially_paid", "void")
# sort -> (column, descending?) keys, the id last so that every order is total.
SORTS = {
    "newest": (("issue_date", True), ("id", True)),
    "oldest": (("issue_date", False), ("id", False)),
    "due": (("due_date", False), ("id", False)),
    "amount": (("total", True), ("id", True)),
}


def _order(columns, sort: str) -> list:
    return [columns[name].desc() if descending else columns[name].asc()
            for name, descending in SORTS[sort]]
STATUS_LABELS = {"paid": _("Paid"), "open": _("Unpaid"), "overdue": _("Overdue"),
                 "partially_paid": _("Partially Paid"), "void": _("Void")}


def derived_status(invoice: Invoice, today: date) -> str:
    """paid | void | overdue | partially_paid | open — overdue wins over partially paid."""
    if invoice.status in ("paid", "void"):
        return invoice.status
    if invoice.due_date < today:
        return "overdue"
    if invoice.amount_paid + invoice.credits_applied > 0:
        return "partially_paid"
    return "open"


@dataclass(frozen=True)
class InvoiceRow:
    id: int
    number: str
    kind: str
    issue_date: date
    due_date: date
    currency: str
    total: int
    balance: int
    status: str
    status_label: str
    subscription_number: str | None
    payable: bool

    @classmethod
    def of(cls, invoice: Invoice | Row, subscription_number: str | None, today: date,
           labels: Mapping[str, object] = STATUS_LABELS) -> InvoiceRow:
        """`labels`: the status labels, `translated` once for a list's rows."""
        status = derived_status(invoice, today)
        return cls(invoice.id, invoice.number, invoice.kind, invoice.issue_date,
                   invoice.due_date, invoice.currency, invoice.total, balance_due(invoice),
                   status, labels[status], subscription_number,
                   payable=invoice.status == "open" and balance_due(invoice) > 0)


@dataclass(frozen=True)
class InvoiceFilters:
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    subscription_id: int | None = None
    sort: str = "newest"
    page: int = 1

    def query_args(self, **overrides) -> dict:
        """The filters as URL parameters (for pagination and sort links)."""
        args = {"status": self.status, "from": self.date_from, "to": self.date_to,
                "subscription": self.subscription_id, "sort": self.sort if self.sort != "newest" else None,
                "page": self.page if self.page > 1 else None} | overrides
        return {k: v for k, v in args.items() if v is not None}


def read_filters(params: Mapping[str, str]) -> tuple[InvoiceFilters, list[str]]:
    reader = FilterReader(params)
    filters = InvoiceFilters(
        status=reader.choice("status", STATUS_FILTERS, "status"),
        date_from=reader.date("from", "from"),
        date_to=reader.date("to", "to"),
        subscription_id=reader.integer("subscription", "subscription"),
        sort=reader.choice("sort", tuple(SORTS), "sort") or "newest",
        page=reader.page())
    return filters, reader.messages


def status_condition(status: str, today):
    settled = Invoice.amount_paid + Invoice.credits_applied
    if status == "paid":
        return Invoice.status == "paid"
    if status == "void":
        return Invoice.status == "void"
    if status == "unpaid":
        return Invoice.status == "open"
    if status == "overdue":
        return and_(Invoice.status == "open", Invoice.due_date < today)
    return and_(Invoice.status == "open", settled > 0, Invoice.due_date >= today)


# What a row of the list shows: columns, not entities (building and tracking 25 ORM objects
# cost more than the rest of the query).
_ROW_COLUMNS = (Invoice.id, Invoice.number, Invoice.kind, Invoice.issue_date, Invoice.due_date,
                Invoice.currency, Invoice.total, Invoice.amount_paid, Invoice.credits_applied,
                Invoice.status, Invoice.subscription_id)


@cache
def _list_statements(status: str | None, date_from: bool, date_to: bool, subscription: bool,
                     sort: str, counted: bool = True) -> tuple[Select, Select]:
    """The count and the page statements for one shape of filters, built once: a filter's value
    is a parameter, so at most 6 × 2 × 2 × 2 × 4 shapes exist.

    The page's 25 invoices are chosen first and only they are joined to their subscriptions:
    joined before the OFFSET, PostgreSQL hashed all the subscriptions for a deep page. When
    `counted`, each row also carries the number of matching invoices (`listing.matching`),
    so a page and its total take one round trip; the count statement is then needed only
    past the last page."""
    conditions = [Invoice.customer_id == bindparam("customer_id")]
    if status:
        conditions.append(status_condition(status, bindparam("today", type_=Date)))
    conditions += date_range(Invoice.issue_date, date_from, date_to)
    if subscription:
        conditions.append(Invoice.subscription_id == bindparam("subscription_id"))
    count = select(func.count()).select_from(Invoice).where(*conditions)
    page = (select(*_ROW_COLUMNS).where(*conditions)
            .order_by(*_order(Invoice.__table__.c, sort))
            .offset(bindparam("offset")).limit(bindparam("limit")).subquery("page"))
    rows = (select(page, Subscription.number.label("subscription_number"),
                   *((matching(count),) if counted else ()))
            .outerjoin(Subscription, Subscription.id == page.c.subscription_id)
            .order_by(*_order(page.c, sort)))
    return count, rows


def list_invoices(session: Session, *, customer_id: int, filters: InvoiceFilters,
                  at: Moment, page_size: int = PAGE_SIZE) -> Page[InvoiceRow]:
    """One page of the customer's invoices and their number: one query, whatever the page
    (two past the last page, to count what there is)."""
    count, rows = _list_statements(filters.status, filters.date_from is not None,
                                   filters.date_to is not None,
                                   filters.subscription_id is not None, filters.sort)
    params = {"customer_id": customer_id, "today": at.today, "date_from": filters.date_from,
              "date_to": filters.date_to, "subscription_id": filters.subscription_id}
    labels = translated(STATUS_LABELS)
    return counted_page(session, rows, count, params, filters.page, page_size,
                        lambda row: InvoiceRow.of(row, row.subscription_number, at.today, labels))


def recent_invoices_statement() -> Select:
    """The newest invoices (`offset` and `limit` parameters), without counting them all or
    reading their subscriptions: the dashboard shows no pager and no subscription column.
    Its rows make `recent_invoice`s."""
    return (select(*_ROW_COLUMNS).where(Invoice.customer_id == bindparam("customer_id"))
            .order_by(*_order(Invoice.__table__.c, "newest"))
            .offset(bindparam("offset")).limit(bindparam("limit")))


def recent_invoice(row, at: Moment, labels: Mapping[str, object] = STATUS_LABELS) -> InvoiceRow:
    """A dashboard row (`recent_invoices_statement`): no subscription number. `labels`: as
    `InvoiceRow.of`."""
    return InvoiceRow.of(row, None, at.today, labels)


@dataclass(frozen=True)
class AppliedCredit:
    credit_note_id: int
    number: str
    amount: int
    applied_on: date


# The invoices that bill a whole term of the subscription's plan.
TERM_KINDS = ("first_term", "renewal", "reactivation")


@dataclass(frozen=True)
class PaymentApplied:
    payment_id: int
    number: str
    amount: int
    paid_on: date | None
    method: str


@dataclass(frozen=True)
class InvoiceLineRow:
    """An invoice line's columns, read-only."""

    id: int
    invoice_id: int
    position: int
    kind: str
    description: str
    quantity: int
    unit_amount: int
    amount: int
    tax_amount: int
    tax_rate_bp: int | None  # the line's own rate, label and basis, as decided on the day
    tax_label: str
    tax_basis: int

    @property
    def price(self) -> int:
        """What the line costs, its tax included."""
        return self.amount + self.tax_amount


@dataclass(frozen=True)
class InvoiceDetail:
    row: InvoiceRow
    invoice: Any  # the invoice's columns (a rows.row_type of its table)
    lines: tuple[InvoiceLineRow, ...]
    credits: tuple[AppliedCredit, ...]
    payments: tuple[PaymentApplied, ...]
    # How often its subscription's plan bills ("every 2 weeks"), on a term's invoice; None on
    # any other invoice.
    billed_every: str | None = None

    @property
    def balance(self) -> int:
        return self.row.balance

    @property
    def tax_rate_bp(self) -> int | None:
        """The rate each line was taxed at (None: the invoice carries no tax)."""
        return self.invoice.tax_rate_bp

    @property
    def tax_summary(self) -> tuple[tax.TaxBand, ...]:
        return tax.summary(self.lines, self.invoice.tax_rate_bp)


def owned_invoice(session: Session, customer_id: int, invoice_id: int) -> Invoice:
    """The customer's invoice, or NotFound (missing and not-yours answer alike)."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.customer_id != customer_id:
        raise NotFound(_("No such invoice."))
    return invoice


# An invoice's parts, as rows: the statements are built once, and the page needs values.
_INVOICES = Invoice.__table__
_INVOICE = (select(*columns(_INVOICES), Subscription.number.label("subscription_number"),
                   Plan.interval_unit.label("interval_unit"),
                   Plan.interval_count.label("interval_count"))
            .select_from(_INVOICES.outerjoin(Subscription,
                                             Subscription.id == _INVOICES.c.subscription_id)
                         .outerjoin(Plan, Plan.id == Subscription.plan_id))
            .where(_INVOICES.c.id == bindparam("invoice_id"),
                   _INVOICES.c.customer_id == bindparam("customer_id")))
_LINES = (select(InvoiceLine.id, InvoiceLine.invoice_id, InvoiceLine.position, InvoiceLine.kind,
                 InvoiceLine.description, InvoiceLine.quantity, InvoiceLine.unit_amount,
                 InvoiceLine.amount, InvoiceLine.tax_amount, InvoiceLine.tax_rate_bp,
                 InvoiceLine.tax_label, InvoiceLine.tax_basis).where(InvoiceLine.invoice_id == bindparam("invoice_id"))
          .order_by(InvoiceLine.position, InvoiceLine.id))
_CREDITS = (select(CreditApplication.credit_note_id, CreditNote.number, CreditApplication.amount,
                   CreditApplication.applied_on)
            .join(CreditNote, CreditNote.id == CreditApplication.credit_note_id)
            .where(CreditApplication.invoice_id == bindparam("invoice_id"))
            .order_by(CreditApplication.applied_on, CreditApplication.id))
_PAYMENTS = (select(Payment.id, Payment.number, PaymentAllocation.amount, Payment.paid_on,
                    Payment.method)
             .join(Payment, Payment.id == PaymentAllocation.payment_id)
             .where(PaymentAllocation.invoice_id == bindparam("invoice_id"))
             .order_by(Payment.paid_on, Payment.id))
# As they run: keyed once (`listing.fixed`), not walked for a cache key at each execution.
_READS = {name: fixed(f"billing.invoices.detail.{name}", statement) for name, statement in
          (("invoice", _INVOICE), ("lines", _LINES), ("credits", _CREDITS),
           ("payments", _PAYMENTS))}


def invoice_detail(session: Session, *, customer_id: int, invoice_id: int,
                   at: Moment) -> InvoiceDetail:
    """The customer's invoice with its subscription's number, lines, credits and payments, or
    NotFound (missing and not-yours answer alike)."""
    found = read(session, _READS["invoice"],
                 {"invoice_id": invoice_id, "customer_id": customer_id}).first()
    if found is None:
        raise NotFound(_("No such invoice."))
    invoice = split(found, _INVOICES)[0]
    subscription_number = found.subscription_number
    ids = {"invoice_id": invoice.id}
    every = interval_label(found.interval_unit, found.interval_count) \
        if found.interval_unit and invoice.kind in TERM_KINDS else None
    return InvoiceDetail(
        InvoiceRow.of(invoice, subscription_number, at.today), invoice,
        tuple(InvoiceLineRow(*row) for row in read(session, _READS["lines"], ids)),
        tuple(AppliedCredit(*row) for row in read(session, _READS["credits"], ids)),
        tuple(PaymentApplied(*row) for row in read(session, _READS["payments"], ids)), every)


# (outstanding, overdue) for the parameters customer_id and today; the dashboard reads it as
# a subquery beside the customer.
OUTSTANDING = (
    select(func.coalesce(func.sum(Invoice.total - Invoice.amount_paid - Invoice.credits_applied),
                         0).label("outstanding"),
           func.coalesce(func.sum(case((Invoice.due_date < bindparam("today", type_=Date), 1),
                                       else_=0)), 0).label("overdue"))
    .where(Invoice.customer_id == bindparam("customer_id"), Invoice.status == "open"))


def outstanding(session: Session, *, customer_id: int, at: Moment) -> tuple[int, int]:
    """(Σ balances of open invoices, number of overdue invoices), in one query."""
    row = read(session, OUTSTANDING, {"customer_id": customer_id, "today": at.today}).one()
    return int(row[0]), int(row[1])


def payable_invoices(session: Session, *, customer_id: int,
                     invoice_ids: list[int] | None = None) -> list[Invoice]:
    """Open invoices with something left to pay, oldest first (optionally only these ids)."""
    conditions = [Invoice.customer_id == customer_id, Invoice.status == "open",
                  Invoice.total > Invoice.amount_paid + Invoice.credits_applied]
    if invoice_ids is not None:
        conditions.append(Invoice.id.in_(invoice_ids))
    return list(session.exec(select(Invoice).where(*conditions)
                             .order_by(Invoice.issue_date, Invoice.id)).all())
