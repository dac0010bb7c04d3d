"""The admin-wide lists behind the admin home's figures (issue 31): every customer's
subscriptions, invoices and payments, with filters as query parameters, pages, sorting and a
CSV of everything that matches.

Each list builds its statements once per shape of filters (a filter's value is a parameter)
and reads a page and its total in one round trip (`listing.counted_page`), whatever the
number of customers. The rows are the customer lists' rows (`SubscriptionRow`, `InvoiceRow`,
`PaymentRow`) with the customer beside them, so the pages include the customer's partials.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache

from sqlalchemy import Date, DateTime, Select, and_, bindparam, func, or_
from sqlmodel import Session, select

from webapp.models import CreditNote, Customer, Invoice, Payment, Plan, Subscription
from webapp.services.billing.catalog import (
    items_of,
    items_statements_for,
    items_with_plans,
    join_plan,
    listed_columns,
    with_plan,
)
from webapp.services.billing.charges import translated_reason
from webapp.services.billing.credits import CreditRow
from webapp.services.billing.invoices import SORTS as INVOICE_SORTS
from webapp.services.billing.invoices import STATUS_LABELS as INVOICE_STATUS_LABELS
from webapp.services.billing.invoices import InvoiceRow
from webapp.services.billing.invoices import status_condition as invoice_status_condition
from webapp.services.billing.mrr import COUNTED
from webapp.services.core import wording
from webapp.services.core.dates import Moment
from webapp.services.core.i18n import N_, _, gettext_now, translated
from webapp.services.core.listing import (
    PAGE_SIZE,
    FilterReader,
    Page,
    capped_count,
    counted_page,
    date_range,
    matching,
    numbers_written,
    one_of,
    page_of,
    read,
)
from webapp.services.core.money import to_decimal
from webapp.services.core.stacked import Stack, fixed_page, numbered
from webapp.services.payments.history import METHOD_LABELS, METHODS, PaymentRow
from webapp.services.subscriptions.views import SORTS as SUBSCRIPTION_SORTS
from webapp.services.subscriptions.views import STATUS_LABELS as SUBSCRIPTION_STATUS_LABELS
from webapp.services.subscriptions.views import STATUSES as SUBSCRIPTION_STATUSES
from webapp.services.subscriptions.views import SubscriptionRow

CSV_LIMIT = 100_000  # rows in one download; a bigger export narrows the filters first
# The lists count at most this many rows past the page shown ("more than 1,025 in all"):
# an exact count across every customer reads every matching row.
COUNT_AHEAD = 1_000
NO_COUNT = {"count_limit": 0}  # a download reads the rows, not their number


def _args(values: Mapping[str, object], page: int, overrides: Mapping[str, object]) -> dict:
    args = {**values, "page": page if page > 1 else None} | dict(overrides)
    return {k: v for k, v in args.items() if v not in (None, "", False)}


def _currency(reader: FilterReader, currencies: tuple[str, ...]) -> str | None:
    return reader.choice("currency", currencies, "currency")


# --- Subscriptions ------------------------------------------------------------------------------

# The status filter's extra choice: the subscriptions MRR counts (live, non-renewing, dunning).
COUNTED_FILTER = "counted"
ADMIN_SUBSCRIPTION_STATUSES = {**SUBSCRIPTION_STATUS_LABELS,
                               COUNTED_FILTER: N_("Counted in MRR (active, non-renewing, dunning)")}

# Which day the date range applies to.
SUBSCRIPTION_DATES = {"start": N_("Started"), "next_billing": N_("Next billing"),
                      "trial_end": N_("Trial ends"), "cancelled": N_("Cancelled"),
                      "term_end": N_("Term ends")}
_SUBSCRIPTION_DATE_COLUMNS = {"start": Subscription.start_date,
                              "next_billing": Subscription.next_billing_date,
                              "trial_end": Subscription.trial_end,
                              "cancelled": Subscription.cancelled_on,
                              "term_end": Subscription.current_term_end}


@dataclass(frozen=True)
class AdminSubscriptionFilters:
    status: str | None = None
    plan: str | None = None
    currency: str | None = None
    customer_id: int | None = None
    date_field: str = "start"
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "newest"
    page: int = 1

    def query_args(self, **overrides) -> dict:
        return _args({"status": self.status, "plan": self.plan, "currency": self.currency,
                      "customer": self.customer_id,
                      "date": self.date_field if self.date_field != "start" else None,
                      "from": self.date_from, "to": self.date_to,
                      "sort": self.sort if self.sort != "newest" else None},
                     self.page, overrides)


def read_subscription_filters(params: Mapping[str, str], *, plan_codes: tuple[str, ...],
                              currencies: tuple[str, ...],
                              ) -> tuple[AdminSubscriptionFilters, list[str]]:
    reader = FilterReader(params)
    status = reader.choice("status", (*SUBSCRIPTION_STATUSES, COUNTED_FILTER), "status")
    if (params.get("dunning") or "") == "yes":  # the home's "in dunning" link
        status = "dunning"
    filters = AdminSubscriptionFilters(
        status=status, plan=reader.choice("plan", plan_codes, "plan"),
        currency=_currency(reader, currencies),
        customer_id=reader.integer("customer", "customer"),
        date_field=reader.choice("date", tuple(SUBSCRIPTION_DATES), "date") or "start",
        date_from=reader.date("from", "from"), date_to=reader.date("to", "to"),
        sort=reader.choice("sort", tuple(SUBSCRIPTION_SORTS), "sort") or "newest",
        page=reader.page())
    return filters, reader.messages


@dataclass(frozen=True)
class AdminSubscriptionRow(SubscriptionRow):
    customer_id: int = 0
    customer_name: str = ""


@cache
def _subscription_statements(status: str | bool, plan: bool, currency: bool, customer: bool,
                             date_field: str, date_from: bool, date_to: bool,
                             sort: str) -> tuple[Select, Select]:
    conditions = []
    if status == COUNTED_FILTER:
        conditions.append(one_of(Subscription.status, COUNTED))
    elif status:
        conditions.append(Subscription.status == bindparam("status"))
    if plan:
        conditions.append(Subscription.plan_id.in_(
            select(Plan.id).where(Plan.code == bindparam("plan")).correlate(None)
            .scalar_subquery()))
    if currency:
        conditions.append(Subscription.currency == bindparam("currency"))
    if customer:
        conditions.append(Subscription.customer_id == bindparam("customer_id"))
    conditions += date_range(_SUBSCRIPTION_DATE_COLUMNS[date_field], date_from, date_to)
    count = capped_count(Subscription, *conditions)
    rows = (select(*listed_columns(),
                   Customer.display_name.label("customer_name"), matching(count))
            .select_from(join_plan().join(Customer, Customer.id == Subscription.customer_id))
            .where(*conditions).order_by(*SUBSCRIPTION_SORTS[sort])
            .offset(bindparam("offset")).limit(bindparam("limit")))
    return count, rows


def _subscription_params(filters: AdminSubscriptionFilters) -> dict:
    return {"status": filters.status, "plan": filters.plan, "currency": filters.currency,
            "customer_id": filters.customer_id, "date_from": filters.date_from,
            "date_to": filters.date_to}


def _subscription_shape(filters: AdminSubscriptionFilters) -> tuple:
    return (COUNTED_FILTER if filters.status == COUNTED_FILTER else filters.status is not None,
            filters.plan is not None, filters.currency is not None,
            filters.customer_id is not None, filters.date_field, filters.date_from is not None,
            filters.date_to is not None, filters.sort)


def _subscription_rows(session: Session, found: list) -> list[AdminSubscriptionRow]:
    """A download's rows with their items (two statements for any number of rows)."""
    names = {sub.id: name for (sub, _), name in found}
    subs, items = items_with_plans(session, [pair for pair, _ in found])
    return [AdminSubscriptionRow(**vars(SubscriptionRow.of(sub, items[sub.id], None)),
                                 customer_id=sub.customer_id, customer_name=names[sub.id])
            for sub in subs]


