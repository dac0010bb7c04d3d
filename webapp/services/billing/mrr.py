"""A subscription's monthly recurring revenue, and its movements as they happen (issue 31).

**A subscription's MRR**: its recurring amount per term (plan + recurring addons × quantities,
net of ongoing coupons — those that last `forever` —, tax excluded) ÷ months per term, as an
exact fraction: a month is 1, a year 12, a week 12/52 of a month, a day 12/365. It counts
while the subscription is live, non-renewing or in dunning; otherwise it is 0.

**Movements**: every transaction that changes a subscription's state or items notes it
(`state_machine.changed`: every transition does; so do a new subscription and a coupon put on
one). Before the commit, `record_changed` compares each noted subscription's MRR with its last
recorded one and writes a `MrrMovement` row when it moved: *new* (counted for the first time),
*expansion* / *contraction* (a counted subscription's MRR went up / down), *churn* (from
counted to cancelled, expired, paused or unpaid), *reactivation* (back to counted). The row
is in the same transaction as the change, so a rolled back change leaves none.

**Backfill** (`backfill`): for subscriptions older than the table, the history is rebuilt from
their term invoices (first term, renewal, reactivation), marked `estimated`. It is approximate:
a term's recurring amount is taken from its invoice's plan, addon and discount lines (a
one-time coupon on it counts as if ongoing); a mid-term change shows at the next term's
invoice, not on its day; every term is read with the plan's current interval; a gap between
one term's end and the next term's start is a churn and a reactivation; the last counted term
is set to the subscription's MRR today, and one that no longer counts churns on its
cancellation day (else its last term's end).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction

from sqlalchemy import case, delete, event, func, update
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from webapp.models import (
    Invoice,
    InvoiceLine,
    MrrCohort,
    MrrCohortDay,
    MrrCohortTotal,
    MrrMonth,
    MrrMovement,
    Organization,
    Subscription,
)
from webapp.services.billing.catalog import SubscriptionItems, subscription_items
from webapp.services.billing.pricing import price
from webapp.services.core import state_machine
from webapp.services.core.dates import today_in

COUNTED = ("live", "non_renewing", "dunning")
KINDS = ("new", "expansion", "contraction", "churn", "reactivation")
# Month-equivalents per term = count × 12 / MONTH_FACTOR[unit] ÷ 12: MRR = amount × factor
# ÷ (12 × count). A week is 12/52 of a month, a day 12/365.
MONTH_FACTOR = {"month": 12, "year": 1, "week": 52, "day": 365}
_TERM_KINDS = ("first_term", "renewal", "reactivation")
_RECURRING_LINES = ("plan", "addon", "discount")


@dataclass(frozen=True)
class Mrr:
    """An MRR as numerator / denominator (not reduced: rows of one plan interval share a
    denominator, so sums group by it)."""

    num: int
    den: int

    @property
    def value(self) -> Fraction:
        return Fraction(self.num, self.den)


ZERO = Mrr(0, 12)


def of_amount(amount: int, unit: str, count: int) -> Mrr:
    """The MRR of `amount` per term of `count` `unit`s."""
    return Mrr(amount * MONTH_FACTOR[unit], 12 * max(count, 1))


def recurring_amount(items: SubscriptionItems) -> int:
    """A term's recurring amount: plan and recurring addons, less the coupons that last
    forever, before tax."""
    ongoing = [c.discount() for c in items.coupons if c.coupon.duration == "forever"]
    return price(items.recurring_charges(), ongoing).subtotal


def subscription_mrr(status: str, items: SubscriptionItems) -> tuple[Mrr, int]:
    """(MRR, amount per term) of a subscription in `status` with these items."""
    if status not in COUNTED:
        return ZERO, 0
    amount = recurring_amount(items)
    return of_amount(amount, items.plan.interval_unit, items.plan.interval_count), amount


def movement(*, last: MrrMovement | None, counted: bool, mrr: Mrr) -> str | None:
    """The kind of movement from the last recorded row to now (None: nothing moved)."""
    was_counted = last is not None and last.kind != "churn"
    if counted and not was_counted:
        return "new" if last is None else "reactivation"
    if was_counted and not counted:
        return "churn"
    if counted:
        before = Fraction(last.after_num, last.after_den)
        if mrr.value > before:
            return "expansion"
        if mrr.value < before:
            return "contraction"
    return None


def _last_rows(session: Session, subscription_ids: Iterable[int]) -> dict[int, MrrMovement]:
    latest = (select(func.max(MrrMovement.id))
              .where(col(MrrMovement.subscription_id).in_(list(subscription_ids)))
              .group_by(MrrMovement.subscription_id))
    rows = session.exec(select(MrrMovement).where(col(MrrMovement.id).in_(latest))).all()
    return {row.subscription_id: row for row in rows}


def record(session: Session, changed: dict[int, datetime], *, timezone: str) -> list[MrrMovement]:
    """Write the movement of each changed subscription whose MRR moved (`changed`: id → the
    instant of its change); four statements for any number."""
    subs = list(session.exec(select(Subscription).where(
        col(Subscription.id).in_(list(changed)))).all())
    items = subscription_items(session, subs)
    last = _last_rows(session, changed)
    written = []
    for sub in subs:
        counted = sub.status in COUNTED
        mrr, amount = subscription_mrr(sub.status, items[sub.id])
        previous = last.get(sub.id)
        kind = movement(last=previous, counted=counted, mrr=mrr)
        if kind is None:
            continue
        counted_before = previous is not None and previous.kind != "churn"
        before = Mrr(previous.after_num, previous.after_den) if counted_before else ZERO
        now = changed[sub.id]
        row = MrrMovement(subscription_id=sub.id, customer_id=sub.customer_id,
                          currency=sub.currency, moved_on=today_in(timezone, now), kind=kind,
                          before_num=before.num, before_den=before.den, after_num=mrr.num,
                          after_den=mrr.den,
                          before_amount=previous.after_amount if counted_before else 0,
                          after_amount=amount, created_at=now)
        session.add(row)
        written.append(row)
        sub.mrr_num, sub.mrr_den, sub.mrr_amount = mrr.num, mrr.den, amount
    session.flush()
    roll_up(session, written)
    return written


def _month_key(row: MrrMovement) -> tuple:
    return (row.moved_on.replace(day=1), row.currency, row.kind, row.after_den, row.before_den)


def roll_up(session: Session, rows: Iterable[MrrMovement]) -> None:
    """Add movement rows to their months' sums (`MrrMonth`), one upsert per month and kind,
    in key order (two transactions adding to the same months never wait on each other in a
    circle)."""
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        total = sums[_month_key(row)]
        total[0] += row.after_num
        total[1] += row.before_num
        total[2] += 1
    if not sums:
        return
    insert = dialect_insert(session)
    for (month, currency, kind, after_den, before_den), (after, before, n) in sorted(sums.items()):
        statement = insert(MrrMonth).values(
            month=month, currency=currency, kind=kind, after_den=after_den,
            before_den=before_den, after_sum=after, before_sum=before, movements=n)
        session.execute(statement.on_conflict_do_update(
            index_elements=["month", "currency", "kind", "after_den", "before_den"],
            set_={"after_sum": MrrMonth.after_sum + statement.excluded.after_sum,
                  "before_sum": MrrMonth.before_sum + statement.excluded.before_sum,
                  "movements": MrrMonth.movements + statement.excluded.movements}))


def dialect_insert(session: Session):
    """INSERT … ON CONFLICT, which PostgreSQL and SQLite write alike."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def rebuild_sums(session: Session) -> None:
    """Recompute the month sums and each subscription's recorded MRR from the movements (after
    a backfill, or for a database older than them): a constant number of statements."""
    session.exec(delete(MrrMonth))
    month_rows = session.exec(
        select(MrrMovement.moved_on, MrrMovement.currency, MrrMovement.kind,
               MrrMovement.after_den, MrrMovement.before_den,
               func.sum(MrrMovement.after_num), func.sum(MrrMovement.before_num), func.count())
        .group_by(MrrMovement.moved_on, MrrMovement.currency, MrrMovement.kind,
                  MrrMovement.after_den, MrrMovement.before_den)).all()
    months: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for day, currency, kind, after_den, before_den, after, before, n in month_rows:
        total = months[(day.replace(day=1), currency, kind, after_den, before_den)]
        total[0] += int(after)
        total[1] += int(before)
        total[2] += int(n)
    session.add_all(MrrMonth(month=m, currency=c, kind=k, after_den=a, before_den=b,
                             after_sum=x, before_sum=y, movements=n)
                    for (m, c, k, a, b), (x, y, n) in sorted(months.items()))
    newer = aliased(MrrMovement)
    last = (select(func.max(newer.id)).where(newer.subscription_id == Subscription.id)
            .correlate(Subscription).scalar_subquery())

    def latest(column, *, zero_on_churn: bool = True):
        value = case((MrrMovement.kind == "churn", 0), else_=column) if zero_on_churn \
            else column
        return select(value).where(MrrMovement.id == last).scalar_subquery()

    session.exec(update(Subscription).values(
        mrr_num=func.coalesce(latest(MrrMovement.after_num), 0),
        mrr_den=func.coalesce(latest(MrrMovement.after_den, zero_on_churn=False), 12),
        mrr_amount=func.coalesce(latest(MrrMovement.after_amount), 0)))
    forget_cohorts(session)


