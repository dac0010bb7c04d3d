"""Payments Made: the customer's payments and refunds, and receipts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy import Select, bindparam, func
from sqlmodel import Session, select

from webapp.models import Customer, Invoice, Payment, PaymentAllocation, PaymentMethod
from webapp.services.core.errors import NotFound
from webapp.services.core.i18n import _
from webapp.services.core.listing import (
    PAGE_SIZE,
    FilterReader,
    Page,
    counted_page,
    date_range,
    matching,
    one_of,
)

METHODS = ("card", "bank_transfer", "cash", "cheque")
METHOD_LABELS = {"card": _("Card"), "bank_transfer": _("Bank transfer"), "cash": _("Cash"),
                 "cheque": _("Cheque"), "credit": _("Credit")}
VISIBLE = ("succeeded",)  # pending and failed attempts are not payments made


@dataclass(frozen=True)
class PaymentFilters:
    date_from: date | None = None
    date_to: date | None = None
    method: str | None = None
    page: int = 1

    def query_args(self, **overrides) -> dict:
        args = {"from": self.date_from, "to": self.date_to, "method": self.method,
                "page": self.page if self.page > 1 else None} | overrides
        return {k: v for k, v in args.items() if v is not None}


def read_filters(params: Mapping[str, str]) -> tuple[PaymentFilters, list[str]]:
    reader = FilterReader(params)
    filters = PaymentFilters(date_from=reader.date("from", "from"),
                             date_to=reader.date("to", "to"),
                             method=reader.choice("method", METHODS, "method"),
                             page=reader.page())
    return filters, reader.messages


@dataclass(frozen=True)
class PaymentRow:
    id: int
    number: str
    kind: str
    paid_on: date
    method: str
    method_label: str
    amount: int
    currency: str
    reference: str

    @classmethod
    def of(cls, p: Payment) -> PaymentRow:
        label = METHOD_LABELS.get(p.method, p.method)
        if p.kind == "refund":
            label = _("Refund (%(method)s)", method=label)
        return cls(p.id, p.number, p.kind, p.paid_on, p.method, label, p.amount, p.currency,
                   p.reference)


_ROW_COLUMNS = (Payment.id, Payment.number, Payment.kind, Payment.paid_on, Payment.method,
                Payment.amount, Payment.currency, Payment.reference)


@cache
def _list_statements(date_from: bool, date_to: bool, method: bool,
                     counted: bool = True) -> tuple[Select, Select]:
    """The count and the page statements for one shape of filters, built once (the filters'
    values are parameters)."""
    conditions = [Payment.customer_id == bindparam("customer_id"), one_of(Payment.status, VISIBLE)]
    conditions += date_range(Payment.paid_on, date_from, date_to)
    if method:
        conditions.append(Payment.method == bindparam("method"))
    count = select(func.count()).select_from(Payment).where(*conditions)
    rows = (select(*_ROW_COLUMNS, *((matching(count),) if counted else ())).where(*conditions)
            .order_by(Payment.paid_on.desc(), Payment.id.desc())
            .offset(bindparam("offset")).limit(bindparam("limit")))
    return count, rows


def list_payments(session: Session, *, customer_id: int, filters: PaymentFilters,
                  page_size: int = PAGE_SIZE) -> Page[PaymentRow]:
    count, rows = _list_statements(filters.date_from is not None, filters.date_to is not None,
                                   filters.method is not None)
    params = {"customer_id": customer_id, "date_from": filters.date_from,
              "date_to": filters.date_to, "method": filters.method}
    return counted_page(session, rows, count, params, filters.page, page_size, PaymentRow.of)


def recent_payments_statement() -> Select:
    """The newest payments made (`offset` and `limit` parameters), without counting them all:
    the dashboard shows no pager. Its rows make `PaymentRow`s."""
    return _list_statements(False, False, False, counted=False)[1]


@dataclass(frozen=True)
class ReceiptLine:
    invoice_id: int
    invoice_number: str
    invoice_date: date
    invoice_total: int
    amount: int


@dataclass(frozen=True)
class Receipt:
    row: PaymentRow
    payment: Payment
    card: PaymentMethod | None
    lines: tuple[ReceiptLine, ...]
    unallocated: int
    received_from: str  # the customer's company, else their name (page and PDF alike)


def owned_payment(session: Session, customer_id: int, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None or payment.customer_id != customer_id or payment.status not in VISIBLE:
        raise NotFound(_("No such payment."))
    return payment


def receipt(session: Session, *, customer_id: int, payment_id: int) -> Receipt:
    payment = owned_payment(session, customer_id, payment_id)
    rows = session.exec(select(PaymentAllocation, Invoice)
                        .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
                        .where(PaymentAllocation.payment_id == payment.id)
                        .order_by(Invoice.issue_date, Invoice.id)).all()
    lines = tuple(ReceiptLine(inv.id, inv.number, inv.issue_date, inv.total, alloc.amount)
                  for alloc, inv in rows)
    card = session.get(PaymentMethod, payment.payment_method_id) \
        if payment.payment_method_id else None
    customer = session.get(Customer, customer_id)
    return Receipt(PaymentRow.of(payment), payment, card, lines,
                   payment.amount - sum(line.amount for line in lines),
                   customer.company or customer.display_name)