@lru_cache(maxsize=64)
def _subscription_stack(shape: tuple, number: int, size: int, count_limit: int,
                        ) -> tuple[Stack, Select]:
    """Page `number` of a shape of filters with its subscriptions' addons and coupons, in one
    statement (core/stacked, as the customer's list): three were three round trips. Its
    numbers are written into the SQL, the count's limit too: with a LIMIT unknown PostgreSQL
    planned the stack afresh on every request (2 ms). And the count, for a page past the
    last."""
    count, rows = _subscription_statements(*shape)
    rows = numbers_written(rows, {"count_limit": count_limit})
    page = numbered(fixed_page(rows, size, offset=(number - 1) * size)).cte("page")
    addons, coupons = items_statements_for(page)
    return Stack(page=page, addons=addons, coupons=coupons), count


def list_subscriptions(session: Session, *, filters: AdminSubscriptionFilters,
                       page_size: int = PAGE_SIZE) -> Page[AdminSubscriptionRow]:
    """One page of every customer's subscriptions with their items, in one statement; the
    amount is a term's price before tax (customers' tax rates differ; the admin's figures
    are net)."""
    limits = {"count_limit": filters.page * page_size + COUNT_AHEAD + 1}
    stack, count = _subscription_stack(_subscription_shape(filters), filters.page, page_size,
                                       limits["count_limit"])
    params = _subscription_params(filters)
    found = stack.read(session, params)
    page = page_of(found["page"], filters.page, page_size,
                   lambda row: (with_plan(row), row.customer_name),
                   lambda: read(session, numbers_written(count, limits), params).scalar_one(),
                   limits["count_limit"])
    subs = [sub for (sub, _), _ in page.items]
    items = items_of(subs, [plan for (_, plan), _ in page.items], found["addons"],
                     found["coupons"], listed=True)
    return replace(page, items=tuple(
        AdminSubscriptionRow(**vars(SubscriptionRow.of(sub, items[sub.id], None)),
                             customer_id=sub.customer_id, customer_name=name)
        for (sub, _), name in page.items))


