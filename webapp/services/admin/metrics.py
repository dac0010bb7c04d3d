"""The admin home's figures (issue 31): recurring revenue and its movements, subscriptions by
status, receivables, payments, per currency (never added across currencies).

Every figure is an SQL aggregate over indexed columns: a constant number of statements
whatever the number of customers. Definitions (the page's help and the README say the same):
- a subscription's MRR: billing/mrr.py (recurring amount per term ÷ months per term, exact);
- MRR: the sum over live, non-renewing and dunning subscriptions per currency, rounded half-up
  once at the end; ARR = 12 × MRR;
- movements in a month: new, expansion, contraction, churn, reactivation (billing/mrr.py);
  MRR at a month's end = at its start + its movements;
- net revenue retention, 12 months: MRR today of the customers who had MRR 12 months ago ÷
  their MRR then;
- aging: open invoices' balances by days past due: current (not due), 1–30, 31–60, 61–90, 90+.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

from sqlalchemy import Date, and_, bindparam, case, func, literal
from sqlmodel import Session, col, select

from webapp.models import (
    AuditEntry,
    CreditNote,
    Customer,
    Invoice,
    MrrMovement,
    Payment,
    Subscription,
)
from webapp.services.admin.activity import AuditRow
from webapp.services.admin.lists import AGING, aging_condition, aging_params
from webapp.services.billing.mrr import COUNTED, KINDS
from webapp.services.core.dates import Moment, add_months
from webapp.services.core.listing import FilterReader
from webapp.services.core.notifications import CUSTOMER_ACTION_PREFIX, SUBSCRIPTION_CANCELLED

WINDOWS = {"month": "This month", "30d": "Last 30 days", "12m": "Last 12 months",
           "custom": "Custom"}


def half_up(value: Fraction) -> int:
    """A fraction of minor units rounded half away from zero, once."""
    whole = math.floor(abs(value) + Fraction(1, 2))
    return whole if value >= 0 else -whole


# --- The date window ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    key: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Window:
        """The window of the same length just before this one."""
        return Window("previous", self.start - timedelta(days=self.days),
                      self.start - timedelta(days=1))

    def query_args(self, **overrides) -> dict:
        args = {"window": self.key if self.key != "30d" else None}
        if self.key == "custom":
            args |= {"from": self.start.isoformat(), "to": self.end.isoformat()}
        return {k: v for k, v in (args | overrides).items() if v is not None}


def read_window(params: Mapping[str, str], today: date) -> tuple[Window, list[str]]:
    """The window the GET parameters ask for (`window`: month, 30d, 12m, custom with `from`
    and `to`); the last 30 days by default."""
    reader = FilterReader(params)
    key = reader.choice("window", tuple(WINDOWS), "window") or "30d"
    if key == "month":
        return Window(key, today.replace(day=1), today), reader.messages
    if key == "12m":
        return Window(key, add_months(today.replace(day=1), -11), today), reader.messages
    if key == "custom":
        start, end = reader.date("from", "from"), reader.date("to", "to")
        if start and end and start <= end:
            return Window(key, start, end), reader.messages
        reader.messages.append("Showing the last 30 days: a custom window needs a from date "
                               "on or before its to date.")
    return Window("30d", today - timedelta(days=29), today), reader.messages


# --- Recurring revenue --------------------------------------------------------------------------

_DELTA_GROUPS = (MrrMovement.currency, MrrMovement.after_den, MrrMovement.before_den)


def _fraction_sums(rows, key) -> dict:
    """Σ after − before per key, exactly, from rows grouped by denominators."""
    sums: dict = defaultdict(Fraction)
    for row in rows:
        sums[key(row)] += Fraction(int(row.after_sum), row.after_den) - \
            Fraction(int(row.before_sum), row.before_den)
    return sums


def _mrr_rows(session: Session, day: date) -> list:
    return list(session.exec(
        select(*_DELTA_GROUPS, func.sum(MrrMovement.after_num).label("after_sum"),
               func.sum(MrrMovement.before_num).label("before_sum"))
        .where(MrrMovement.moved_on <= day).group_by(*_DELTA_GROUPS)).all())


def _exact(rows) -> dict[str, Fraction]:
    return {c: v for c, v in _fraction_sums(rows, lambda r: r.currency).items() if v}


def mrr_on(session: Session, day: date) -> dict[str, Fraction]:
    """Each currency's exact MRR at the end of `day`; one statement."""
    return _exact(_mrr_rows(session, day))


