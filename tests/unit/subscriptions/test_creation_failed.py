"""Creation failed (Zoho's state, issue 30): a new subscription whose first charge fails is not
started, shows the gateway's message, never enters dunning, and an admin retries it (a new
first term from the retry day) or discards it. The real tick, charges and test gateway, on both
databases (tests/walk.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from tests.factories import moment_on
from tests.walk import DECLINED_CARD, Walk
from webapp.models import (
    AuditEntry,
    Invoice,
    MrrMovement,
    Notification,
    Payment,
    Plan,
    PlanPrice,
    Subscription,
)
from webapp.services.admin import Actor
from webapp.services.admin import subscriptions as admin
from webapp.services.billing import charges
from webapp.services.core import state_machine
from webapp.services.core.errors import IllegalTransition

ADMIN = Actor(None, "admin@example.com")
START = date(2026, 3, 10)


@pytest.fixture
def walk(engine):
    return Walk(engine, START)


def _customer_and_plan(walk: Walk) -> tuple[int, int]:
    from tests.unit.subscriptions.test_lifecycle import _customer
    customer = _customer(walk)
    with walk.session() as s:
        plan = Plan(code="team", name="Team", created_at=walk.now)
        s.add(plan)
        s.flush()
        s.add(PlanPrice(plan_id=plan.id, currency="USD", amount=3000))
        return customer, plan.id


def _create(walk: Walk, customer: int, plan: int, card: int, start: date | None = None):
    """As the admin's form does: create, commit, then run the first charge if one waits."""
    with walk.session() as s:
        sub = admin.create_subscription(
            s, actor=ADMIN, customer_id=customer, at=moment_on(walk.day, walk.now),
            data=admin.NewSubscription(plan_id=plan, start_date=start, payment_method_id=card,
                                       autocharge=True))
        sub_id, payment_id = sub.id, sub.awaiting_payment_id
    if payment_id is not None:
        charges.charge_now(walk.session, walk.gateway, payment_id=payment_id, now=walk.now)
    return sub_id, payment_id


def _sub(walk: Walk, sub_id: int) -> Subscription:
    return walk.read(lambda s: s.get(Subscription, sub_id))


def test_the_state_machine_has_the_state_and_its_ways_out():
    assert state_machine.allowed("future", "creation_failed")
    assert state_machine.TRANSITIONS["retry_creation"] == {"creation_failed": {"future"}}
    assert state_machine.TRANSITIONS["discard"] == {"creation_failed": {"cancelled"}}
    for event in ("renewal_failed", "retry_failed", "cancel_now", "pause", "change_now"):
        assert not state_machine.allowed("creation_failed", event)
    with pytest.raises(IllegalTransition, match="A failed new subscription cannot be paused"):
        state_machine.check("creation_failed", "pause")


def test_a_declined_first_charge_is_creation_failed_not_dunning(walk):
    customer, plan = _customer_and_plan(walk)
    sub_id, payment_id = _create(walk, customer, plan, walk.card(customer, DECLINED_CARD))
    assert payment_id is not None
    sub = _sub(walk, sub_id)
    assert sub.status == "creation_failed" and sub.creation_error == "Your card was declined."
    assert (sub.dunning_attempts, sub.next_retry_on, sub.next_billing_date) == (0, None, None)
    assert (sub.current_term_start, sub.cycles_billed, sub.awaiting_payment_id) == (None, 0, None)
    [invoice] = walk.invoices(sub_id)
    assert invoice.status == "void"
    assert walk.mails("ana@example.com") == []  # no "payment failed", no dunning mail
    notes = walk.read(lambda s: [n.event for n in s.exec(select(Notification))])
    assert "subscription_creation_failed" in notes
    # never counted: no MRR movement
    assert walk.read(lambda s: s.exec(select(MrrMovement)).all()) == []
    # the tick leaves it alone: no retries, no renewal
    for _ in range(40):
        walk.step()
    assert _sub(walk, sub_id).status == "creation_failed"
    assert len(walk.payments(customer, "failed")) == 1 and len(walk.invoices(sub_id)) == 1
    walk.assert_ledger()


def test_a_good_first_charge_starts_it_live(walk):
    customer, plan = _customer_and_plan(walk)
    sub_id, _ = _create(walk, customer, plan, walk.card(customer))
    sub = _sub(walk, sub_id)
    assert (sub.status, sub.current_term_start, sub.current_term_end) == (
        "live", START, date(2026, 4, 10))
    [invoice] = walk.invoices(sub_id)
    assert invoice.status == "paid"
    kinds = walk.read(lambda s: [m.kind for m in s.exec(select(MrrMovement))])
    assert kinds == ["new"]