# The CSV downloads' column names, in the reader's language (`csv_header`).
SUBSCRIPTION_CSV_HEADER = (N_("number"), N_("customer_id"), N_("customer"), N_("plan"),
                           N_("status"), N_("currency"), N_("amount_per_term"), N_("interval"),
                           N_("start_date"), N_("next_billing_date"))


def csv_header(names: tuple[str, ...]) -> tuple[str, ...]:
    """A CSV download's header row: its column names in the reader's language."""
    return tuple(gettext_now(name) for name in names)


def subscriptions_csv(session: Session, *, filters: AdminSubscriptionFilters,
                      ) -> Iterator[tuple]:
    """Every matching subscription (up to CSV_LIMIT) as CSV rows, header first; read in
    batches of 1,000 so the items come in a constant number of statements per batch."""
    yield csv_header(SUBSCRIPTION_CSV_HEADER)
    _, rows = _subscription_statements(*_subscription_shape(filters))
    params = _subscription_params(filters) | NO_COUNT
    for offset in range(0, CSV_LIMIT, 1000):
        found = [(with_plan(r), r.customer_name)
                 for r in read(session, rows, {**params, "offset": offset, "limit": 1000})]
        for s in _subscription_rows(session, found):
            yield (s.number, s.customer_id, s.customer_name, s.plan_name, s.status, s.currency,
                   to_decimal(s.amount, s.currency), s.per_interval, s.start_date.isoformat(),
                   s.next_billing_date.isoformat() if s.next_billing_date else "")
        if len(found) < 1000:
            return