@dataclass(frozen=True)
class MonthMovements:
    month: date  # its first day
    opening: Fraction
    closing: Fraction
    moves: Mapping[str, Fraction]  # kind -> signed change (churn and contraction negative)

    def rounded(self, kind: str) -> int:
        return half_up(self.moves.get(kind, Fraction(0)))


@dataclass(frozen=True)
class RevenueHistory:
    currency: str
    months: tuple[MonthMovements, ...]

    @property
    def reconciles(self) -> bool:
        return all(m.opening + sum(m.moves.values(), Fraction(0)) == m.closing
                   for m in self.months)


def revenue_history(session: Session, *, at: Moment, months: int = 12,
                    ) -> dict[str, RevenueHistory]:
    """MRR and its movements month by month for the last `months` months (this one last),
    per currency; one statement (the opening MRR and the movements by day)."""
    first = add_months(at.today.replace(day=1), -(months - 1))
    day = case((MrrMovement.moved_on < first, None), else_=MrrMovement.moved_on).label("day")
    kind = case((MrrMovement.moved_on < first, literal("opening")),
                else_=MrrMovement.kind).label("kind")
    rows = session.exec(
        select(*_DELTA_GROUPS, kind, day, func.sum(MrrMovement.after_num).label("after_sum"),
               func.sum(MrrMovement.before_num).label("before_sum"))
        .where(MrrMovement.moved_on <= at.today)
        .group_by(*_DELTA_GROUPS, kind, day)).all()
    sums = _fraction_sums(rows, lambda r: (r.currency, r.kind,
                                           None if r.day is None else _month_of(r.day)))
    starts = [add_months(first, index) for index in range(months)]
    result = {}
    for currency in sorted({c for c, _, _ in sums}):
        opening = sums.get((currency, "opening", None), Fraction(0))
        history = []
        for month in starts:
            moves = {k: sums.get((currency, k, month), Fraction(0)) for k in KINDS}
            closing = opening + sum(moves.values(), Fraction(0))
            history.append(MonthMovements(month, opening, closing, moves))
            opening = closing
        result[currency] = RevenueHistory(currency, tuple(history))
    return result


def _month_of(value) -> date:
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return day.replace(day=1)


def _denominators(rows) -> list[int]:
    """The denominators the movements up to today use (from `_mrr_rows`' groups)."""
    return sorted({int(r.after_den) for r in rows} | {int(r.before_den) for r in rows} | {12})


