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

from sqlalchemy import Date, and_, bindparam, case, delete, func, literal, or_, union_all
from sqlmodel import Session, col, select

from webapp.models import (
    AuditEntry,
    CreditNote,
    Customer,
    Invoice,
    MrrCohort,
    MrrCohortDay,
    MrrCohortTotal,
    MrrMonth,
    MrrMovement,
    Payment,
    Subscription,
)
from webapp.services.admin.activity import AuditRow
from webapp.services.admin.lists import AGING, aging_condition, aging_params
from webapp.services.billing.mrr import COUNTED, KINDS, dialect_insert
from webapp.services.core import i18n
from webapp.services.core.dates import Moment, add_months
from webapp.services.core.i18n import N_
from webapp.services.core.listing import FilterReader
from webapp.services.core.notifications import CUSTOMER_ACTION_PREFIX, SUBSCRIPTION_CANCELLED

WINDOWS = {"month": N_("This month"), "30d": N_("Last 30 days"), "12m": N_("Last 12 months"),
           "custom": N_("Custom")}


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
        reader.messages.append(i18n._("Showing the last 30 days: a custom window needs a "
                                      "from date on or before its to date."))
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
                    now: Mapping[str, Fraction] | None = None) -> dict[str, RevenueHistory]:
    """MRR and its movements month by month for the last `months` months (this one last),
    per currency, from the months' sums (`MrrMonth`): one statement. The opening MRR is
    today's (`now`, else summed from the subscriptions) less the window's movements."""
    first = add_months(at.today.replace(day=1), -(months - 1))
    rows = session.exec(
        select(MrrMonth.currency, MrrMonth.kind, MrrMonth.month, MrrMonth.after_den,
               MrrMonth.before_den, MrrMonth.after_sum, MrrMonth.before_sum)
        .where(MrrMonth.month >= first)).all()
    sums = _fraction_sums(rows, lambda r: (r.currency, r.kind, _month_of(r.month)))
    today = now if now is not None else subscription_figures(
        session, at=at, window=Window("30d", at.today, at.today)).mrr
    starts = [add_months(first, index) for index in range(months)]
    result = {}
    for currency in sorted({c for c, _, _ in sums} | set(today)):
        moved = sum((v for (c, _, _), v in sums.items() if c == currency), Fraction(0))
        opening = today.get(currency, Fraction(0)) - moved
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


def _cohort(session: Session, then: date) -> dict[tuple[int, str], Fraction]:
    """Each customer's MRR at the end of `then` where it was above 0, exactly."""
    keys = (MrrMovement.customer_id, *_DELTA_GROUPS)
    rows = session.exec(
        select(*keys, func.sum(MrrMovement.after_num).label("after_sum"),
               func.sum(MrrMovement.before_num).label("before_sum"))
        .where(MrrMovement.moved_on <= then).group_by(*keys)).all()
    values = _fraction_sums(rows, lambda r: (r.customer_id, r.currency))
    return {key: value for key, value in values.items() if value > 0}


# A transaction writing movements commits within this long of its clock's reading (requests
# time out in 30 s; jobs commit per batch): a movement written more than this before a cohort
# was taken is visible to it.
COMMIT_BOUND = timedelta(minutes=5)


def _delta_sums(rows) -> dict[tuple[int, str], Fraction]:
    return _fraction_sums(rows, lambda r: (r.customer_id, r.currency))


def _take_cohort(session: Session, day: date, then: date, now: datetime) -> bool:
    """Store the day's cohort: each customer with MRR at the end of `then` and that MRR, and
    per currency their MRR then and now over the movements written so far (up to the last
    id, and up to `COMMIT_BOUND` before now: a movement being written may hold a lower id
    than the last committed one; later views add every movement outside both). Nothing is
    stored when another request is storing it; the previous days' are dropped."""
    last = session.exec(select(func.coalesce(func.max(MrrMovement.id), 0))).one()
    cutoff = now - COMMIT_BOUND
    taken = session.execute(dialect_insert(session)(MrrCohortDay)
                            .values(day=day, last_movement_id=last, cutoff=cutoff, made_at=now)
                            .on_conflict_do_nothing(index_elements=["day"]))
    if not taken.rowcount:
        return False
    cohort = _cohort(session, then)
    keys = (MrrMovement.customer_id, *_DELTA_GROUPS)
    seen = session.exec(
        select(*keys, func.sum(MrrMovement.after_num).label("after_sum"),
               func.sum(MrrMovement.before_num).label("before_sum"))
        .where(MrrMovement.id <= last, MrrMovement.created_at <= cutoff)
        .group_by(*keys)).all()
    now_values = _delta_sums(seen)
    totals: dict[str, list[Fraction]] = defaultdict(lambda: [Fraction(0), Fraction(0)])
    for (customer_id, currency), value in cohort.items():
        totals[currency][0] += value
        totals[currency][1] += now_values.get((customer_id, currency), Fraction(0))
    if cohort:
        session.execute(MrrCohort.__table__.insert(), [
            {"day": day, "customer_id": customer_id, "currency": currency,
             "then_num": value.numerator, "then_den": value.denominator}
            for (customer_id, currency), value in sorted(cohort.items())])
        session.execute(MrrCohortTotal.__table__.insert(), [
            {"day": day, "currency": currency, "then_num": then.numerator,
             "then_den": then.denominator, "now_num": now_v.numerator,
             "now_den": now_v.denominator}
            for currency, (then, now_v) in sorted(totals.items())])
    for table in (MrrCohort, MrrCohortTotal, MrrCohortDay):
        session.execute(delete(table).where(table.day < day))
    return True