def plan_choices(session: Session) -> tuple[tuple[str, str], ...]:
    """(code, name) of every plan, by name."""
    return tuple((code, name) for code, name in read(session, _PLAN_CHOICES, {}))


_PLAN_CHOICES = select(Plan.code, Plan.name).order_by(Plan.name, Plan.id)


def currency_choices(session: Session) -> tuple[str, ...]:
    """The currencies customers are billed in, in order: each the smallest one past the last
    (a recursive walk of `ix_customer_currency`, an index probe per currency in use). A
    DISTINCT read every customer, 2.8 ms of every admin list at 10,000 (issue 32)."""
    return tuple(read(session, _CURRENCIES_IN_USE, {}).scalars())


def _currencies_in_use() -> Select:
    walk = select(func.min(Customer.currency).label("currency")).cte("in_use", recursive=True)
    walk = walk.union_all(
        select(select(func.min(Customer.currency)).where(Customer.currency > walk.c.currency)
               .scalar_subquery()).where(walk.c.currency.is_not(None)))
    return select(walk.c.currency).where(walk.c.currency.is_not(None)).order_by(walk.c.currency)


_CURRENCIES_IN_USE = _currencies_in_use()


# --- Invoices -----------------------------------------------------------------------------------

# Days past due, as the aging chart buckets them (inclusive bounds; None: open-ended).
AGING = {"current": (None, 0), "1-30": (1, 30), "31-60": (31, 60), "61-90": (61, 90),
         "90+": (91, None)}
AGING_LABELS = {"current": N_("Current (not due)"), "1-30": N_("1–30 days"),
                "31-60": N_("31–60 days"), "61-90": N_("61–90 days"), "90+": N_("Over 90 days")}
INVOICE_STATUS_FILTERS = ("paid", "unpaid", "overdue", "partially_paid", "void")


@dataclass(frozen=True)
class AdminInvoiceFilters:
    status: str | None = None
    currency: str | None = None
    customer_id: int | None = None
    aging: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "newest"
    page: int = 1

    def query_args(self, **overrides) -> dict:
        return _args({"status": self.status, "currency": self.currency,
                      "customer": self.customer_id, "aging": self.aging,
                      "from": self.date_from, "to": self.date_to,
                      "sort": self.sort if self.sort != "newest" else None},
                     self.page, overrides)


def read_invoice_filters(params: Mapping[str, str], *, currencies: tuple[str, ...],
                         ) -> tuple[AdminInvoiceFilters, list[str]]:
    reader = FilterReader(params)
    status = reader.choice("status", INVOICE_STATUS_FILTERS, "status")
    if (params.get("overdue") or "") == "yes":
        status = "overdue"
    filters = AdminInvoiceFilters(
        status=status, currency=_currency(reader, currencies),
        customer_id=reader.integer("customer", "customer"),
        aging=reader.choice("aging", tuple(AGING), "aging"),
        date_from=reader.date("from", "from"), date_to=reader.date("to", "to"),
        sort=reader.choice("sort", tuple(INVOICE_SORTS), "sort") or "newest",
        page=reader.page())
    return filters, reader.messages


def aging_condition(bucket: str, today) -> object:
    """Open invoices in one aging bucket: days past due = today − due date."""
    low, high = AGING[bucket]
    due = Invoice.due_date
    conditions = [Invoice.status == "open"]
    if bucket == "current":
        conditions.append(due >= today)
    else:
        # past due by at least `low` days: due <= today - low, i.e. due_date + low <= today
        conditions.append(due <= bindparam(f"aging_low_{bucket}", type_=Date))
        if high is not None:
            conditions.append(due >= bindparam(f"aging_high_{bucket}", type_=Date))
    return and_(*conditions)