def test_an_admin_retries_it_after_the_customer_changed_card(walk):
    customer, plan = _customer_and_plan(walk)
    sub_id, _ = _create(walk, customer, plan, walk.card(customer, DECLINED_CARD))
    walk.step(3)
    good = walk.card(customer)
    with walk.session() as s:
        s.execute(update(Subscription).where(Subscription.id == sub_id)
                  .values(payment_method_id=good))
    with walk.session() as s:
        sub = admin.retry_creation(s, actor=ADMIN, subscription_id=sub_id,
                                   at=moment_on(walk.day, walk.now))
        payment_id = sub.awaiting_payment_id
        assert sub.status == "future" and sub.creation_error is None
    outcome = charges.charge_now(walk.session, walk.gateway, payment_id=payment_id, now=walk.now)
    assert outcome.succeeded
    sub = _sub(walk, sub_id)
    retry_day = START + timedelta(days=3)
    assert (sub.status, sub.start_date, sub.current_term_start, sub.anchor_day) == (
        "live", retry_day, retry_day, retry_day.day)
    invoices = walk.invoices(sub_id)
    assert [i.status for i in invoices] == ["void", "paid"]
    assert invoices[1].period_start == retry_day
    walk.assert_ledger()
    actions = walk.read(lambda s: [e.action for e in s.exec(select(AuditEntry).where(
        AuditEntry.subject_id == sub_id, AuditEntry.subject_type == "subscription"))])
    assert "subscription.retry_creation" in actions


def test_a_retry_that_fails_again_stays_creation_failed(walk):
    customer, plan = _customer_and_plan(walk)
    sub_id, _ = _create(walk, customer, plan, walk.card(customer, DECLINED_CARD))
    with walk.session() as s:
        payment_id = admin.retry_creation(s, actor=ADMIN, subscription_id=sub_id,
                                          at=moment_on(walk.day, walk.now)).awaiting_payment_id
    charges.charge_now(walk.session, walk.gateway, payment_id=payment_id, now=walk.now)
    assert _sub(walk, sub_id).status == "creation_failed"
    assert [i.status for i in walk.invoices(sub_id)] == ["void", "void"]
    walk.assert_ledger()


def test_an_admin_discards_it(walk):
    customer, plan = _customer_and_plan(walk)
    sub_id, _ = _create(walk, customer, plan, walk.card(customer, DECLINED_CARD))
    with walk.session() as s:
        admin.discard(s, actor=ADMIN, subscription_id=sub_id, at=moment_on(walk.day, walk.now))
    sub = _sub(walk, sub_id)
    assert (sub.status, sub.cancelled_on, sub.next_billing_date) == ("cancelled", START, None)
    with walk.session() as s, pytest.raises(IllegalTransition):
        admin.discard(s, actor=ADMIN, subscription_id=sub_id, at=moment_on(walk.day, walk.now))


def test_a_discarded_subscription_cannot_be_reactivated(walk):
    """It never started: no reactivation is offered, and the service refuses one."""
    from webapp.services.core import preferences
    from webapp.services.core.errors import DomainError
    from webapp.services.subscriptions import views
    from webapp.services.subscriptions.actions import facts, terms
    customer, plan = _customer_and_plan(walk)
    sub_id, _ = _create(walk, customer, plan, walk.card(customer, DECLINED_CARD))
    with walk.session() as s:
        admin.discard(s, actor=ADMIN, subscription_id=sub_id, at=moment_on(walk.day, walk.now))
    at = moment_on(walk.day, walk.now)
    with walk.session() as s:
        prefs = preferences.load(s)
        prefs.reactivation = True  # customers may reactivate in general
        s.add(prefs)
        s.commit()
        assert preferences.allowed(preferences.load(s), preferences.SUBSCRIPTION_REACTIVATE)
        detail = views.subscription_detail(s, customer_id=customer, subscription_id=sub_id,
                                           at=at)
        assert not facts.available(s, detail, at=at).can_reactivate
        with pytest.raises(DomainError, match="never started"):
            terms.reactivation_summary(s, customer_id=customer, subscription_id=sub_id,
                                       now=walk.now)


def test_a_subscription_starting_later_fails_its_creation_on_the_tick(walk):
    customer, plan = _customer_and_plan(walk)
    sub_id, payment_id = _create(walk, customer, plan, walk.card(customer, DECLINED_CARD),
                                 start=START + timedelta(days=2))
    assert payment_id is None and _sub(walk, sub_id).status == "future"
    walk.step(2)  # the tick starts it and runs its charge
    sub = _sub(walk, sub_id)
    assert sub.status == "creation_failed" and sub.creation_error == "Your card was declined."
    assert walk.read(lambda s: s.exec(select(Payment.purpose)).all()) == ["start"]
    [invoice] = walk.read(lambda s: s.exec(select(Invoice)).all())
    assert invoice.status == "void"
