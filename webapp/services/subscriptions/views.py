"""Subscriptions as the customer sees them: lists with filters, and details."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import cache, lru_cache

from sqlalchemy import Select, bindparam, func
from sqlmodel import Session, select

from webapp.models import Invoice, PaymentMethod, Plan, ScheduledChange, Subscription
from webapp.services.billing import tax, terms
from webapp.services.billing.catalog import (
    SubscriptionItems,
    items_of,
    items_statements_for,
    join_plan,
    listed_columns,
    subscription_items,
    with_plan,
)
from webapp.services.billing.context import owned_subscription
from webapp.services.billing.invoices import InvoiceRow
from webapp.services.billing.pricing import Priced
from webapp.services.core import state_machine
from webapp.services.core.dates import Dated, Moment, interval_label, per_interval_label
from webapp.services.core.i18n import N_, _
from webapp.services.core.listing import (
    PAGE_SIZE,
    FilterReader,
    Page,
    matching,
    page_of,
    read,
)
from webapp.services.core.stacked import Stack, fixed_page, numbered

STATUSES = ("future", "trial", "live", "non_renewing", "paused", "dunning", "unpaid",
            "cancelled", "expired")
# The customer's words for each state (the list's filter and the badges).
STATUS_LABELS = {"future": _("Upcoming"), "trial": _("Trial"), "live": _("Active"),
                 "non_renewing": _("Ending"), "paused": _("Paused"), "dunning": _("Past due"),
                 "unpaid": _("Unpaid"), "cancelled": _("Cancelled"), "expired": _("Expired"),
                 "creation_failed": _("Creation failed")}
# A badge that names its day: "Starts on 1 Dec 2026", one sentence to translate (a language
# may put the date first); the web layer translates it and fills in the date it formats.
_DATED_LABELS = {"future": N_("Starts on %(date)s"), "non_renewing": N_("Ends on %(date)s"),
                 "paused": N_("Paused until %(date)s")}
# States that bill again; the others show no next charge.
_BILLS_AGAIN = frozenset({"future", "trial", "live", "paused", "dunning"})
SORTS = {
    "newest": (Subscription.start_date.desc(), Subscription.id.desc()),
    "oldest": (Subscription.start_date.asc(), Subscription.id.asc()),
    "next_billing": (Subscription.next_billing_date.is_(None), Subscription.next_billing_date,
                     Subscription.id),
    "status": (Subscription.status, Subscription.id),
}


@dataclass(frozen=True)
class SubscriptionFilters:
    status: str | None = None
    plan: str | None = None
    sort: str = "newest"
    page: int = 1

    def query_args(self, **overrides) -> dict:
        args = {"status": self.status, "plan": self.plan,
                "sort": self.sort if self.sort != "newest" else None,
                "page": self.page if self.page > 1 else None} | overrides
        return {k: v for k, v in args.items() if v is not None}


def read_filters(params: Mapping[str, str],
                 plan_codes: tuple[str, ...]) -> tuple[SubscriptionFilters, list[str]]:
    reader = FilterReader(params)
    filters = SubscriptionFilters(
        status=reader.choice("status", STATUSES, "status"),
        plan=reader.choice("plan", plan_codes, "plan"),
        sort=reader.choice("sort", tuple(SORTS), "sort") or "newest",
        page=reader.page())
    return filters, reader.messages


# Grouped rather than DISTINCT: the list reads it in a stack (core/stacked), whose row
# numbers are computed after GROUP BY but before DISTINCT.
_PLAN_CHOICES = (select(Plan.code, Plan.name).join(Subscription, Subscription.plan_id == Plan.id)
                 .where(Subscription.customer_id == bindparam("customer_id"))
                 .group_by(Plan.code, Plan.name).order_by(Plan.name, Plan.code))


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    number: str
    plan_name: str
    status: str
    status_label: str
    currency: str
    amount: int  # what the next term costs, tax included
    interval_unit: str
    start_date: date
    next_billing_date: date | None
    expired_reason: str | None
    status_on: date | None = None  # the day the badge names ("Ends on ...")
    interval_count: int = 1  # a term is interval_count × interval_unit

    @property
    def per_interval(self) -> str:
        """What the amount is per: "month", "2 weeks"."""
        return per_interval_label(self.interval_unit, self.interval_count)

    @property
    def every(self) -> str:
        """How often it bills: "every month", "every 2 weeks"."""
        return interval_label(self.interval_unit, self.interval_count)

    @classmethod
    def of(cls, sub: Subscription, items: SubscriptionItems, tax_: tax.Tax) -> SubscriptionRow:
        label, on = status_label(sub)
        return cls(sub.id, sub.number, items.plan.name, sub.status, label,
                   sub.currency, items.next_term_price(tax_).total, items.plan.interval_unit,
                   sub.start_date, sub.next_billing_date, sub.expired_reason, on,
                   items.plan.interval_count)


def status_label(sub: Subscription) -> tuple[str, date | None]:
    """The badge in the customer's words, and the day it names (None: a plain label)."""
    on = {"future": sub.start_date, "non_renewing": sub.current_term_end,
          "paused": sub.resume_on}.get(sub.status)
    if on is None:
        return STATUS_LABELS[sub.status], None
    return _DATED_LABELS[sub.status], on


