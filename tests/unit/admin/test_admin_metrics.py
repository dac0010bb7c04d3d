"""The admin home's figures (issue 31) against hand-computed values on a small fixed data set:
MRR as exact fractions (a yearly plan is 1/12 a month, a weekly one 52/12), the movements
recorded by the transactions that change subscriptions, reconciling month by month, two
currencies apart, net revenue retention, aging on its boundaries, payments 30 vs 30."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from sqlmodel import select

from tests.factories import make_customer, make_invoice, make_plan, make_subscription, moment_on
from webapp.demo import seed_organization
from webapp.models import (
    Addon,
    AddonPrice,
    Coupon,
    MrrMovement,
    Payment,
    SubscriptionAddon,
    SubscriptionCoupon,
)
from webapp.services.admin import metrics
from webapp.services.billing import mrr
from webapp.services.core import state_machine

TODAY = date(2026, 11, 26)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@pytest.fixture
def org(session, now):
    org = seed_organization(session, now=now)
    org.timezone = "UTC"
    session.commit()
    return org


def _start(session, customer, plan, day: date):
    """A subscription that goes live on `day` (a transition, so its movement is recorded)."""
    sub = make_subscription(session, customer=customer, now=at(day), status="future",
                            start=day, plan=plan)
    state_machine.transition(session, sub, "start", "live", now=at(day))
    session.commit()
    return sub


def _moves(session, sub) -> list[tuple[str, date]]:
    return [(m.kind, m.moved_on) for m in session.exec(
        select(MrrMovement).where(MrrMovement.subscription_id == sub.id)
        .order_by(MrrMovement.id))]


def test_a_subscription_mrr_is_an_exact_fraction_of_its_term():
    assert mrr.of_amount(12_000, "year", 1).value == 1000
    assert mrr.of_amount(1000, "month", 3).value == Fraction(1000, 3)
    assert mrr.of_amount(700, "week", 1).value == Fraction(700 * 52, 12)
    assert mrr.of_amount(100, "day", 1).value == Fraction(36_500, 12)
    assert metrics.half_up(Fraction(1, 2)) == 1 and metrics.half_up(Fraction(-1, 2)) == -1
    assert metrics.half_up(Fraction(30333, 10)) == 3033


def test_mrr_sums_live_non_renewing_and_dunning_per_currency_rounded_once(session, org):
    usd = make_customer(session, now=at(TODAY), email="u@example.com")
    eur = make_customer(session, now=at(TODAY), email="e@example.com", currency="EUR")
    yearly = make_plan(session, now=at(TODAY), code="yearly", amount=10_001, unit="year")
    monthly = make_plan(session, now=at(TODAY), code="monthly", amount=1000)
    monthly_eur = make_plan(session, now=at(TODAY), code="monthly-eur", amount=2000,
                            currency="EUR")
    _start(session, usd, yearly, date(2026, 10, 1))
    _start(session, usd, yearly, date(2026, 10, 2))
    _start(session, usd, monthly, date(2026, 10, 3))
    _start(session, eur, monthly_eur, date(2026, 11, 1))
    trial = make_subscription(session, customer=usd, now=at(TODAY), status="future",
                              start=TODAY, plan=monthly)
    state_machine.transition(session, trial, "start", "trial", now=at(TODAY))
    session.commit()
    exact = metrics.mrr_on(session, TODAY)
    # 2 × 10,001/12 + 1000 = 2666.83… → 2667, rounded once (per row: 833 + 833 + 1000 = 2666).
    assert exact == {"USD": Fraction(20_002, 12) + 1000, "EUR": Fraction(2000)}
    figures = metrics.home_figures(session, at=moment_on(TODAY),
                                   window=metrics.read_window({}, TODAY)[0])
    assert figures.mrr == {"EUR": 2000, "USD": 2667}
    assert figures.arr == {"EUR": 24_000, "USD": 32_002}
    assert figures.subscriptions.by_status["trial"].count == 1
    assert figures.subscriptions.by_status["live"].count == 4
    assert figures.subscriptions.by_status["live"].mrr == {"EUR": 2000, "USD": 2667}
    assert figures.subscriptions.trials_ending == 0


def test_movements_new_expansion_contraction_churn_reactivation_reconcile(session, org):
    customer = make_customer(session, now=at(TODAY))
    plan = make_plan(session, now=at(TODAY), code="monthly", amount=1000)
    seat = Addon(code="seat", name="Seat", created_at=at(TODAY))
    session.add(seat)
    session.flush()
    session.add(AddonPrice(addon_id=seat.id, currency="USD", unit_amount=500))
    sub = _start(session, customer, plan, date(2026, 6, 10))  # new: 1000
    link = SubscriptionAddon(subscription_id=sub.id, addon_id=seat.id, quantity=2)
    session.add(link)
    state_machine.changed(session, sub.id, now=at(date(2026, 7, 5)))
    session.commit()  # expansion: +1000 (two seats)
    link.quantity = 1
    state_machine.changed(session, sub.id, now=at(date(2026, 8, 5)))
    session.commit()  # contraction: −500
    state_machine.transition(session, sub, "cancel_now", "cancelled", now=at(date(2026, 9, 1)))
    session.commit()  # churn: −1500
    state_machine.transition(session, sub, "reactivate", "live", now=at(date(2026, 10, 20)))
    session.commit()  # reactivation: +1500
    state_machine.changed(session, sub.id, now=at(date(2026, 10, 21)))
    session.commit()  # nothing moved: no row
    assert _moves(session, sub) == [("new", date(2026, 6, 10)), ("expansion", date(2026, 7, 5)),
                                    ("contraction", date(2026, 8, 5)),
                                    ("churn", date(2026, 9, 1)),
                                    ("reactivation", date(2026, 10, 20))]
    history = metrics.revenue_history(session, at=moment_on(TODAY))["USD"]
    assert history.reconciles
    by_month = {m.month: m for m in history.months}
    assert len(history.months) == 12 and history.months[-1].month == date(2026, 11, 1)
    assert by_month[date(2026, 6, 1)].moves["new"] == 1000
    assert by_month[date(2026, 7, 1)].moves["expansion"] == 1000
    assert by_month[date(2026, 8, 1)].moves["contraction"] == -500
    assert by_month[date(2026, 9, 1)].moves["churn"] == -1500
    assert by_month[date(2026, 9, 1)].closing == 0
    assert by_month[date(2026, 10, 1)].moves["reactivation"] == 1500
    assert by_month[date(2026, 11, 1)].closing == 1500 == metrics.mrr_on(session, TODAY)["USD"]


def test_pausing_and_unpaid_churn_and_a_rolled_back_change_records_nothing(session, org):
    customer = make_customer(session, now=at(TODAY))
    plan = make_plan(session, now=at(TODAY), code="monthly", amount=1000)
    sub = _start(session, customer, plan, date(2026, 11, 1))
    state_machine.transition(session, sub, "pause", "paused", now=at(date(2026, 11, 2)))
    session.rollback()
    assert _moves(session, sub) == [("new", date(2026, 11, 1))]
    session.refresh(sub)
    state_machine.transition(session, sub, "pause", "paused", now=at(date(2026, 11, 3)))
    session.commit()
    state_machine.transition(session, sub, "resume", "live", now=at(date(2026, 11, 4)))
    session.commit()
    assert _moves(session, sub)[1:] == [("churn", date(2026, 11, 3)),
                                        ("reactivation", date(2026, 11, 4))]


def test_only_coupons_that_last_forever_reduce_mrr(session, org):
    customer = make_customer(session, now=at(TODAY))
    plan = make_plan(session, now=at(TODAY), code="monthly", amount=1000)
    sub = _start(session, customer, plan, date(2026, 11, 1))
    for code, duration in (("ONCE", "once"), ("LOYAL", "forever")):
        coupon = Coupon(code=code, name=code, discount_type="percentage", percent_bp=1000,
                        duration=duration, created_at=at(TODAY))
        session.add(coupon)
        session.flush()
        session.add(SubscriptionCoupon(subscription_id=sub.id, coupon_id=coupon.id,
                                       applied_at=at(TODAY)))
    state_machine.changed(session, sub.id, now=at(TODAY))
    session.commit()
    assert metrics.mrr_on(session, TODAY) == {"USD": 900}
    assert _moves(session, sub)[-1] == ("contraction", TODAY)


def test_net_revenue_retention_counts_only_customers_with_mrr_a_year_ago(session, org):
    kept, lost, big, _ = _retention_data(session)  # the third started in January: not counted
    kept.plan_id = big.id
    state_machine.changed(session, kept.id, now=at(date(2026, 3, 1)))
    session.commit()  # 1000 → 1500
    state_machine.transition(session, lost, "cancel_now", "cancelled", now=at(date(2026, 4, 1)))
    session.commit()
    # A year ago: 1000 + 1000; today those customers: 1500 + 0.
    assert metrics.net_revenue_retention(session, at=moment_on(TODAY)) == \
        {"USD": Fraction(1500, 2000)}


@pytest.mark.parametrize("days_past_due, bucket", [
    (-5, "current"), (0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"),
    (61, "61-90"), (90, "61-90"), (91, "90+"), (400, "90+")])
def test_aging_buckets_on_their_boundaries(session, org, days_past_due, bucket):
    customer = make_customer(session, now=at(TODAY))
    make_invoice(session, customer=customer, now=at(TODAY), amount=1234,
                 issue=TODAY - timedelta(days=days_past_due), due_days=0)
    session.commit()
    figures = metrics.receivables(session, at=moment_on(TODAY))
    assert figures.aging["USD"] == {name: 1234 if name == bucket else 0
                                    for name in metrics.AGING}
    assert figures.outstanding == {"USD": 1234}
    assert figures.overdue == {"USD": 1234 if days_past_due > 0 else 0}
    assert [row[3] for row in figures.top_overdue] == ([1234] if days_past_due > 0 else [])


def test_payments_in_the_window_against_the_window_before(session, org):
    customer = make_customer(session, now=at(TODAY))
    for day, amount, kind, status in ((TODAY, 100, "payment", "succeeded"),
                                      (TODAY - timedelta(days=29), 200, "payment", "succeeded"),
                                      (TODAY - timedelta(days=30), 400, "payment", "succeeded"),
                                      (TODAY - timedelta(days=59), 800, "payment", "succeeded"),
                                      (TODAY - timedelta(days=60), 1600, "payment", "succeeded"),
                                      (TODAY - timedelta(days=3), 50, "refund", "succeeded"),
                                      (TODAY - timedelta(days=2), 70, "payment", "failed")):
        session.add(Payment(customer_id=customer.id, kind=kind, status=status, amount=amount,
                            currency="USD", idempotency_key=f"k{amount}",
                            paid_on=day if status == "succeeded" else None,
                            created_at=at(day), updated_at=at(day)))
    session.commit()
    window = metrics.read_window({}, TODAY)[0]
    assert (window.start, window.end) == (TODAY - timedelta(days=29), TODAY)
    figures = metrics.payment_figures(session, window=window)
    assert figures.collected == {"USD": 300} and figures.collected_before == {"USD": 1200}
    assert figures.refunded == {"USD": 50} and figures.failed == {"USD": (1, 70)}


def test_the_window_reads_presets_and_custom_dates():
    assert metrics.read_window({"window": "month"}, TODAY)[0].start == date(2026, 11, 1)
    assert metrics.read_window({"window": "12m"}, TODAY)[0].start == date(2025, 12, 1)
    custom, messages = metrics.read_window(
        {"window": "custom", "from": "2026-01-01", "to": "2026-01-31"}, TODAY)
    assert (custom.start, custom.end, custom.days, messages) == \
        (date(2026, 1, 1), date(2026, 1, 31), 31, [])
    fallback, messages = metrics.read_window({"window": "custom", "from": "2026-02-01",
                                              "to": "2026-01-01"}, TODAY)
    assert fallback.key == "30d" and messages


def _term_invoice(session, sub, start: date, end: date, amount: int, kind: str = "renewal"):
    from webapp.services.billing import ledger
    from webapp.services.billing.pricing import Charge, price
    priced = price([Charge("plan", "Plan", 1, amount),
                    Charge("setup_fee", "Setup", 1, 999, discountable=False)],
                   tax_rate_bp=2000)
    return ledger.issue_invoice(session, customer_id=sub.customer_id, currency=sub.currency,
                                kind=kind, priced=priced, issue_date=start, due_date=start,
                                now=at(start), subscription_id=sub.id,
                                period=ledger.Period(start, end))


def test_the_backfill_rebuilds_history_from_term_invoices(session, org):
    customer = make_customer(session, now=at(TODAY))
    plan = make_plan(session, now=at(TODAY), code="monthly", amount=1200)
    # Live today at 1200; billed 1000 in June, 1200 from July, a gap in September.
    sub = make_subscription(session, customer=customer, now=at(TODAY), start=date(2026, 6, 1),
                            plan=plan)
    for start, amount, kind in ((date(2026, 6, 1), 1000, "first_term"),
                                (date(2026, 7, 1), 1200, "renewal"),
                                (date(2026, 8, 1), 1200, "renewal"),
                                (date(2026, 10, 15), 1200, "reactivation"),
                                (date(2026, 11, 15), 1200, "renewal")):
        _term_invoice(session, sub, start, start + timedelta(days=30), amount, kind)
    # Cancelled after two terms, never billed again.
    ended = make_subscription(session, customer=customer, now=at(TODAY), status="cancelled",
                              start=date(2026, 3, 1), plan=plan)
    ended.cancelled_on = date(2026, 4, 20)
    for start in (date(2026, 3, 1), date(2026, 4, 1)):
        _term_invoice(session, ended, start, start + timedelta(days=30), 1200)
    session.commit()
    written = mrr.backfill(session, now=at(TODAY))
    assert written == 6
    assert mrr.backfill(session, now=at(TODAY)) == 0  # once
    session.commit()
    assert _moves(session, sub) == [("new", date(2026, 6, 1)), ("expansion", date(2026, 7, 1)),
                                    ("churn", date(2026, 8, 31)),  # the gap
                                    ("reactivation", date(2026, 10, 15))]
    assert _moves(session, ended) == [("new", date(2026, 3, 1)), ("churn", date(2026, 4, 20))]
    rows = session.exec(select(MrrMovement)).all()
    assert all(row.estimated for row in rows)
    assert metrics.mrr_on(session, TODAY) == {"USD": 1200}
    assert metrics.revenue_history(session, at=moment_on(TODAY))["USD"].reconciles


def _retention_data(session):
    """Two customers with MRR a year before TODAY, one who came later."""
    old = make_customer(session, now=at(TODAY), email="old@example.com")
    gone = make_customer(session, now=at(TODAY), email="gone@example.com")
    young = make_customer(session, now=at(TODAY), email="young@example.com")
    plan = make_plan(session, now=at(TODAY), code="monthly", amount=1000)
    big = make_plan(session, now=at(TODAY), code="big", amount=1500)
    kept = _start(session, old, plan, date(2025, 6, 1))
    lost = _start(session, gone, plan, date(2025, 6, 1))
    newer = _start(session, young, big, date(2026, 1, 1))
    return kept, lost, big, newer


def test_the_stored_cohort_gives_the_definitions_figure_as_movements_come(session, org):
    """`retention` (the home's: a cohort stored once a day plus the movements since) equals
    `net_revenue_retention` (every movement summed) after each change, in one statement."""
    from tests.web.app.test_query_counts import count_queries
    kept, lost, big, newer = _retention_data(session)
    today = moment_on(TODAY)
    assert metrics.retention(session, at=today) == {"USD": 1} == \
        metrics.net_revenue_retention(session, at=today)
    session.commit()
    kept.plan_id = big.id
    state_machine.changed(session, kept.id, now=at(TODAY))
    session.commit()  # a cohort customer expands: 1000 → 1500
    state_machine.transition(session, newer, "cancel_now", "cancelled", now=at(TODAY))
    session.commit()  # not in the cohort: no effect
    engine = session.get_bind()
    with count_queries(engine) as statements:
        figure = metrics.retention(session, at=today)
    assert figure == {"USD": Fraction(2500, 2000)} == \
        metrics.net_revenue_retention(session, at=today)
    assert len([s for s in statements if s != "BEGIN"]) == 1
    state_machine.transition(session, lost, "cancel_now", "cancelled", now=at(TODAY))
    session.commit()
    assert metrics.retention(session, at=today) == {"USD": Fraction(1500, 2000)} == \
        metrics.net_revenue_retention(session, at=today)


def test_a_movement_dated_a_year_back_after_the_cohort_retakes_it(session, org):
    kept, lost, big, newer = _retention_data(session)
    today = moment_on(TODAY)
    metrics.retention(session, at=today)
    session.commit()
    newcomer = make_customer(session, now=at(TODAY), email="late@example.com")
    plan = session.get(type(big), kept.plan_id)
    _start(session, newcomer, plan, date(2025, 5, 1))  # written today, dated before then
    assert metrics.retention(session, at=today) == {"USD": 1} == \
        metrics.net_revenue_retention(session, at=today)
    from webapp.models import MrrCohort
    assert len(session.exec(select(MrrCohort)).all()) == 3


def test_a_movement_committed_late_below_the_last_id_still_counts(session, org):
    """A movement holding an id below the last one seen when the cohort was taken, but
    written within COMMIT_BOUND of it, is added by the views, never lost."""
    from webapp.models import MrrCohortDay
    kept, lost, big, newer = _retention_data(session)
    today = moment_on(TODAY)
    metrics.retention(session, at=today)
    session.commit()
    mark = session.get(MrrCohortDay, TODAY)
    mark.last_movement_id += 1000  # as if later ids had been seen first
    session.commit()
    kept.plan_id = big.id
    state_machine.changed(session, kept.id, now=at(TODAY))  # written after the cutoff
    session.commit()
    assert metrics.retention(session, at=today) == {"USD": Fraction(2500, 2000)} == \
        metrics.net_revenue_retention(session, at=today)


def test_the_subscriptions_recorded_mrr_and_the_month_sums_match_the_movements(session, org):
    """What the home sums (each subscription's recorded MRR, `MrrMonth`) equals the
    movements, as written and as rebuilt from them."""
    from webapp.models import MrrMonth, Subscription
    kept, lost, big, newer = _retention_data(session)
    kept.plan_id = big.id
    state_machine.changed(session, kept.id, now=at(date(2026, 3, 1)))
    session.commit()
    state_machine.transition(session, lost, "cancel_now", "cancelled", now=at(date(2026, 4, 1)))
    session.commit()

    def state():
        subs = {s.id: (s.mrr_num, s.mrr_den, s.mrr_amount)
                for s in session.exec(select(Subscription))}
        months = sorted((m.month, m.kind, m.after_sum, m.before_sum, m.movements)
                        for m in session.exec(select(MrrMonth)))
        return subs, months

    written = state()
    assert written[0][kept.id] == (18_000, 12, 1500) and written[0][lost.id] == (0, 12, 0)
    assert (date(2026, 3, 1), "expansion", 18_000, 12_000, 1) in written[1]
    assert (date(2025, 6, 1), "new", 24_000, 0, 2) in written[1]
    mrr.rebuild_sums(session)
    session.commit()
    assert state() == written
    figures = metrics.subscription_figures(session, at=moment_on(TODAY),
                                           window=metrics.read_window({}, TODAY)[0])
    assert figures.mrr == metrics.mrr_on(session, TODAY) == {"USD": 3000}
