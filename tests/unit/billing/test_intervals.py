"""Daily and weekly plans, and `interval_count` (every 2 weeks, every 3 months), everywhere a
term is billed (issue 30): the calendar, the catalog's checks, the tick, proration (whole days),
the change preview, the MRR figures and the labels the pages and PDFs print."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from sqlmodel import Session, select

from tests.factories import make_customer, make_plan, make_subscription, moment_on
from webapp.demo import seed_organization
from webapp.models import Invoice, InvoiceLine, Plan, PlanPrice, Subscription
from webapp.services.admin import Actor, catalog, metrics
from webapp.services.billing import invoices, ledger, mrr, terms
from webapp.services.billing.catalog import subscription_items
from webapp.services.core import numbering, state_machine
from webapp.services.core.dates import add_interval, interval_label, per_interval_label
from webapp.services.core.preferences import InvalidChanges, seed_demo_preferences
from webapp.services.subscriptions import changes as subscription_changes
from webapp.services.subscriptions import lifecycle
from webapp.services.subscriptions.changes import ChangeRequest
from webapp.services.subscriptions.views import SubscriptionRow

ADMIN = Actor(None, "admin@example.com")
MONDAY = date(2026, 11, 2)


def at(on: date) -> datetime:
    return datetime(on.year, on.month, on.day, 10, 0, tzinfo=UTC)


# -- The calendar ---------------------------------------------------------------------------------

def test_days_and_weeks_are_whole_days_and_a_weekly_term_keeps_its_weekday():
    assert add_interval(MONDAY, "day") == date(2026, 11, 3)
    assert add_interval(MONDAY, "day", 10) == date(2026, 11, 12)
    assert add_interval(MONDAY, "week") == date(2026, 11, 9)
    assert add_interval(MONDAY, "week", 2) == date(2026, 11, 16)
    # across a month's end and a year's end, every term starts on a Monday
    start = MONDAY
    for _ in range(60):
        start = add_interval(start, "week", 1, anchor_day=31)  # the anchor is for months only
        assert start.weekday() == 0
    assert start == MONDAY + timedelta(weeks=60)
    # every 3 months keeps the anchor day where the month has it
    assert add_interval(date(2026, 11, 30), "month", 3, 30) == date(2027, 2, 28)
    assert add_interval(date(2027, 2, 28), "month", 3, 30) == date(2027, 5, 30)
    with pytest.raises(ValueError):
        add_interval(MONDAY, "fortnight")


def test_the_interval_reads_as_the_pages_print_it():
    assert interval_label("week", 1) == "every week"
    assert interval_label("week", 2) == "every 2 weeks"
    assert interval_label("month", 3) == "every 3 months"
    assert interval_label("day", 1) == "every day"
    assert per_interval_label("week", 2) == "2 weeks" and per_interval_label("year") == "year"


# -- The catalog ----------------------------------------------------------------------------------

def _plan_input(**overrides) -> catalog.PlanInput:
    return catalog.PlanInput(**({"code": "gym", "name": "Gym", "prices": {"USD": "12.50"}}
                                | overrides))


@pytest.mark.parametrize(("unit", "count", "label"), [
    ("day", "1", "every day"), ("week", "1", "every week"), ("week", "2", "every 2 weeks"),
    ("month", "3", "every 3 months"), ("year", "2", "every 2 years")])
def test_the_catalog_takes_each_unit_with_a_count(session, now, unit, count, label):
    seed_organization(session, now=now)
    plan = catalog.create_plan(session, actor=ADMIN, now=now,
                               data=_plan_input(interval_unit=unit, interval_count=count))
    assert (plan.interval_unit, plan.interval_count) == (unit, int(count))
    assert catalog.plan_views(session, plan.id)[0].interval_label == label


@pytest.mark.parametrize(("unit", "count", "errors"), [
    ("fortnight", "1", {"interval_unit": "Choose day, week, month or year."}),
    ("week", "0", {"interval_count": "Enter a whole number from 1 to 104."}),
    ("week", "105", {"interval_count": "Enter a whole number from 1 to 104."}),
    ("day", "366", {"interval_count": "Enter a whole number from 1 to 365."}),
    ("month", "37", {"interval_count": "Enter a whole number from 1 to 36."}),
    ("year", "11", {"interval_count": "Enter a whole number from 1 to 10."}),
    ("week", "two", {"interval_count": "Enter a whole number from 1 to 104."}),
])
def test_the_catalog_refuses_a_unit_or_count_it_cannot_bill(session, now, unit, count, errors):
    seed_organization(session, now=now)
    with pytest.raises(InvalidChanges) as refused:
        catalog.create_plan(session, actor=ADMIN, now=now,
                            data=_plan_input(interval_unit=unit, interval_count=count))
    assert refused.value.errors == errors
    assert session.exec(select(Plan)).all() == []


def test_a_weekly_plan_in_use_keeps_its_count(session, now):
    seed_organization(session, now=now)
    plan = catalog.create_plan(session, actor=ADMIN, now=now,
                               data=_plan_input(interval_unit="week", interval_count="2"))
    make_subscription(session, customer=make_customer(session, now=now), now=now, plan=plan)
    with pytest.raises(InvalidChanges) as refused:
        catalog.update_plan(session, actor=ADMIN, plan_id=plan.id, now=now,
                            data=_plan_input(interval_unit="week", interval_count="1"))
    assert set(refused.value.errors) == {"interval_unit"}
    assert plan.interval_count == 2


# -- The terms, the tick and proration --------------------------------------------------------------

class Gym:
    """An organization without tax, one customer, and plans by (amount, unit, count)."""

    def __init__(self, session: Session):
        self.session = session
        seed_organization(session, now=at(MONDAY)).tax_rate_bp = None
        seed_demo_preferences(session, now=at(MONDAY))
        self.customer = make_customer(session, now=at(MONDAY))
        self.plans: dict[tuple, Plan] = {}

    def plan(self, amount: int, unit: str, count: int = 1) -> Plan:
        key = (amount, unit, count)
        if key not in self.plans:
            plan = Plan(code=f"p-{amount}-{unit}-{count}", name=f"{unit.title()} {amount}",
                        interval_unit=unit, interval_count=count, created_at=at(MONDAY))
            self.session.add(plan)
            self.session.flush()
            self.session.add(PlanPrice(plan_id=plan.id, currency="USD", amount=amount))
            self.session.flush()
            self.plans[key] = plan
        return self.plans[key]

    def live(self, plan: Plan, start: date = MONDAY) -> Subscription:
        """Live on `plan`, its first term invoiced and paid on `start`."""
        sub = Subscription(number=numbering.take_one(self.session, "subscription"),
                           customer_id=self.customer.id, plan_id=plan.id, currency="USD",
                           status="live", start_date=start, anchor_day=start.day,
                           created_at=at(start), updated_at=at(start))
        self.session.add(sub)
        self.session.flush()
        draft = terms.draft(self.session, sub, terms.Term(start, "first_term"), tax_rate_bp=None)
        invoice = terms.issue(self.session, sub, draft, issue_date=start, due_date=start,
                              now=at(start))
        ledger.record_payment(self.session, customer_id=self.customer.id, amount=invoice.total,
                              currency="USD", invoices=[invoice], paid_on=start, now=at(start),
                              idempotency_key=f"paid-{invoice.id}")
        sub.current_term_start, sub.current_term_end = draft.period.start, draft.period.end
        sub.next_billing_date, sub.cycles_billed = draft.period.end, 1
        self.session.flush()
        return sub

    def preview(self, sub: Subscription, on: date, plan: Plan):
        return subscription_changes.draft_change(
            self.session, customer_id=self.customer.id, subscription_id=sub.id,
            request=ChangeRequest(plan_id=plan.id), at=moment_on(on))

    def invoices(self, sub: Subscription) -> list[Invoice]:
        return list(self.session.exec(select(Invoice).where(Invoice.subscription_id == sub.id)
                                      .order_by(Invoice.id)))


@pytest.fixture
def gym(session) -> Gym:
    return Gym(session)


@pytest.mark.parametrize(("unit", "count", "end"), [
    ("day", 1, date(2026, 11, 3)), ("week", 1, date(2026, 11, 9)),
    ("week", 2, date(2026, 11, 16)), ("month", 3, date(2027, 2, 2))])
def test_the_first_term_spans_its_interval(gym, unit, count, end):
    sub = gym.live(gym.plan(700, unit, count))
    (invoice,) = gym.invoices(sub)
    assert (invoice.period_start, invoice.period_end, invoice.total) == (MONDAY, end, 700)
    assert (sub.current_term_end, sub.next_billing_date) == (end, end)


def test_the_tick_renews_a_weekly_plan_on_the_same_weekday(gym):
    sub = gym.live(gym.plan(700, "week"))
    for week in range(1, 6):
        result = lifecycle.tick(gym.session, now=at(MONDAY + timedelta(weeks=week)))
        assert result.processed == 1
    periods = [(i.period_start, i.period_end) for i in gym.invoices(sub)]
    assert periods == [(MONDAY + timedelta(weeks=n), MONDAY + timedelta(weeks=n + 1))
                       for n in range(6)]
    assert all(start.weekday() == 0 for start, _ in periods)
    assert sub.next_billing_date == date(2026, 12, 14) and sub.cycles_billed == 6


def test_the_tick_renews_a_daily_plan_every_day_and_every_3_days(gym):
    daily = gym.live(gym.plan(100, "day"))
    every3 = gym.live(gym.plan(250, "day", 3))
    for offset in range(1, 7):
        lifecycle.tick(gym.session, now=at(MONDAY + timedelta(days=offset)))
    assert [i.period_start.day for i in gym.invoices(daily)] == [2, 3, 4, 5, 6, 7, 8]
    assert [(i.period_start.day, i.period_end.day) for i in gym.invoices(every3)] == [
        (2, 5), (5, 8), (8, 11)]
    assert sum(i.total for i in gym.invoices(every3)) == 750


def test_a_weekly_change_is_prorated_by_whole_days(gym):
    sub = gym.live(gym.plan(7000, "week"))
    # day 3 of 7: 4 days left. Credit R(7000·4, 7) = 4000, charge R(14000·4, 7) = 8000.
    draft = gym.preview(sub, MONDAY + timedelta(days=3), gym.plan(14000, "week"))
    assert [(x.description, x.amount) for x in draft.credit_lines] == [
        ("Unused time: Week 7000 (4 of 7 days)", 4000)]
    assert [x.amount for x in draft.invoice.lines] == [8000]
    assert (draft.days_left, draft.term_days, draft.amount_due) == (4, 7, 4000)


def test_an_every_2_weeks_change_rounds_each_line_half_up(gym):
    sub = gym.live(gym.plan(10000, "week", 2))
    # day 4 of 14: 10 days left. 10000·10/14 = 7142.86 → 7143; 20000·10/14 = 14285.71 → 14286.
    draft = gym.preview(sub, MONDAY + timedelta(days=4), gym.plan(20000, "week", 2))
    assert [x.amount for x in draft.credit_lines] == [7143]
    assert [x.amount for x in draft.invoice.lines] == [14286]
    assert (draft.days_left, draft.term_days, draft.amount_due) == (10, 14, 14286 - 7143)


def test_an_every_3_months_change_spreads_over_the_days_of_its_term(gym):
    start = date(2026, 11, 30)
    sub = gym.live(gym.plan(9000, "month", 3), start=start)
    assert sub.current_term_end == date(2027, 2, 28)  # 90 days
    draft = gym.preview(sub, date(2027, 1, 29), gym.plan(18000, "month", 3))  # 30 days left
    assert [x.amount for x in draft.credit_lines] == [3000]
    assert [x.amount for x in draft.invoice.lines] == [6000]


# -- MRR ------------------------------------------------------------------------------------------

def test_mrr_of_weekly_daily_and_quarterly_plans_is_exact(session, now):
    seed_organization(session, now=now).timezone = "UTC"
    today = date(2026, 11, 26)
    customer = make_customer(session, now=now)
    plans = [make_plan(session, now=now, code="fortnightly", amount=700, unit="week", count=2),
             make_plan(session, now=now, code="daily", amount=100, unit="day"),
             make_plan(session, now=now, code="quarterly", amount=3000, unit="month", count=3)]
    for plan in plans:
        sub = make_subscription(session, customer=customer, now=at(today), status="future",
                                start=today, plan=plan)
        state_machine.transition(session, sub, "start", "live", now=at(today))
    session.commit()
    # 700 × 52 / 24 + 100 × 365 / 12 + 3000 / 3
    exact = Fraction(700 * 52, 24) + Fraction(36_500, 12) + 1000
    assert mrr.of_amount(700, "week", 2).value == Fraction(4550, 3)
    assert metrics.mrr_on(session, today) == {"USD": exact}
    figures = metrics.home_figures(session, at=moment_on(today),
                                   window=metrics.read_window({}, today)[0])
    assert exact == Fraction(16675, 3)  # 5558.33… → 5558, rounded once
    assert figures.mrr == {"USD": 5558} and figures.arr == {"USD": 66_700}


# -- What the pages and the PDFs print ------------------------------------------------------------

def test_the_subscription_row_and_the_term_invoice_name_the_interval(gym):
    sub = gym.live(gym.plan(700, "week", 2))
    items = subscription_items(gym.session, [sub])
    row = SubscriptionRow.of(sub, items[sub.id], None)
    assert (row.every, row.per_interval) == ("every 2 weeks", "2 weeks")
    (invoice,) = gym.invoices(sub)
    detail = invoices.invoice_detail(gym.session, customer_id=gym.customer.id,
                                     invoice_id=invoice.id, at=moment_on(MONDAY))
    assert detail.billed_every == "every 2 weeks"
    lines = gym.session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
    assert [(x.kind, x.amount) for x in lines] == [("plan", 700)]