def next_charge_on(sub: Subscription) -> date | None:
    """When the customer is charged next: none once the subscription stops billing, and
    after a scheduled pause the day its carried days end (the tick pauses before it renews)."""
    if sub.status not in _BILLS_AGAIN or sub.next_billing_date is None:
        return None
    if sub.status != "paused" and sub.pause_on is not None and sub.resume_on is not None \
            and sub.pause_on <= sub.next_billing_date:
        return terms.carried_term(sub, paused_on=sub.pause_on,
                                  resume_on=sub.resume_on)["next_billing_date"]
    return sub.next_billing_date


@cache
def _list_statements(status: bool, plan: bool, sort: str) -> tuple[Select, Select]:
    """The count and the page statements for one shape of filters, built once. A page reads
    the subscriptions' columns, not entities: a row is all a list shows."""
    conditions = [Subscription.customer_id == bindparam("customer_id")]
    if status:
        conditions.append(Subscription.status == bindparam("status"))
    if plan:
        conditions.append(Subscription.plan_id.in_(
            select(Plan.id).where(Plan.code == bindparam("plan")).correlate(None)
            .scalar_subquery()))
    count = select(func.count()).select_from(Subscription).where(*conditions)
    rows = (select(*listed_columns(), matching(count))
            .select_from(join_plan()).where(*conditions)
            .order_by(*SORTS[sort])
            .offset(bindparam("offset")).limit(bindparam("limit")))
    return count, rows


@lru_cache(maxsize=64)
def _list_stack(status: bool, plan: bool, sort: str, page: int, size: int
                ) -> tuple[Stack, Select]:
    """The list page's one statement for a shape of filters (core/stacked): the plans the
    customer has subscriptions on (the plan filter's choices), the page with each row's plan
    and price, and the page's addons and coupons. Five statements were five round trips
    (issue 32). And the count, for a page past the last."""
    count, rows = _list_statements(status, plan, sort)
    rows = fixed_page(rows, size, offset=(page - 1) * size)
    page_rows = numbered(rows).cte("page")
    addons, coupons = items_statements_for(page_rows)
    return Stack(plans=_PLAN_CHOICES, page=page_rows, addons=addons, coupons=coupons), count


@dataclass(frozen=True)
class SubscriptionList:
    page: Page[SubscriptionRow]
    filters: SubscriptionFilters
    messages: list[str]
    plans: tuple[tuple[str, str], ...]  # (code, name) of the plans the customer is on


def subscription_list(session: Session, *, customer_id: int, params: Mapping[str, str],
                      page_size: int = PAGE_SIZE) -> SubscriptionList:
    """The list page from its query parameters, in one statement. The plan filter's choices
    come with the page, so a plan code is taken as asked and checked once they are read: a
    code the customer has no subscription on (bad input) reads the page again unfiltered,
    with the filter's message."""
    asked = (params.get("plan") or "").strip()
    filters, messages = read_filters(params, (asked,) if asked else ())
    page, plans = _read_list(session, customer_id, filters, page_size)
    checked, messages = read_filters(params, tuple(code for code, _ in plans))
    if checked != filters:
        filters, (page, plans) = checked, _read_list(session, customer_id, checked, page_size)
    return SubscriptionList(page, filters, messages, plans)