def aging_params(today: date) -> dict:
    """The bounds `aging_condition` reads: the last due date `low` days ago, the first `high`."""
    params = {}
    for bucket, (low, high) in AGING.items():
        if low is not None:
            params[f"aging_low_{bucket}"] = today - timedelta(days=low)
        if high is not None and low is not None:
            params[f"aging_high_{bucket}"] = today - timedelta(days=high)
    return params


@dataclass(frozen=True)
class AdminInvoiceRow(InvoiceRow):
    customer_id: int = 0
    customer_name: str = ""


_INVOICE_COLUMNS = (Invoice.id, Invoice.number, Invoice.kind, Invoice.issue_date,
                    Invoice.due_date, Invoice.currency, Invoice.total, Invoice.amount_paid,
                    Invoice.credits_applied, Invoice.status, Invoice.subscription_id,
                    Invoice.customer_id)


@cache
def _invoice_statements(status: str | None, currency: bool, customer: bool, aging: str | None,
                        date_from: bool, date_to: bool, sort: str) -> tuple[Select, Select]:
    today = bindparam("today", type_=Date)
    conditions = []
    if status:
        conditions.append(invoice_status_condition(status, today))
    if currency:
        conditions.append(Invoice.currency == bindparam("currency"))
    if customer:
        conditions.append(Invoice.customer_id == bindparam("customer_id"))
    if aging:
        conditions.append(aging_condition(aging, today))
    conditions += date_range(Invoice.issue_date, date_from, date_to)
    count = capped_count(Invoice, *conditions)
    order = [getattr(Invoice, name).desc() if descending else getattr(Invoice, name).asc()
             for name, descending in INVOICE_SORTS[sort]]
    page = (select(*_INVOICE_COLUMNS).where(*conditions).order_by(*order)
            .offset(bindparam("offset")).limit(bindparam("limit")).subquery("page"))
    rows = (select(page, Subscription.number.label("subscription_number"),
                   Customer.display_name.label("customer_name"), matching(count))
            .outerjoin(Subscription, Subscription.id == page.c.subscription_id)
            .join(Customer, Customer.id == page.c.customer_id)
            .order_by(*[page.c[name].desc() if descending else page.c[name].asc()
                        for name, descending in INVOICE_SORTS[sort]]))
    return count, rows


def _invoice_params(filters: AdminInvoiceFilters, today: date) -> dict:
    return {"currency": filters.currency, "customer_id": filters.customer_id, "today": today,
            "date_from": filters.date_from, "date_to": filters.date_to} | aging_params(today)


def _invoice_row(row, today: date, labels: Mapping[str, object]) -> AdminInvoiceRow:
    base = InvoiceRow.of(row, row.subscription_number, today, labels)
    return AdminInvoiceRow(**vars(base), customer_id=row.customer_id,
                           customer_name=row.customer_name)


def _invoice_shape(filters: AdminInvoiceFilters) -> tuple:
    return (filters.status, filters.currency is not None, filters.customer_id is not None,
            filters.aging, filters.date_from is not None, filters.date_to is not None,
            filters.sort)


def list_invoices(session: Session, *, filters: AdminInvoiceFilters, at: Moment,
                  page_size: int = PAGE_SIZE) -> Page[AdminInvoiceRow]:
    """One page of every customer's invoices: one statement (two past the last page)."""
    count, rows = _invoice_statements(*_invoice_shape(filters))
    labels = translated(INVOICE_STATUS_LABELS)
    return counted_page(session, rows, count, _invoice_params(filters, at.today), filters.page,
                        page_size, lambda row: _invoice_row(row, at.today, labels),
                        cap=COUNT_AHEAD)


INVOICE_CSV_HEADER = (N_("number"), N_("customer_id"), N_("customer"), N_("subscription"),
                      N_("issue_date"), N_("due_date"), N_("status"), N_("currency"), N_("total"),
                      N_("balance_due"))