def forget_cohorts(session: Session) -> None:
    """Drop the retention cohorts taken (`admin.metrics`), after movements were written in
    the past."""
    for table in (MrrCohort, MrrCohortTotal, MrrCohortDay):
        session.exec(delete(table))
    session.flush()


def record_changed(session: Session) -> list[MrrMovement]:
    """Record the movements of the subscriptions this transaction noted as changed."""
    changed = session.info.pop(state_machine.CHANGED, None)
    if not changed:
        return []
    org = session.get(Organization, 1)
    return record(session, changed, timezone=org.timezone if org else "UTC")


def _before_commit(session: OrmSession) -> None:
    if session.info.get(state_machine.CHANGED):
        record_changed(session)


def _after_rollback(session: OrmSession) -> None:
    session.info.pop(state_machine.CHANGED, None)


def install() -> None:
    """Record the noted movements before every commit, on every session (web, worker, CLI,
    tests); forget them on a rollback. Called once by webapp/db.py."""
    if not event.contains(OrmSession, "before_commit", _before_commit):
        event.listen(OrmSession, "before_commit", _before_commit)
        event.listen(OrmSession, "after_rollback", _after_rollback)


# --- Backfill -----------------------------------------------------------------------------------

def _term_amounts(session: Session, subscription_ids: list[int]) -> dict[int, list[tuple]]:
    """Each subscription's term invoices as (period start, period end, recurring amount), in
    order; one statement."""
    amount = func.coalesce(func.sum(InvoiceLine.amount), 0)
    rows = session.exec(
        select(Invoice.subscription_id, Invoice.period_start, Invoice.period_end, amount)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(col(Invoice.subscription_id).in_(subscription_ids),
               col(Invoice.kind).in_(_TERM_KINDS), Invoice.status != "void",
               col(Invoice.period_start).is_not(None),
               col(InvoiceLine.kind).in_(_RECURRING_LINES))
        .group_by(Invoice.id, Invoice.subscription_id, Invoice.period_start,
                  Invoice.period_end)
        .order_by(Invoice.subscription_id, Invoice.period_start, Invoice.id)).all()
    terms: dict[int, list[tuple]] = defaultdict(list)
    for subscription_id, start, end, total in rows:
        terms[subscription_id].append((start, end or start, int(total)))
    return terms