def _forget_day(session: Session, day: date) -> None:
    for table in (MrrCohort, MrrCohortTotal, MrrCohortDay):
        session.execute(delete(table).where(table.day == day))


def retention(session: Session, *, at: Moment) -> dict[str, Fraction]:
    """Net revenue retention exactly as `net_revenue_retention` defines it, without summing
    every movement on every view. Who had MRR 12 months ago, and how much, cannot change
    during a day (it is about a day a year back); so the first view of a day stores that
    cohort with its MRR then and now (`_take_cohort`), and every view adds the cohort's
    movements written since: one statement. A movement dated a year back written since (a
    backfill) makes the view take the cohort again."""
    then = add_months(at.today, -12)
    for _ in range(2):
        found = _cohort_view(session, at.today, then)
        if found is not None:
            return found
        if not _take_cohort(session, at.today, then, at.now):
            break  # another view is taking it: sum this one from the movements
    return net_revenue_retention(session, at=at)


def _cohort_view(session: Session, day: date, then: date) -> dict[str, Fraction] | None:
    """The day's retention from its stored cohort and the movements since; None when there
    is no usable cohort (then the stale one, if any, is dropped)."""
    day_row = (select(literal("day").label("part"), literal("").label("currency"),
                      literal(0).label("a"), literal(0).label("b"), literal(0).label("c"),
                      literal(0).label("d"), literal(0).label("old"))
               .where(MrrCohortDay.day == day))
    totals = (select(literal("total"), MrrCohortTotal.currency, MrrCohortTotal.then_num,
                     MrrCohortTotal.then_den, MrrCohortTotal.now_num, MrrCohortTotal.now_den,
                     literal(0))
              .where(MrrCohortTotal.day == day))
    # Written since the cohort was taken and dated a year back: the cohort misses it. (One
    # written before, within COMMIT_BOUND, is in it: it was summed from every movement then.)
    late = and_(MrrMovement.moved_on <= then, MrrMovement.id > MrrCohortDay.last_movement_id)
    old = case((late, 1), else_=0)
    moves = (select(literal("move"), MrrMovement.currency, func.sum(MrrMovement.after_num),
                    MrrMovement.after_den, func.sum(MrrMovement.before_num),
                    MrrMovement.before_den, func.max(old))
             .join(MrrCohortDay, MrrCohortDay.day == day)
             .join(MrrCohort, and_(MrrCohort.day == day,
                                   MrrCohort.customer_id == MrrMovement.customer_id,
                                   MrrCohort.currency == MrrMovement.currency), isouter=True)
             .where(or_(MrrMovement.id > MrrCohortDay.last_movement_id,
                        MrrMovement.created_at > MrrCohortDay.cutoff))
             .where(or_(col(MrrCohort.id).is_not(None), late))
             .group_by(MrrMovement.currency, MrrMovement.after_den, MrrMovement.before_den,
                       col(MrrCohort.id).is_(None)))
    rows = session.execute(union_all(day_row, totals, moves)).all()
    if not rows or any(part == "move" and stale for part, *_, stale in rows):
        if rows:
            _forget_day(session, day)
        return None
    then_sums: dict[str, Fraction] = defaultdict(Fraction)
    now_sums: dict[str, Fraction] = defaultdict(Fraction)
    for part, currency, a, b, c, d, _ in rows:
        if part == "total":
            then_sums[currency] += Fraction(int(a), int(b))
            now_sums[currency] += Fraction(int(c), int(d))
        elif part == "move":
            now_sums[currency] += Fraction(int(a), int(b)) - Fraction(int(c), int(d))
    return {currency: now_sums[currency] / value
            for currency, value in sorted(then_sums.items()) if value}


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
    mrr: Mapping[str, Fraction] = field(default_factory=dict)  # exact, per currency