def invoices_csv(session: Session, *, filters: AdminInvoiceFilters, at: Moment,
                 ) -> Iterator[tuple]:
    yield csv_header(INVOICE_CSV_HEADER)
    _, rows = _invoice_statements(*_invoice_shape(filters))
    params = _invoice_params(filters, at.today) | NO_COUNT | {"offset": 0, "limit": CSV_LIMIT}
    labels = translated(INVOICE_STATUS_LABELS)
    for row in read(session, rows, params):
        i = _invoice_row(row, at.today, labels)
        yield (i.number, i.customer_id, i.customer_name, i.subscription_number or "",
               i.issue_date.isoformat(), i.due_date.isoformat(), i.status_label, i.currency,
               to_decimal(i.total, i.currency), to_decimal(i.balance, i.currency))


# --- Payments -----------------------------------------------------------------------------------

PAYMENT_STATUSES = {"succeeded": N_("Succeeded"), "failed": N_("Failed"), "pending": N_("Pending")}
PAYMENT_KINDS = {"payment": N_("Payments"), "refund": N_("Refunds")}


@dataclass(frozen=True)
class AdminPaymentFilters:
    status: str | None = "succeeded"
    kind: str | None = None
    method: str | None = None
    currency: str | None = None
    customer_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    def query_args(self, **overrides) -> dict:
        status = "all" if self.status is None else (
            None if self.status == "succeeded" else self.status)
        return _args({"status": status, "kind": self.kind,
                      "method": self.method, "currency": self.currency,
                      "customer": self.customer_id, "from": self.date_from,
                      "to": self.date_to}, self.page, overrides)


def read_payment_filters(params: Mapping[str, str], *, currencies: tuple[str, ...],
                         ) -> tuple[AdminPaymentFilters, list[str]]:
    """Succeeded payments unless another status is asked for (`status=all`: every one)."""
    reader = FilterReader(params)
    status = reader.choice("status", (*PAYMENT_STATUSES, "all"), "status") or "succeeded"
    filters = AdminPaymentFilters(
        status=None if status == "all" else status,
        kind=reader.choice("kind", tuple(PAYMENT_KINDS), "kind"),
        method=reader.choice("method", METHODS, "method"),
        currency=_currency(reader, currencies),
        customer_id=reader.integer("customer", "customer"),
        date_from=reader.date("from", "from"), date_to=reader.date("to", "to"),
        page=reader.page())
    return filters, reader.messages


@dataclass(frozen=True)
class AdminPaymentRow(PaymentRow):
    customer_id: int = 0
    customer_name: str = ""
    status: str = "succeeded"
    status_label: str = "Succeeded"
    failure_reason: str | None = None
    day: date | None = None  # paid on, else the day it was tried (UTC)


_PAYMENT_COLUMNS = (Payment.id, Payment.number, Payment.kind, Payment.paid_on, Payment.method,
                    Payment.amount, Payment.currency, Payment.reference, Payment.customer_id,
                    Payment.status, Payment.failure_reason, Payment.created_at)


@cache
def _payment_statements(status: bool, kind: bool, method: bool, currency: bool, customer: bool,
                        date_from: bool, date_to: bool) -> tuple[Select, Select]:
    """The date range is on the day the payment was made, else (a failed or pending one)
    on the day it was tried."""
    conditions = []
    if status:
        conditions.append(Payment.status == bindparam("status"))
    for flag, name in ((kind, "kind"), (method, "method"), (currency, "currency")):
        if flag:
            conditions.append(getattr(Payment, name) == bindparam(name))
    if customer:
        conditions.append(Payment.customer_id == bindparam("customer_id"))
    if date_from:
        conditions.append(or_(Payment.paid_on >= bindparam("date_from", type_=Date),
                              and_(Payment.paid_on.is_(None), Payment.created_at >= bindparam(
                                  "from_instant", type_=DateTime(timezone=True)))))
    if date_to:
        conditions.append(or_(Payment.paid_on <= bindparam("date_to", type_=Date),
                              and_(Payment.paid_on.is_(None), Payment.created_at < bindparam(
                                  "to_instant", type_=DateTime(timezone=True)))))
    count = capped_count(Payment, *conditions)
    rows = (select(*_PAYMENT_COLUMNS, Customer.display_name.label("customer_name"),
                   matching(count))
            .join(Customer, Customer.id == Payment.customer_id).where(*conditions)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .offset(bindparam("offset")).limit(bindparam("limit")))
    return count, rows