def _history(sub: Subscription, items: SubscriptionItems, terms: list[tuple],
             today: date) -> list[tuple[date, str, Mrr, int]]:
    """(day, kind, MRR after, amount after) rebuilt for one subscription."""
    unit, count = items.plan.interval_unit, items.plan.interval_count
    now_mrr, now_amount = subscription_mrr(sub.status, items)
    counted_now = sub.status in COUNTED
    steps: list[tuple[date, Mrr, int]] = []  # (day, MRR from that day, amount); ZERO: churned
    previous_end = None
    for start, end, amount in terms:
        if start > today:
            break
        # A term's period may end on its last day or on the next term's first: a day more
        # between them is a gap.
        if previous_end is not None and start > previous_end + timedelta(days=1):
            steps.append((previous_end, ZERO, 0))
        steps.append((start, of_amount(amount, unit, count), amount))
        previous_end = end
    if counted_now:
        if not steps or steps[-1][1] is ZERO:
            steps.append((sub.current_term_start or sub.start_date, now_mrr, now_amount))
        else:
            steps[-1] = (steps[-1][0], now_mrr, now_amount)
    elif steps and steps[-1][1] is not ZERO:
        ended = sub.cancelled_on or previous_end or today
        steps.append((min(ended, today), ZERO, 0))
    history, before, seen = [], None, False
    for day, mrr, amount in steps:
        counted = mrr is not ZERO
        if counted and (before is None):
            kind = "reactivation" if seen else "new"
        elif not counted and before is not None:
            kind = "churn"
        elif counted and mrr.value != before.value:
            kind = "expansion" if mrr.value > before.value else "contraction"
        else:
            continue
        history.append((day, kind, mrr, amount))
        seen = True
        before = mrr if counted else None
    return history


def backfill(session: Session, *, now: datetime) -> int:
    """Rebuild the movements of every subscription that has none, from its invoices
    (approximate: see the module's notes), marked `estimated`; returns the rows written.
    A constant number of statements per 1,000 subscriptions."""
    org = session.get(Organization, 1)
    today = today_in(org.timezone if org else "UTC", now)
    recorded = select(MrrMovement.subscription_id).distinct()
    written = 0
    after = 0
    while True:
        subs = list(session.exec(
            select(Subscription).where(col(Subscription.id).not_in(recorded),
                                       Subscription.id > after)
            .order_by(Subscription.id).limit(1000)).all())
        if not subs:
            if written:  # rows in the past: the retention cohorts taken so far are stale
                forget_cohorts(session)
            return written
        after = subs[-1].id
        items = subscription_items(session, subs)
        terms = _term_amounts(session, [s.id for s in subs])
        rows = []
        for sub in subs:
            before, before_amount = ZERO, 0
            for day, kind, mrr, amount in _history(sub, items[sub.id], terms.get(sub.id, []),
                                                   today):
                rows.append(MrrMovement(
                    subscription_id=sub.id, customer_id=sub.customer_id, currency=sub.currency,
                    moved_on=day, kind=kind, before_num=before.num, before_den=before.den,
                    after_num=mrr.num, after_den=mrr.den, before_amount=before_amount,
                    after_amount=amount, estimated=True, created_at=now))
                before, before_amount = mrr, amount
            sub.mrr_num, sub.mrr_den, sub.mrr_amount = before.num, before.den, before_amount
        session.add_all(rows)
        session.flush()
        roll_up(session, rows)
        written += len(rows)
