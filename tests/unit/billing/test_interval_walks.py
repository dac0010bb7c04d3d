"""Issue 30's clock walks: a weekly plan and an every-2-weeks plan across a year, day by day,
on SQLite and on PostgreSQL (tests/walk.py: the real tick and charges, each step committed).

Every term starts on the subscription's weekday, no day is billed twice or left out, each
renewal is charged on its day, and the ledger identity holds every week.
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.unit.subscriptions.test_lifecycle import _customer, _sub, _subscribe
from tests.walk import DECLINED_CARD, Walk
from webapp.models import Plan, PlanPrice

WEDNESDAY = date(2026, 1, 7)
DAYS = 371  # 53 weeks


def _plan(walk: Walk, code: str, amount: int, count: int) -> int:
    with walk.session() as s:
        plan = Plan(code=code, name=code.title(), interval_unit="week", interval_count=count,
                    created_at=walk.now)
        s.add(plan)
        s.flush()
        s.add(PlanPrice(plan_id=plan.id, currency="USD", amount=amount))
        return plan.id


def _terms(walk: Walk, sub_id: int) -> list[tuple[date, date, int]]:
    """(start, end, subtotal) of each term's invoice (the demo organization adds 20% VAT)."""
    return [(i.period_start, i.period_end, i.subtotal) for i in walk.invoices(sub_id)
            if i.status != "void"]


def test_weekly_and_fortnightly_plans_across_a_year_keep_their_weekday(engine):
    walk = Walk(engine, WEDNESDAY)
    ana = _customer(walk)
    ben = _customer(walk, "ben@example.com")
    weekly = _subscribe(walk, ana, _plan(walk, "gym-weekly", 1500, 1), card=walk.card(ana))
    fortnightly = _subscribe(walk, ben, _plan(walk, "gym-fortnightly", 2800, 2),
                             card=walk.card(ben))
    walk.tick()
    last = WEDNESDAY + timedelta(days=DAYS)
    while walk.day < last:
        walk.step()
        if walk.day.weekday() == 0:
            walk.assert_ledger()
    walk.assert_ledger()

    weeks = _terms(walk, weekly)
    assert len(weeks) == 54  # 7 Jan 2026 … 13 Jan 2027 inclusive: 53 renewals and the first
    assert weeks[0][:2] == (WEDNESDAY, date(2026, 1, 14))
    assert weeks[-1][:2] == (date(2027, 1, 13), date(2027, 1, 20))
    for start, end, total in weeks:
        assert (start.weekday(), (end - start).days, total) == (2, 7, 1500)
    for (_, end, _), (start, _, _) in zip(weeks, weeks[1:], strict=False):
        assert end == start  # no day twice, none left out
    assert [p.amount for p in walk.payments(ana)] == [1800] * 54
    assert all(p.paid_on.weekday() == 2 for p in walk.payments(ana))

    fortnights = _terms(walk, fortnightly)
    assert len(fortnights) == 27
    assert fortnights[-1][:2] == (date(2027, 1, 6), date(2027, 1, 20))
    for (start, end, total), (nxt, _, _) in zip(fortnights, fortnights[1:], strict=False):
        assert (start.weekday(), (end - start).days, total, end) == (2, 14, 2800, nxt)
    assert sum(p.amount for p in walk.payments(ben)) == 27 * 3360
    state = _sub(walk, fortnightly)
    assert (state.status, state.next_billing_date, state.cycles_billed) == (
        "live", date(2027, 1, 20), 27)


def test_a_weekly_plan_whose_card_fails_goes_through_dunning_by_days(engine):
    walk = Walk(engine, WEDNESDAY)
    ana = _customer(walk)
    sub = _subscribe(walk, ana, _plan(walk, "gym-weekly", 1500, 1),
                     card=walk.card(ana, DECLINED_CARD))
    walk.tick()
    assert _sub(walk, sub).status == "dunning"
    last = WEDNESDAY + timedelta(days=60)
    while walk.day < last:
        walk.step()
    walk.assert_ledger()
    state = _sub(walk, sub)
    # an unpaid weekly subscription is not renewed: one invoice, still open
    assert state.status == "unpaid"
    assert [(s, e) for s, e, _ in _terms(walk, sub)] == [(WEDNESDAY, date(2026, 1, 14))]
    assert walk.mails("ana@example.com").count("payment_failed") >= 1