def _payment_params(filters: AdminPaymentFilters) -> dict:
    def instant(day: date | None) -> datetime | None:
        return datetime.combine(day, time(), tzinfo=UTC) if day else None
    return {"status": filters.status, "kind": filters.kind, "method": filters.method,
            "currency": filters.currency, "customer_id": filters.customer_id,
            "date_from": filters.date_from, "date_to": filters.date_to,
            "from_instant": instant(filters.date_from),
            "to_instant": instant(filters.date_to + timedelta(days=1)) if filters.date_to
            else None}


def _payment_row(row) -> AdminPaymentRow:
    label = METHOD_LABELS.get(row.method, row.method)
    if row.kind == "refund":
        label = _("Refund (%(method)s)", method=label)
    created = row.created_at
    return AdminPaymentRow(row.id, row.number or "—", row.kind, row.paid_on, row.method, label,
                           row.amount, row.currency, row.reference,
                           customer_id=row.customer_id, customer_name=row.customer_name,
                           status=row.status,
                           status_label=_(PAYMENT_STATUSES.get(row.status, row.status)),
                           failure_reason=translated_reason(row.failure_reason),
                           day=row.paid_on or (created.date() if created else None))


def _payment_shape(filters: AdminPaymentFilters) -> tuple:
    return (filters.status is not None, filters.kind is not None, filters.method is not None,
            filters.currency is not None, filters.customer_id is not None,
            filters.date_from is not None, filters.date_to is not None)


def list_payments(session: Session, *, filters: AdminPaymentFilters,
                  page_size: int = PAGE_SIZE) -> Page[AdminPaymentRow]:
    """One page of every customer's payments and refunds, newest first: one statement."""
    count, rows = _payment_statements(*_payment_shape(filters))
    return counted_page(session, rows, count, _payment_params(filters), filters.page,
                        page_size, _payment_row, cap=COUNT_AHEAD)


PAYMENT_CSV_HEADER = (N_("number"), N_("customer_id"), N_("customer"), N_("date"), N_("kind"),
                      N_("status"), N_("method"), N_("currency"), N_("amount"), N_("reference"),
                      N_("failure_reason"))


def payments_csv(session: Session, *, filters: AdminPaymentFilters) -> Iterator[tuple]:
    yield csv_header(PAYMENT_CSV_HEADER)
    _, rows = _payment_statements(*_payment_shape(filters))
    params = _payment_params(filters) | NO_COUNT | {"offset": 0, "limit": CSV_LIMIT}
    for row in read(session, rows, params):
        p = _payment_row(row)
        yield (p.number, p.customer_id, p.customer_name, p.day.isoformat() if p.day else "",
               p.kind, p.status, p.method, p.currency, to_decimal(p.amount, p.currency),
               wording.reword_now(p.reference), p.failure_reason or "")


STATUS_CHOICES = {"subscriptions": SUBSCRIPTION_STATUS_LABELS,
                  "invoices": {k: INVOICE_STATUS_LABELS.get(k if k != "unpaid" else "open")
                               for k in INVOICE_STATUS_FILTERS},
                  "payments": PAYMENT_STATUSES}


# --- Credit notes -------------------------------------------------------------------------------

# "unused": open with something left on it (the admin home's "Unused credits").
CREDIT_STATUSES = {"unused": N_("Unused (open, with a balance)"), "open": N_("Open"),
                   "closed": N_("Used"), "void": N_("Void")}