def list_subscriptions(session: Session, *, customer_id: int, filters: SubscriptionFilters,
                       page_size: int = PAGE_SIZE) -> Page[SubscriptionRow]:
    """One page of the customer's subscriptions, in one statement."""
    return _read_list(session, customer_id, filters, page_size)[0]


def _read_list(session: Session, customer_id: int, filters: SubscriptionFilters,
               page_size: int) -> tuple[Page[SubscriptionRow], tuple[tuple[str, str], ...]]:
    stack, count = _list_stack(filters.status is not None, filters.plan is not None,
                               filters.sort, filters.page, page_size)
    params = {"customer_id": customer_id, "status": filters.status, "plan": filters.plan}
    found = stack.read(session, params)
    page = page_of(found["page"], filters.page, page_size, with_plan,
                   lambda: read(session, count, params).scalar_one())
    subs = [sub for sub, _ in page.items]
    items = items_of(subs, [plan for _, plan in page.items], found["addons"], found["coupons"],
                     listed=True)
    tax_ = tax.tax_for(session, customer_id)
    return (replace(page, items=tuple(SubscriptionRow.of(s, items[s.id], tax_) for s in subs)),
            tuple((code, name) for code, name in found["plans"]))


@dataclass(frozen=True)
class TimelineEntry:
    """A change waiting to happen to the subscription."""

    on: date | None
    label: str
    kind: str  # cancellation | pause | resume | change


@dataclass(frozen=True)
class SubscriptionDetail:
    row: SubscriptionRow
    subscription: Subscription
    items: SubscriptionItems
    next_charge: Priced
    payment_method: PaymentMethod | None
    timeline: tuple[TimelineEntry, ...]
    unpaid_invoices: tuple[InvoiceRow, ...]
    next_charge_on: date | None = None  # None: no next charge to show

    @property
    def changeable(self) -> bool:
        """Plan, addons and coupons can change in this state (preferences permitting)."""
        return state_machine.changeable(self.subscription.status)


def _change_label(change: ScheduledChange) -> str | Dated:
    """A scheduled change's summary: kept as a message (`Dated.as_json`), or as text by rows
    written before the summaries were translated."""
    summary = change.payload.get("summary")
    if isinstance(summary, dict):
        return Dated.from_json(summary)
    return summary or _("Changes at renewal")


def _timeline(sub: Subscription, changes: list[ScheduledChange]) -> tuple[TimelineEntry, ...]:
    entries = []
    if sub.status == "non_renewing":
        entries.append(TimelineEntry(sub.current_term_end, _("Cancels at the end of the term"),
                                     "cancellation"))
    if sub.pause_on and sub.status != "paused":
        entries.append(TimelineEntry(sub.pause_on, _("Pauses"), "pause"))
    if sub.resume_on:
        entries.append(TimelineEntry(sub.resume_on, _("Resumes"), "resume"))
    for change in changes:
        entries.append(TimelineEntry(change.effective_on, _change_label(change), "change"))
    return tuple(sorted(entries, key=lambda e: (e.on is None, e.on or date.max)))


def subscription_detail(session: Session, *, customer_id: int, subscription_id: int,
                        at: Moment) -> SubscriptionDetail:
    sub = owned_subscription(session, customer_id, subscription_id)
    tax_ = tax.tax_for(session, customer_id)
    items = subscription_items(session, [sub])[sub.id]
    method = session.get(PaymentMethod, sub.payment_method_id) if sub.payment_method_id else None
    changes = session.exec(select(ScheduledChange).where(ScheduledChange.subscription_id == sub.id)
                           .order_by(ScheduledChange.effective_on)).all()
    unpaid = session.exec(
        select(Invoice).where(Invoice.customer_id == customer_id,
                              Invoice.subscription_id == sub.id, Invoice.status == "open")
        .order_by(Invoice.issue_date, Invoice.id)).all()
    return SubscriptionDetail(
        SubscriptionRow.of(sub, items, tax_), sub, items, items.next_term_price(tax_),
        method, _timeline(sub, list(changes)),
        tuple(InvoiceRow.of(inv, sub.number, at.today) for inv in unpaid), next_charge_on(sub))