def _scaled(num, den, common: int, dens: list[int]):
    """num × (common ÷ den) in SQL, for the denominators there are."""
    return num * case(*((den == d, common // d) for d in dens), else_=0)


def net_revenue_retention(session: Session, *, at: Moment,
                          dens: list[int] | None = None) -> dict[str, Fraction]:
    """Per currency: MRR today of the customers who had MRR 12 months ago ÷ their MRR then,
    exact over the common multiple of the denominators in use (`dens`, else read first)."""
    dens = dens if dens is not None else _denominators(_mrr_rows(session, at.today))
    common = math.lcm(*dens)
    delta = (_scaled(MrrMovement.after_num, MrrMovement.after_den, common, dens)
             - _scaled(MrrMovement.before_num, MrrMovement.before_den, common, dens))
    then = add_months(at.today, -12)
    then_value = func.sum(case((MrrMovement.moved_on <= then, delta), else_=0))
    per_customer = (select(MrrMovement.currency, then_value.label("then_v"),
                           func.sum(delta).label("now_v"))
                    .where(MrrMovement.moved_on <= at.today)
                    .group_by(MrrMovement.customer_id, MrrMovement.currency)
                    .having(then_value > 0).subquery())
    rows = session.exec(select(per_customer.c.currency, func.sum(per_customer.c.then_v),
                               func.sum(per_customer.c.now_v))
                        .group_by(per_customer.c.currency)).all()
    return {currency: Fraction(int(now_v), int(then_v)) for currency, then_v, now_v in rows
            if then_v}


# --- Subscriptions ------------------------------------------------------------------------------

STATUS_PANEL = ("trial", "live", "non_renewing", "paused", "unpaid", "dunning")


@dataclass(frozen=True)
class StatusFigure:
    count: int = 0
    mrr: Mapping[str, int] = field(default_factory=dict)  # currency -> rounded MRR


@dataclass(frozen=True)
class SubscriptionFigures:
    by_status: Mapping[str, StatusFigure]
    cancelled_in_window: int
    trials_ending: int  # in the next 7 days
    renewals_7: Mapping[str, tuple[int, int]]  # currency -> (count, amount before tax)
    renewals_30: Mapping[str, tuple[int, int]]
    scheduled_cancellations: int


def subscription_figures(session: Session, *, at: Moment, window: Window) -> SubscriptionFigures:
    """Counts by status, the window's cancellations and the trials ending (one statement over
    the subscriptions), and MRR by status with the renewals of the next 7 and 30 days and
    their amounts (one over the movements: a subscription's MRR and amount now are the sums of
    its rows' after − before)."""
    today = at.today
    rows = session.exec(
        select(Subscription.status, func.count(),
               func.sum(case((and_(Subscription.cancelled_on >= window.start,
                                   Subscription.cancelled_on <= window.end), 1), else_=0)),
               func.sum(case((and_(Subscription.trial_end >= today,
                                   Subscription.trial_end <= today + timedelta(days=7)), 1),
                             else_=0)))
        .group_by(Subscription.status)).all()
    counts = {status: int(n) for status, n, _, _ in rows}
    cancelled = sum(int(c or 0) for status, _, c, _ in rows if status == "cancelled")
    trials = sum(int(t or 0) for status, _, _, t in rows if status == "trial")

    def within(days: int):
        return and_(Subscription.status == "live", Subscription.next_billing_date >= today,
                    Subscription.next_billing_date <= today + timedelta(days=days))

    amount = MrrMovement.after_amount - MrrMovement.before_amount
    moved = session.exec(
        select(Subscription.status, *_DELTA_GROUPS,
               func.sum(MrrMovement.after_num).label("after_sum"),
               func.sum(MrrMovement.before_num).label("before_sum"),
               func.sum(case((within(7), amount), else_=0)).label("amount_7"),
               func.sum(case((within(30), amount), else_=0)).label("amount_30"))
        .join(Subscription, Subscription.id == MrrMovement.subscription_id)
        .where(col(Subscription.status).in_(COUNTED), MrrMovement.moved_on <= today)
        .group_by(Subscription.status, *_DELTA_GROUPS)).all()
    mrr = _fraction_sums(moved, lambda r: (r.status, r.currency))
    renewal_amounts: dict[tuple[int, str], int] = defaultdict(int)
    for row in moved:
        renewal_amounts[7, row.currency] += int(row.amount_7 or 0)
        renewal_amounts[30, row.currency] += int(row.amount_30 or 0)
    renewing = session.exec(
        select(Subscription.currency, func.sum(case((within(7), 1), else_=0)),
               func.sum(case((within(30), 1), else_=0)))
        .where(within(30)).group_by(Subscription.currency).order_by(Subscription.currency)).all()
    return SubscriptionFigures(
        {s: StatusFigure(counts.get(s, 0), {c: half_up(v) for (st, c), v in sorted(mrr.items())
                                            if st == s and v})
         for s in STATUS_PANEL}, cancelled, trials,
        {c: (int(n7), renewal_amounts[7, c]) for c, n7, _ in renewing if n7},
        {c: (int(n30), renewal_amounts[30, c]) for c, _, n30 in renewing if n30},
        counts.get("non_renewing", 0))


# --- Receivables --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Receivables:
    outstanding: Mapping[str, int]
    overdue: Mapping[str, int]
    aging: Mapping[str, Mapping[str, int]]  # currency -> bucket -> balance
    aging_counts: Mapping[str, Mapping[str, int]]
    top_overdue: tuple[tuple[int, str, str, int], ...]  # (customer id, name, currency, amount)
    unused_credits: Mapping[str, int]


_BALANCE = Invoice.total - Invoice.amount_paid - Invoice.credits_applied


def receivables(session: Session, *, at: Moment, top: int = 10) -> Receivables:
    """Open invoices' balances, overdue, by aging bucket, the largest overdue customers and
    unused credits: three statements."""
    today = bindparam("today", type_=Date)
    params = {"today": at.today} | aging_params(at.today)
    buckets = [(name, aging_condition(name, today)) for name in AGING]
    rows = session.execute(
        select(Invoice.currency, func.sum(_BALANCE),
               func.sum(case((Invoice.due_date < today, _BALANCE), else_=0)),
               *(func.sum(case((cond, _BALANCE), else_=0)) for _, cond in buckets),
               *(func.sum(case((cond, 1), else_=0)) for _, cond in buckets))
        .where(Invoice.status == "open").group_by(Invoice.currency), params).all()
    outstanding, overdue, aging, counts = {}, {}, {}, {}
    for row in sorted(rows, key=lambda r: r[0]):
        currency, total, late = row[0], row[1], row[2]
        outstanding[currency], overdue[currency] = int(total or 0), int(late or 0)
        aging[currency] = {name: int(row[3 + i] or 0) for i, (name, _) in enumerate(buckets)}
        counts[currency] = {name: int(row[3 + len(buckets) + i] or 0)
                            for i, (name, _) in enumerate(buckets)}
    late = func.sum(_BALANCE).label("late")
    top_rows = session.exec(
        select(Invoice.customer_id, Customer.display_name, Invoice.currency, late)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Invoice.status == "open", Invoice.due_date < at.today)
        .group_by(Invoice.customer_id, Customer.display_name, Invoice.currency)
        .having(func.sum(_BALANCE) > 0)
        .order_by(late.desc(), Invoice.customer_id).limit(top)).all()
    credits = session.exec(
        select(CreditNote.currency, func.sum(CreditNote.balance))
        .where(CreditNote.status == "open", CreditNote.balance > 0)
        .group_by(CreditNote.currency).order_by(CreditNote.currency)).all()
    return Receivables(outstanding, overdue, aging, counts,
                       tuple((cid, name, cur, int(v)) for cid, name, cur, v in top_rows),
                       {c: int(v) for c, v in credits})


# --- Payments -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DunningRow:
    subscription_id: int
    number: str
    customer_id: int
    customer_name: str
    attempts: int
    started_on: date | None
    next_retry_on: date | None


@dataclass(frozen=True)
class PaymentFigures:
    collected: Mapping[str, int]  # in the window
    collected_before: Mapping[str, int]  # in the window of the same length before it
    refunded: Mapping[str, int]
    failed: Mapping[str, tuple[int, int]]  # currency -> (count, amount) tried in the window
    dunning_count: int
    dunning: tuple[DunningRow, ...]


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def payment_figures(session: Session, *, window: Window, dunning_limit: int = 10,
                    ) -> PaymentFigures:
    """Collected in the window vs the one before, refunds, failed attempts and the
    subscriptions in dunning with their retry dates: four statements."""
    before = window.previous
    in_window = and_(Payment.paid_on >= window.start, Payment.paid_on <= window.end)
    in_before = and_(Payment.paid_on >= before.start, Payment.paid_on <= before.end)
    rows = session.exec(
        select(Payment.currency,
               func.sum(case((and_(Payment.kind == "payment", in_window), Payment.amount),
                             else_=0)),
               func.sum(case((and_(Payment.kind == "payment", in_before), Payment.amount),
                             else_=0)),
               func.sum(case((and_(Payment.kind == "refund", in_window), Payment.amount),
                             else_=0)))
        .where(Payment.status == "succeeded", Payment.paid_on >= before.start,
               Payment.paid_on <= window.end)
        .group_by(Payment.currency).order_by(Payment.currency)).all()
    failed = session.exec(
        select(Payment.currency, func.count(), func.sum(Payment.amount))
        .where(Payment.status == "failed", Payment.created_at >= _instant(window.start),
               Payment.created_at < _instant(window.end + timedelta(days=1)))
        .group_by(Payment.currency).order_by(Payment.currency)).all()
    dunning_count = session.exec(select(func.count()).select_from(Subscription)
                                 .where(Subscription.status == "dunning")).one()
    dunning = session.exec(
        select(Subscription.id, Subscription.number, Subscription.customer_id,
               Customer.display_name, Subscription.dunning_attempts,
               Subscription.dunning_started_on, Subscription.next_retry_on)
        .join(Customer, Customer.id == Subscription.customer_id)
        .where(Subscription.status == "dunning")
        .order_by(col(Subscription.next_retry_on).is_(None), Subscription.next_retry_on,
                  Subscription.id).limit(dunning_limit)).all()
    return PaymentFigures(
        {c: int(a or 0) for c, a, _, _ in rows if a}, {c: int(b or 0) for c, _, b, _ in rows if b},
        {c: int(r or 0) for c, _, _, r in rows if r},
        {c: (int(n), int(s or 0)) for c, n, s in failed}, int(dunning_count),
        tuple(DunningRow(*row) for row in dunning))


# --- All of it ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class HomeFigures:
    window: Window
    mrr: Mapping[str, int]  # rounded half-up once
    arr: Mapping[str, int]
    history: Mapping[str, RevenueHistory]
    nrr: Mapping[str, Fraction]
    subscriptions: SubscriptionFigures
    receivables: Receivables
    payments: PaymentFigures
    activity: tuple[AuditRow, ...]
    cancellation_reasons: Mapping[str, int]  # the last 90 days


def home_figures(session: Session, *, at: Moment, window: Window,
                 reasons: tuple[str, ...] = ()) -> HomeFigures:
    """Everything the admin home shows (`reasons`: the cancellation reasons offered)."""
    rows = _mrr_rows(session, at.today)
    exact = _exact(rows)
    return HomeFigures(
        window, {c: half_up(v) for c, v in sorted(exact.items())},
        {c: half_up(12 * v) for c, v in sorted(exact.items())},
        revenue_history(session, at=at),
        net_revenue_retention(session, at=at, dens=_denominators(rows)),
        subscription_figures(session, at=at, window=window), receivables(session, at=at),
        payment_figures(session, window=window), portal_activity(session),
        cancellation_reasons(session, at=at, reasons=reasons))


# --- Portal activity ----------------------------------------------------------------------------

CANCELLED_ACTION = CUSTOMER_ACTION_PREFIX + SUBSCRIPTION_CANCELLED
OTHER_REASON = "Other"


def portal_activity(session: Session, *, limit: int = 20) -> tuple[AuditRow, ...]:
    """The customers' last actions, from the audit trail (newest first); one statement."""
    rows = session.exec(
        select(AuditEntry, Customer.display_name)
        .outerjoin(Customer, Customer.id == AuditEntry.customer_id)
        .where(col(AuditEntry.action).startswith(CUSTOMER_ACTION_PREFIX))
        .order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
        .limit(limit)).all()
    return tuple(AuditRow.of(entry, name) for entry, name in rows)


def cancellation_reasons(session: Session, *, at: Moment, reasons: tuple[str, ...],
                         days: int = 90) -> dict[str, int]:
    """How many cancellations (now or at the term's end) customers gave each reason for in
    the last `days` days, from the audit trail: the reasons offered, in their order, then
    "Other" (a reason since removed from the list); one statement."""
    since = datetime.combine(at.today - timedelta(days=days - 1), time(), tzinfo=UTC)
    found = session.exec(select(AuditEntry.after).where(
        AuditEntry.action == CANCELLED_ACTION, AuditEntry.created_at >= since)).all()
    counts = dict.fromkeys((*reasons, OTHER_REASON), 0)
    for after in found:
        given = str((after or {}).get("reason", ""))
        reason = next((r for r in reasons if given == r or given.startswith(r + ": ")),
                      OTHER_REASON)
        counts[reason] += 1
    if not counts[OTHER_REASON] and OTHER_REASON not in reasons:
        del counts[OTHER_REASON]
    return counts