@dataclass(frozen=True)
class AdminCreditFilters:
    status: str | None = None
    currency: str | None = None
    customer_id: int | None = None
    page: int = 1

    def query_args(self, **overrides) -> dict:
        return _args({"status": self.status, "currency": self.currency,
                      "customer": self.customer_id}, self.page, overrides)


def read_credit_filters(params: Mapping[str, str], *, currencies: tuple[str, ...],
                        ) -> tuple[AdminCreditFilters, list[str]]:
    reader = FilterReader(params)
    filters = AdminCreditFilters(
        status=reader.choice("status", tuple(CREDIT_STATUSES), "status"),
        currency=_currency(reader, currencies),
        customer_id=reader.integer("customer", "customer"), page=reader.page())
    return filters, reader.messages


@dataclass(frozen=True)
class AdminCreditRow(CreditRow):
    customer_id: int = 0
    customer_name: str = ""


_CREDIT_COLUMNS = (CreditNote.id, CreditNote.number, CreditNote.issue_date, CreditNote.reason,
                   CreditNote.currency, CreditNote.total, CreditNote.balance, CreditNote.status,
                   CreditNote.customer_id)


@cache
def _credit_statements(status: str | None, currency: bool, customer: bool,
                       ) -> tuple[Select, Select]:
    conditions = []
    if status == "unused":
        conditions += [CreditNote.status == "open", CreditNote.balance > 0]
    elif status:
        conditions.append(CreditNote.status == bindparam("status"))
    if currency:
        conditions.append(CreditNote.currency == bindparam("currency"))
    if customer:
        conditions.append(CreditNote.customer_id == bindparam("customer_id"))
    count = capped_count(CreditNote, *conditions)
    rows = (select(*_CREDIT_COLUMNS, Customer.display_name.label("customer_name"),
                   matching(count))
            .join(Customer, Customer.id == CreditNote.customer_id).where(*conditions)
            .order_by(CreditNote.issue_date.desc(), CreditNote.id.desc())
            .offset(bindparam("offset")).limit(bindparam("limit")))
    return count, rows


def _credit_query(filters: AdminCreditFilters) -> tuple[tuple[Select, Select], dict]:
    statements = _credit_statements(filters.status, filters.currency is not None,
                                    filters.customer_id is not None)
    return statements, {"status": filters.status, "currency": filters.currency,
                        "customer_id": filters.customer_id}


def _credit_row(row) -> AdminCreditRow:
    note = AdminCreditRow.of_values(row.id, row.number, row.issue_date, row.reason,
                                    row.currency, row.total, row.balance, row.status)
    return replace(note, customer_id=row.customer_id, customer_name=row.customer_name)


def list_credits(session: Session, *, filters: AdminCreditFilters,
                 page_size: int = PAGE_SIZE) -> Page[AdminCreditRow]:
    """Every customer's credit notes, newest first: a page and its total in one statement."""
    (count, rows), params = _credit_query(filters)
    return counted_page(session, rows, count, params, filters.page, page_size, _credit_row,
                        cap=COUNT_AHEAD)


CREDIT_CSV_HEADER = (N_("number"), N_("customer_id"), N_("customer"), N_("date"), N_("reason"),
                     N_("status"), N_("currency"), N_("total"), N_("unused"))


def credits_csv(session: Session, *, filters: AdminCreditFilters) -> Iterator[tuple]:
    yield csv_header(CREDIT_CSV_HEADER)
    (_, rows), params = _credit_query(filters)
    for row in read(session, rows, params | NO_COUNT | {"offset": 0, "limit": CSV_LIMIT}):
        c = _credit_row(row)
        yield (c.number, c.customer_id, c.customer_name, c.issue_date.isoformat(),
               wording.reword_now(c.reason),
               row.status, c.currency, to_decimal(c.total, c.currency),
               to_decimal(c.balance, c.currency))
