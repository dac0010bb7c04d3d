"""Issue 22's clock walks: at least 400 days each, on SQLite and on PostgreSQL.

A scheduler outage in the middle of dunning, trial extensions ending before and after the
anchor day, the demo's paused subscription resuming, and an unpaid subscription paid three
months later. Each walk runs the real tick and charges day by day (tests/walk.py) and checks
the ledger identity every week and where it stops.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from tests.unit.subscriptions.test_lifecycle import _customer, _plan, _sub, _subscribe
from tests.walk import DECLINED_CARD, GOOD_CARD, Walk
from webapp import demo
from webapp.models import Invoice, OutboxMessage, Preferences, Subscription
from webapp.services.billing import charges
from webapp.services.billing.gateway import CardDetails
from webapp.services.payments import pay
from webapp.services.subscriptions import actions

DAYS = 400


def _walk_to(walk: Walk, last: date) -> None:
    """Step to `last`, checking the ledger identity every week and on the last day."""
    while walk.day < last:
        walk.step()
        if walk.day.weekday() == 0 or walk.day == last:
            walk.assert_ledger()


def _mail_days(walk: Walk, template: str) -> list[date]:
    return walk.read(lambda s: [m.created_at.date() for m in s.exec(
        select(OutboxMessage).where(OutboxMessage.template == template)
        .order_by(OutboxMessage.id))])


def _periods(walk: Walk, sub_id: int) -> list[tuple[date, date]]:
    return [(i.period_start, i.period_end) for i in walk.invoices(sub_id) if i.status != "void"]


def _no_day_paid_twice(periods: list[tuple[date, date]]) -> None:
    for (_, end), (start, _) in zip(periods, periods[1:], strict=False):
        assert end <= start, periods


# -- Defect 4: a 10-day outage in the middle of dunning ------------------------------------------

def test_after_a_ten_day_outage_in_dunning_each_retry_runs_on_its_own_tick(engine):
    start = date(2026, 1, 5)
    walk = Walk(engine, start)
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer, DECLINED_CARD))
    walk.tick()  # the first charge fails: dunning, retries on days 1, 3 and 7
    assert (_sub(walk, sub).status, _sub(walk, sub).next_retry_on) == ("dunning", date(2026, 1, 6))
    walk.day += timedelta(days=10)  # the scheduler is down from 6 to 14 January
    walk.tick()
    state = _sub(walk, sub)
    # one retry ran; the next one keeps its spacing (3 − 1 days) from the attempt that ran
    assert (state.status, state.dunning_attempts, state.next_retry_on) == (
        "dunning", 1, date(2026, 1, 17))
    _walk_to(walk, date(2026, 1, 17))
    assert (_sub(walk, sub).dunning_attempts, _sub(walk, sub).next_retry_on) == (
        2, date(2026, 1, 21))
    _walk_to(walk, date(2026, 1, 21))
    assert _sub(walk, sub).status == "unpaid"
    _walk_to(walk, start + timedelta(days=DAYS))
    # one email per attempt, each on the day its attempt ran
    assert _mail_days(walk, "payment_failed") == [date(2026, 1, 5), date(2026, 1, 15),
                                                  date(2026, 1, 17)]
    assert _mail_days(walk, "dunning_final") == [date(2026, 1, 21)]
    assert len(walk.payments(customer, "failed")) == 4
    assert len(walk.invoices(sub)) == 1  # an unpaid subscription is not renewed


# -- Defect 3: a trial extension moves the anchor to where the paid terms start -------------------

def _extended_trial(walk: Walk, *, started: date, extend_on: date) -> tuple[int, int]:
    """A 7-day trial whose card is declined at its end, extended on `extend_on` by 7 days,
    then paid for with a good card."""
    customer = _customer(walk, email=f"trial-{started.isoformat()}@example.com")
    declined = walk.card(customer, DECLINED_CARD)
    plan = _plan(walk, code=f"trial-{started.isoformat()}", trial_days=7)
    sub = _subscribe(walk, customer, plan, status="trial", trial_days=7, card=declined,
                     start=started)
    _walk_to(walk, extend_on)
    assert (_sub(walk, sub).status, _sub(walk, sub).expired_reason) == ("expired", "trial_end")
    with walk.session() as s:
        actions.extend_trial(s, customer_id=customer, subscription_id=sub, now=walk.now)
    good = walk.card(customer, GOOD_CARD)
    with walk.session() as s:
        s.get(Subscription, sub).payment_method_id = good
    return customer, sub


@pytest.mark.parametrize(("started", "extend_on", "first_term"), [
    # anchored on the 20th; the extension ends on 10 Feb, before it: one month, not 38 days
    (date(2026, 1, 20), date(2026, 2, 3), (date(2026, 2, 10), date(2026, 3, 10))),
    # anchored on the 5th; the extension ends on 25 Feb, after it: one month, not 8 days
    (date(2026, 2, 5), date(2026, 2, 18), (date(2026, 2, 25), date(2026, 3, 25))),
])
def test_a_trial_extension_anchors_billing_where_the_paid_term_starts(engine, started,
                                                                      extend_on, first_term):
    walk = Walk(engine, started)
    with walk.session() as s:
        s.add(Preferences(organization_id=1, trial_extend=True, trial_max_extensions=1))
    customer, sub = _extended_trial(walk, started=started, extend_on=extend_on)
    _walk_to(walk, started + timedelta(days=DAYS))
    periods = _periods(walk, sub)
    assert periods[0] == first_term
    assert len(periods) == 13 and {end.day for _, end in periods} == {first_term[0].day}
    _no_day_paid_twice(periods)
    assert all(i.status == "paid" for i in walk.invoices(sub) if i.status != "void")


# -- Defects 7 and 8: the demo's paused subscription resumes once, its paid days first ----------

def test_the_demos_paused_subscription_resumes_with_its_carried_days_and_stays_live(engine):
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    with Session(engine, expire_on_commit=False) as session:
        seeded = demo.seed_demo(session, now=now)
        session.commit()
    walk = Walk(engine, now.date())
    paused = walk.read(lambda s: s.exec(select(Subscription).where(
        Subscription.customer_id == seeded.jane_customer_id,
        Subscription.status == "paused")).one())
    # seeded as the tick leaves a mid-term pause: no pause date, the unused days after resuming
    assert paused.pause_on is None and paused.resume_on == date(2027, 1, 5)
    assert (paused.current_term_start, paused.current_term_end) == (date(2027, 1, 5),
                                                                    date(2027, 1, 26))
    billed = len(walk.invoices(paused.id))
    _walk_to(walk, date(2027, 1, 5))
    state = _sub(walk, paused.id)
    assert (state.status, state.pause_on, state.resume_on) == ("live", None, None)
    assert len(walk.invoices(paused.id)) == billed  # the carried days run uninvoiced
    _walk_to(walk, now.date() + timedelta(days=DAYS))
    state = _sub(walk, paused.id)
    assert state.status == "live" and state.anchor_day == 26  # never paused again
    periods = _periods(walk, paused.id)
    assert periods[billed:][0] == (date(2027, 1, 26), date(2027, 2, 26))
    assert len(periods) - billed == 12  # 26 Jan 2027 .. 26 Dec 2027
    _no_day_paid_twice(periods)


# -- Defect 6: an unpaid subscription paid later ------------------------------------------------

def _unpaid(walk: Walk) -> tuple[int, int]:
    """A subscription whose first charge and every retry fail: unpaid on day 7."""
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer, DECLINED_CARD))
    walk.tick()
    _walk_to(walk, walk.day + timedelta(days=7))
    assert _sub(walk, sub).status == "unpaid"
    return customer, sub


def _pay_open_invoice(walk: Walk, customer: int) -> None:
    """The customer pays what is open with a new card they save, as on the pay page."""
    with walk.session() as s:
        [invoice] = s.exec(select(Invoice).where(Invoice.customer_id == customer,
                                                 Invoice.status == "open")).all()
        payment = pay.begin(s, customer_id=customer, gateway=walk.gateway,
                            partial_allowed=False, now=walk.now, choice=pay.PayChoice(
                                [invoice.id], f"pay-{walk.day.isoformat()}",
                                card=CardDetails(GOOD_CARD, 12, walk.day.year + 3, "123"),
                                save_card=True))
    charges.run(walk.session, walk.gateway, payment_id=payment.id, now=walk.now)


def test_an_unpaid_subscription_paid_three_months_later_starts_a_term_that_day(engine):
    start = date(2026, 1, 5)
    walk = Walk(engine, start)
    customer, sub = _unpaid(walk)
    _walk_to(walk, date(2026, 4, 14))
    assert len(walk.invoices(sub)) == 1  # not renewed while unpaid
    _pay_open_invoice(walk, customer)
    walk.tick()  # the scheduler's next minute
    state = _sub(walk, sub)
    assert (state.status, state.anchor_day) == ("live", 14)
    # the paid invoice's term ended long ago: a new term from the payment date, at once;
    # February and March were skipped and are never billed
    assert _periods(walk, sub) == [(date(2026, 1, 5), date(2026, 2, 5)),
                                   (date(2026, 4, 14), date(2026, 5, 14))]
    _walk_to(walk, start + timedelta(days=DAYS))
    periods = _periods(walk, sub)
    assert len(periods) == 11 and {s.day for s, _ in periods[1:]} == {14}
    _no_day_paid_twice(periods)
    assert all(i.status == "paid" for i in walk.invoices(sub))


def test_an_unpaid_subscription_paid_within_its_term_restarts_that_term_on_the_payment_day(
        engine):
    start = date(2026, 1, 5)
    walk = Walk(engine, start)
    customer, sub = _unpaid(walk)
    _walk_to(walk, date(2026, 1, 20))
    _pay_open_invoice(walk, customer)
    walk.tick()
    state = _sub(walk, sub)
    # the paid invoice's term restarts on 20 January, a whole term, with no new invoice
    assert (state.status, state.current_term_start, state.current_term_end) == (
        "live", date(2026, 1, 20), date(2026, 2, 20))
    assert len(walk.invoices(sub)) == 1
    _walk_to(walk, start + timedelta(days=DAYS))
    periods = _periods(walk, sub)
    assert periods[1] == (date(2026, 2, 20), date(2026, 3, 20))
    assert len(periods) == 13
    _no_day_paid_twice(periods)
