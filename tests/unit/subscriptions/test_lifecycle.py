"""The billing engine, proven by walking the clock day by day (no sleeping)."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from tests.walk import DECLINED_CARD, Walk
from webapp.models import (
    Customer,
    OutboxMessage,
    Plan,
    PlanPrice,
    Preferences,
    ScheduledChange,
    Subscription,
)
from webapp.services.core import numbering

START = date(2026, 1, 5)


@pytest.fixture
def walk(sqlite_engine):
    from tests.conftest import wipe

    wipe(sqlite_engine)
    return Walk(sqlite_engine, START)


def _customer(walk, email="ana@example.com"):
    with walk.session() as s:
        customer = Customer(display_name="Ana", email=email, currency="USD", created_at=walk.now)
        s.add(customer)
        s.flush()
        return customer.id


def _plan(walk, code="monthly", amount=3000, unit="month", cycles=None, trial_days=0):
    with walk.session() as s:
        plan = Plan(code=code, name=code.title(), interval_unit=unit, billing_cycles=cycles,
                    trial_days=trial_days, created_at=walk.now)
        s.add(plan)
        s.flush()
        s.add(PlanPrice(plan_id=plan.id, currency="USD", amount=amount))
        return plan.id


def _subscribe(walk, customer_id, plan_id, *, status="live", start=None, trial_days=0,
               card=None, autocharge=None, **fields):
    start = start or walk.day
    with walk.session() as s:
        sub = Subscription(number=numbering.take_one(s, "subscription"), customer_id=customer_id,
                           plan_id=plan_id, currency="USD", status=status, start_date=start,
                           anchor_day=start.day, payment_method_id=card,
                           autocharge=bool(card) if autocharge is None else autocharge,
                           created_at=walk.now, updated_at=walk.now, **fields)
        if trial_days:
            sub.trial_start, sub.trial_end = start, start + timedelta(days=trial_days)
            sub.current_term_start, sub.current_term_end = start, sub.trial_end
            sub.next_billing_date = sub.trial_end
        else:
            sub.next_billing_date = start  # due now: the tick bills the first/next term
        s.add(sub)
        s.flush()
        return sub.id


def _sub(walk, sub_id) -> Subscription:
    return walk.read(lambda s: s.get(Subscription, sub_id))


def _walk(walk, days, check=None):
    for _ in range(days):
        walk.step()
        walk.assert_ledger()
        if check:
            check()


def test_a_trial_converts_and_renews_with_its_saved_card(walk):
    customer = _customer(walk)
    plan = _plan(walk, trial_days=14)
    sub = _subscribe(walk, customer, plan, status="trial", trial_days=14, card=walk.card(customer))
    walk.tick()
    _walk(walk, 10)
    assert walk.mails("ana@example.com") == []
    _walk(walk, 1)  # three days before the trial ends
    assert _sub(walk, sub).status == "trial" and walk.invoices(sub) == []
    assert walk.mails("ana@example.com") == ["trial_ending"]
    _walk(walk, 3)  # day 14: the trial ends
    assert _sub(walk, sub).status == "live"
    [first] = walk.invoices(sub)
    assert first.kind == "first_term" and first.status == "paid" and first.total == 3600  # 20 % VAT
    _walk(walk, 400 - 14)
    invoices = walk.invoices(sub)
    # billing is anchored on the 19th, where the paid terms started: 19 Jan 2026 .. 19 Jan 2027
    assert len(invoices) == 13 and all(i.status == "paid" for i in invoices)
    assert {i.period_start.day for i in invoices} == {19}
    assert len(walk.payments(customer)) == 13
    assert walk.mails("ana@example.com").count("payment_receipt") == 13


def test_a_trial_whose_card_is_declined_expires_and_can_be_told_apart(walk):
    customer = _customer(walk)
    plan = _plan(walk, trial_days=7)
    sub = _subscribe(walk, customer, plan, status="trial", trial_days=7,
                     card=walk.card(customer, DECLINED_CARD))
    _walk(walk, 7)
    state = _sub(walk, sub)
    assert (state.status, state.expired_reason) == ("expired", "trial_end")
    assert [i.status for i in walk.invoices(sub)] == ["void"]
    assert walk.payments(customer, "failed")[0].failure_reason == "Your card was declined."
    assert "trial_expired" in walk.mails("ana@example.com")
    _walk(walk, 60)
    assert len(walk.invoices(sub)) == 1  # nothing more is billed


def test_a_trial_without_auto_charge_goes_live_with_an_open_invoice(walk):
    customer = _customer(walk)
    plan = _plan(walk, trial_days=7)
    sub = _subscribe(walk, customer, plan, status="trial", trial_days=7)
    _walk(walk, 7)
    assert _sub(walk, sub).status == "live"
    [invoice] = walk.invoices(sub)
    assert invoice.status == "open" and invoice.due_date == walk.day + timedelta(days=7)
    assert "invoice_issued" in walk.mails("ana@example.com")


def test_monthly_renewals_with_auto_charge_for_400_days(walk):
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer))
    walk.tick()
    _walk(walk, 400)
    invoices = walk.invoices(sub)
    assert len(invoices) == 14  # 5 Jan 2026 .. 5 Feb 2027 inclusive
    assert [i.period_start.day for i in invoices] == [5] * 14
    assert all(i.status == "paid" for i in invoices)
    assert "renewal_upcoming" in walk.mails("ana@example.com")


def test_after_an_outage_one_tick_bills_every_missed_term_in_order(walk):
    """The scheduler was down for three months: the next run catches up on its own."""
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer))
    walk.tick()
    walk.day += timedelta(days=92)  # 5 Jan -> 7 Apr, no tick in between
    walk.tick()
    invoices = walk.invoices(sub)
    assert [i.period_start.isoformat() for i in invoices] == [
        "2026-01-05", "2026-02-05", "2026-03-05", "2026-04-05"]
    assert all(i.status == "paid" for i in invoices)
    assert _sub(walk, sub).next_billing_date.isoformat() == "2026-05-05"
    walk.assert_ledger()


def test_a_declined_card_goes_through_every_dunning_retry_to_unpaid(walk):
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer, DECLINED_CARD))
    walk.tick()
    assert _sub(walk, sub).status == "dunning"
    seen = []
    for _ in range(8):
        walk.step()
        walk.assert_ledger()
        seen.append((_sub(walk, sub).status, _sub(walk, sub).dunning_attempts))
    assert seen[0] == ("dunning", 1)  # day 1 retry failed
    assert seen[2] == ("dunning", 2)  # day 3 retry failed
    assert seen[6] == ("unpaid", 3) and seen[7] == ("unpaid", 3)  # day 7: the final action
    assert len(walk.payments(customer, "failed")) == 4
    assert walk.mails("ana@example.com").count("payment_failed") == 3
    assert "dunning_final" in walk.mails("ana@example.com")
    _walk(walk, 60)
    assert len(walk.invoices(sub)) == 1  # an unpaid subscription is not renewed


def test_the_final_dunning_action_can_cancel(walk):
    with walk.session() as s:
        s.add(Preferences(organization_id=1, dunning_final_action="cancelled",
                          dunning_retry_days=[2]))
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer, DECLINED_CARD))
    walk.tick()
    _walk(walk, 2)
    assert _sub(walk, sub).status == "cancelled"


def test_a_payment_during_dunning_brings_the_subscription_back_to_live(walk):
    from webapp.services.billing import charges

    customer = _customer(walk)
    declined = walk.card(customer, DECLINED_CARD)
    sub = _subscribe(walk, customer, _plan(walk), card=declined)
    walk.tick()
    good = walk.card(customer)
    [invoice] = walk.invoices(sub)
    with walk.session() as s:
        payment = charges.start(s, customer_id=customer, amount=invoice.total, currency="USD",
                                payment_method_id=good, idempotency_key="pay-now-1",
                                invoice_ids=[invoice.id], now=walk.now)
    charges.run(walk.session, walk.gateway, payment_id=payment.id, now=walk.now)
    assert _sub(walk, sub).status == "live"
    with walk.session() as s:
        s.get(Subscription, sub).payment_method_id = good
    _walk(walk, 40)
    assert [i.status for i in walk.invoices(sub)] == ["paid", "paid"]


def test_a_debt_settled_outside_the_retries_ends_dunning_at_the_next_retry(walk):
    """A credit note covers the open invoice: the next retry charges nothing, goes live."""
    from webapp.services.billing import ledger

    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer, DECLINED_CARD))
    walk.tick()
    [invoice] = walk.invoices(sub)
    with walk.session() as s:  # a new credit note pays the open invoice at once
        ledger.create_credit_note(s, customer_id=customer, currency="USD", total=invoice.total,
                                  reason="Goodwill", issue_date=walk.day, now=walk.now)
    failed_before = len(walk.payments(customer, "failed"))
    walk.step()
    assert (_sub(walk, sub).status, _sub(walk, sub).next_retry_on) == ("live", None)
    assert len(walk.payments(customer, "failed")) == failed_before  # nothing was charged
    walk.assert_ledger()


def test_dunning_without_a_card_still_runs_its_schedule_to_the_final_action(walk):
    """The customer removed the card: each retry fails without a charge, the emails' link lets
    them add one, and the final action comes on the same days as with a declined card."""
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer, DECLINED_CARD))
    walk.tick()
    with walk.session() as s:
        s.get(Subscription, sub).payment_method_id = None
    seen = []
    for _ in range(8):
        walk.step()
        walk.assert_ledger()
        seen.append((_sub(walk, sub).status, _sub(walk, sub).dunning_attempts))
    assert seen[0] == ("dunning", 1) and seen[2] == ("dunning", 2)
    assert seen[6] == ("unpaid", 3) and seen[7] == ("unpaid", 3)
    assert len(walk.payments(customer, "failed")) == 1  # only the renewal's: nothing to charge
    mails = walk.mails("ana@example.com")
    assert mails.count("payment_failed") == 3 and "dunning_final" in mails
    told = walk.read(lambda s: [m.context for m in s.exec(select(OutboxMessage).where(
        OutboxMessage.template == "payment_failed").order_by(OutboxMessage.id))])
    assert told[-1]["reason"] == "There is no card on file to charge."
    # add a card and pay, without signing in
    assert told[-1]["page"]["endpoint"] == "pay.fix" and told[-1]["page"]["values"]["token"]


def test_pause_then_resume_bills_nothing_while_paused(walk):
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer))
    walk.tick()
    with walk.session() as s:
        row = s.get(Subscription, sub)
        row.pause_on, row.resume_on = START + timedelta(days=10), START + timedelta(days=70)
    _walk(walk, 10)
    assert _sub(walk, sub).status == "paused"
    _walk(walk, 59)
    assert _sub(walk, sub).status == "paused" and len(walk.invoices(sub)) == 1
    _walk(walk, 1)
    # paused on day 10 of 31 (5 Jan – 5 Feb): the 21 paid days left run first, uninvoiced
    state = _sub(walk, sub)
    assert state.status == "live" and state.current_term_start == START + timedelta(days=70)
    assert state.current_term_end == START + timedelta(days=91) and state.pause_on is None
    assert len(walk.invoices(sub)) == 1
    _walk(walk, 20)
    assert len(walk.invoices(sub)) == 1
    _walk(walk, 1)  # the carried days end: the next term is invoiced, anchored there
    invoices = walk.invoices(sub)
    assert [(i.period_start, i.period_end) for i in invoices[1:]] == [
        (START + timedelta(days=91), date(2026, 5, 6))]
    assert _sub(walk, sub).anchor_day == 6


def test_a_scheduled_cancellation_ends_the_subscription_at_term_end(walk):
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer))
    walk.tick()
    with walk.session() as s:
        row = s.get(Subscription, sub)
        row.status, row.status_before_cancel = "non_renewing", "live"
    _walk(walk, 31)
    state = _sub(walk, sub)
    assert state.status == "cancelled" and state.cancelled_on == date(2026, 2, 5)
    _walk(walk, 60)
    assert len(walk.invoices(sub)) == 1


def test_a_scheduled_plan_change_takes_effect_at_renewal(walk):
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer))
    bigger = _plan(walk, code="bigger", amount=9000)
    walk.tick()
    with walk.session() as s:
        s.add(ScheduledChange(subscription_id=sub, kind="change", effective_on=date(2026, 2, 5),
                              payload={"plan_id": bigger}, created_at=walk.now))
    _walk(walk, 31)
    assert [i.total for i in walk.invoices(sub)] == [3600, 10800]  # with 20 % VAT
    assert walk.read(lambda s: s.exec(select(ScheduledChange)).all()) == []


def test_a_subscription_anchored_on_the_31st_keeps_its_day(sqlite_engine):
    from tests.conftest import wipe

    wipe(sqlite_engine)
    walk = Walk(sqlite_engine, date(2027, 12, 31))
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer))
    walk.tick()
    _walk(walk, 100)
    starts = [i.period_start for i in walk.invoices(sub)]
    assert starts == [date(2027, 12, 31), date(2028, 1, 31), date(2028, 2, 29),
                      date(2028, 3, 31)]


def test_a_yearly_plan_renews_on_the_29th_of_february_and_then_the_28th(sqlite_engine):
    from tests.conftest import wipe

    wipe(sqlite_engine)
    walk = Walk(sqlite_engine, date(2028, 2, 29))
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk, code="yearly", unit="year"), card=walk.card(customer))
    walk.tick()
    walk.step(366)
    assert [i.period_start for i in walk.invoices(sub)] == [date(2028, 2, 29), date(2029, 2, 28)]


def test_renewals_follow_the_local_date_across_dst_changes(sqlite_engine):
    """At 00:30 London time the UTC date is the day before in summer: billing follows London."""
    from tests.conftest import wipe

    wipe(sqlite_engine)
    walk = Walk(sqlite_engine, date(2026, 3, 1), hour_local=0)
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer))
    walk.tick()
    for _ in range(250):  # across the March and October clock changes
        walk.step()
        started = [i.period_start for i in walk.invoices(sub)]
        assert started[-1] <= walk.day  # never billed before its local day
    assert [i.period_start for i in walk.invoices(sub)] == [date(2026, m, 1) for m in range(3, 12)]
    assert [i.issue_date for i in walk.invoices(sub)] == [date(2026, m, 1) for m in range(3, 12)]


def test_the_last_billing_cycle_ends_in_expiry(walk):
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk, cycles=3), card=walk.card(customer))
    walk.tick()
    _walk(walk, 120)
    state = _sub(walk, sub)
    assert (state.status, state.expired_reason) == ("expired", "term_end")
    assert len(walk.invoices(sub)) == 3


def test_running_the_tick_twice_at_the_same_time_bills_and_charges_once(walk):
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer))
    for _ in range(3):
        walk.tick()
    walk.step(31)
    walk.tick()
    walk.tick()
    assert len(walk.invoices(sub)) == 2
    assert walk.gateway.charges_for("") == 2


def test_a_future_subscription_starts_on_its_start_date(walk):
    customer = _customer(walk)
    plan = _plan(walk)
    with walk.session() as s:
        sub = Subscription(number="SUB-F", customer_id=customer, plan_id=plan, currency="USD",
                           status="future", start_date=START + timedelta(days=5), anchor_day=10,
                           created_at=walk.now, updated_at=walk.now)
        s.add(sub)
        s.flush()
        sub_id = sub.id
    _walk(walk, 4)
    assert _sub(walk, sub_id).status == "future"
    _walk(walk, 1)
    assert _sub(walk, sub_id).status == "live"
    [invoice] = walk.invoices(sub_id)
    assert invoice.kind == "first_term" and invoice.status == "open"


# -- Invoices nobody charges automatically are chased (issue 22, defect 5) --------------------

def _overdue_mails(walk) -> list[tuple[date, str]]:
    return walk.read(lambda s: [(m.created_at.date(), m.context["number"]) for m in s.exec(
        select(OutboxMessage).where(OutboxMessage.template == "invoice_overdue")
        .order_by(OutboxMessage.id))])


def test_invoices_nobody_charges_are_reminded_on_the_overdue_days(walk):
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk))  # auto-charge off: due 7 days after issue
    walk.tick()
    _walk(walk, 40)
    first, second = (i.number for i in walk.invoices(sub))
    # the defaults: 1, 7 and 14 days past due (due 12 Jan and 12 Feb)
    assert _overdue_mails(walk) == [(date(2026, 1, 13), first), (date(2026, 1, 19), first),
                                    (date(2026, 1, 26), first), (date(2026, 2, 13), second)]
    assert _sub(walk, sub).status == "live"  # the organization's setting: do nothing


def test_after_a_quiet_spell_an_overdue_invoice_gets_only_its_latest_reminder(walk):
    customer = _customer(walk)
    _subscribe(walk, customer, _plan(walk))
    walk.tick()
    walk.day = date(2026, 1, 28)  # no tick from 5 to 28 January: 16 days past due
    walk.tick()
    assert [on for on, _ in _overdue_mails(walk)] == [date(2026, 1, 28)]


@pytest.mark.parametrize("action", ["unpaid", "cancelled"])
def test_an_invoice_unpaid_long_past_due_ends_the_subscriptions_renewals(walk, action):
    with walk.session() as s:
        s.add(Preferences(organization_id=1, overdue_action=action, overdue_action_days=30))
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk))
    walk.tick()
    _walk(walk, 36)  # 10 February: 29 days past due, still live; renewed on 5 February
    assert _sub(walk, sub).status == "live" and len(walk.invoices(sub)) == 2
    _walk(walk, 1)
    state = _sub(walk, sub)
    assert (state.status, state.next_billing_date) == (action, None)
    assert state.cancelled_on == (date(2026, 2, 11) if action == "cancelled" else None)
    assert walk.mails("ana@example.com").count("overdue_final") == 1
    _walk(walk, 90)
    assert len(walk.invoices(sub)) == 2  # nothing more is billed


def test_an_unpaid_subscription_whose_invoice_a_credit_settles_is_live_again(walk):
    from webapp.services.billing import ledger

    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer, DECLINED_CARD))
    walk.tick()
    _walk(walk, 7)
    assert _sub(walk, sub).status == "unpaid"
    [invoice] = walk.invoices(sub)
    with walk.session() as s:  # a goodwill credit note pays the open invoice at once
        ledger.create_credit_note(s, customer_id=customer, currency="USD", total=invoice.total,
                                  reason="Goodwill", issue_date=walk.day, now=walk.now)
    _walk(walk, 1)  # 13 January: the term restarts on the day the tick sees it settled
    state = _sub(walk, sub)
    assert (state.status, state.current_term_start, state.current_term_end) == (
        "live", date(2026, 1, 13), date(2026, 2, 13))
    assert len(walk.invoices(sub)) == 1


def test_a_pause_schedule_whose_resume_date_has_passed_is_cleared_not_obeyed(walk):
    """Imported or seeded rows (or an outage) can leave one: pausing on it would resume at
    once and bill a term no one asked for."""
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer))
    walk.tick()
    with walk.session() as s:
        row = s.get(Subscription, sub)
        row.pause_on, row.resume_on = START - timedelta(days=30), START - timedelta(days=2)
    _walk(walk, 1)
    state = _sub(walk, sub)
    assert (state.status, state.pause_on, state.resume_on) == ("live", None, None)
    assert len(walk.invoices(sub)) == 1