def subscription_figures(session: Session, *, at: Moment, window: Window) -> SubscriptionFigures:
    """Counts and MRR by status, the window's cancellations, the trials ending, and the
    renewals of the next 7 and 30 days with their amounts: one pass over the subscriptions,
    which carry their MRR and amount as last recorded (`billing.mrr.record`)."""
    today = at.today

    def within(days: int):
        return and_(Subscription.status == "live", Subscription.next_billing_date >= today,
                    Subscription.next_billing_date <= today + timedelta(days=days))

    def when(condition, value=1):
        return func.sum(case((condition, value), else_=0))

    rows = session.exec(
        select(Subscription.status, Subscription.currency, Subscription.mrr_den,
               func.count().label("n"), func.sum(Subscription.mrr_num).label("mrr_sum"),
               when(and_(Subscription.cancelled_on >= window.start,
                         Subscription.cancelled_on <= window.end)).label("cancelled"),
               when(and_(Subscription.trial_end >= today,
                         Subscription.trial_end <= today + timedelta(days=7))).label("trials"),
               when(within(7)).label("n7"),
               when(within(7), Subscription.mrr_amount).label("amount_7"),
               when(within(30)).label("n30"),
               when(within(30), Subscription.mrr_amount).label("amount_30"))
        .group_by(Subscription.status, Subscription.currency, Subscription.mrr_den)).all()
    counts: dict[str, int] = defaultdict(int)
    mrr: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
    renewals: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    cancelled = trials = 0
    for row in rows:
        counts[row.status] += int(row.n)
        if row.status in COUNTED and row.mrr_sum:
            mrr[row.status, row.currency] += Fraction(int(row.mrr_sum), row.mrr_den)
        cancelled += int(row.cancelled or 0) if row.status == "cancelled" else 0
        trials += int(row.trials or 0) if row.status == "trial" else 0
        for days, n, amount in ((7, row.n7, row.amount_7), (30, row.n30, row.amount_30)):
            renewals[days, row.currency][0] += int(n or 0)
            renewals[days, row.currency][1] += int(amount or 0)
    total: dict[str, Fraction] = defaultdict(Fraction)
    for (_, currency), value in mrr.items():
        total[currency] += value
    return SubscriptionFigures(
        {s: StatusFigure(counts.get(s, 0), {c: half_up(v) for (st, c), v in sorted(mrr.items())
                                            if st == s and v})
         for s in STATUS_PANEL}, cancelled, trials,
        {c: tuple(v) for (d, c), v in sorted(renewals.items()) if d == 7 and v[0]},
        {c: tuple(v) for (d, c), v in sorted(renewals.items()) if d == 30 and v[0]},
        counts.get("non_renewing", 0), {c: v for c, v in sorted(total.items()) if v})


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
                    dunning_count: int | None = None) -> PaymentFigures:
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
    if dunning_count is None:  # the home has it from the counts by status
        dunning_count = session.exec(select(func.count()).select_from(Subscription)
                                     .where(Subscription.status == "dunning")).one()
    dunning = session.exec(
        select(Subscription.id, Subscription.number, Subscription.customer_id,
               Customer.display_name, Subscription.dunning_attempts,
               Subscription.dunning_started_on, Subscription.next_retry_on)
        .join(Customer, Customer.id == Subscription.customer_id)
        .where(Subscription.status == "dunning")
        .order_by(col(Subscription.next_retry_on).nulls_last(),
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
    subscriptions = subscription_figures(session, at=at, window=window)
    exact = subscriptions.mrr
    return HomeFigures(
        window, {c: half_up(v) for c, v in exact.items()},
        {c: half_up(12 * v) for c, v in exact.items()},
        revenue_history(session, at=at, now=exact), retention(session, at=at),
        subscriptions, receivables(session, at=at),
        payment_figures(session, window=window,
                        dunning_count=subscriptions.by_status["dunning"].count),
        portal_activity(session),
        cancellation_reasons(session, at=at, reasons=reasons))


# --- Portal activity ----------------------------------------------------------------------------

CANCELLED_ACTION = CUSTOMER_ACTION_PREFIX + SUBSCRIPTION_CANCELLED
OTHER_REASON = N_("Other")  # a key of the counts; translated where shown (the reasons chart)


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
