"""The rest of the catalogue, each type produced by its real service path: a change of items,
a new subscription, an overdue invoice, unpaid after dunning, a refund, cards, a customer's
details, estimates, time entries and reviews."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.factories import moment_on
from tests.unit.subscriptions.test_subscription_changes import TERM_START, Book, at, day
from webapp import demo
from webapp.models import (
    Estimate,
    Payment,
    PaymentMethod,
    Plan,
    Preferences,
    TimeEntry,
    WebhookEvent,
)
from webapp.services.accounts import profile
from webapp.services.admin import Actor
from webapp.services.admin import billing as admin_billing
from webapp.services.admin import subscriptions as admin_subscriptions
from webapp.services.billing.gateway import CardDetails, TestGateway
from webapp.services.engagement import estimates, reviews, timesheets
from webapp.services.payments import methods
from webapp.services.subscriptions import lifecycle

ADMIN = Actor(None, "test admin")


def emitted(session, type_: str | None = None, since: int = 0) -> list[WebhookEvent]:
    session.flush()
    query = select(WebhookEvent).where(WebhookEvent.id > since).order_by(WebhookEvent.id)
    if type_:
        query = query.where(WebhookEvent.type == type_)
    return list(session.exec(query))


def mark(session) -> int:
    found = emitted(session)
    return found[-1].id if found else 0


@pytest.fixture
def book(session) -> Book:
    return Book(session, at(TERM_START))


@pytest.fixture
def seeded(session, now):
    result = demo.seed_demo(session, now=now)
    session.commit()
    return result


def test_a_change_of_items_sends_changed_with_the_items_before_and_after(book):
    sub = book.live(30000)
    since = mark(book.session)
    book.change(sub, day(10), plan=50000, seats=2)
    [event] = emitted(book.session, "subscription.changed", since)
    data = event.payload["data"]
    assert data["previous"]["items"] == {"plan_id": book.plans[30000].id, "addons": [],
                                         "coupon_ids": []}
    assert data["object"]["items"] == {
        "plan_id": book.plans[50000].id, "addons": [{"addon_id": book.seat.id, "quantity": 2}],
        "coupon_ids": []}
    assert data["object"]["number"] == sub.number


def test_a_change_at_the_term_end_is_sent_when_the_tick_makes_it(book, engine):
    sub = book.live(50000)
    book.change(sub, day(10), plan=30000, timing="end_of_term")
    book.session.commit()
    since = mark(book.session)
    assert emitted(book.session, "subscription.changed", 0) == []  # only scheduled so far
    lifecycle.tick(book.session, now=at(sub.current_term_end))
    [event] = emitted(book.session, "subscription.changed", since)
    assert event.payload["data"]["object"]["items"]["plan_id"] == book.plans[30000].id


def test_an_admin_creating_a_subscription_sends_created(session, seeded, now):
    plan = session.exec(select(Plan).where(Plan.status == "active")).first()
    sub = admin_subscriptions.create_subscription(
        session, actor=ADMIN, customer_id=seeded.omar_customer_id,
        data=admin_subscriptions.NewSubscription(plan_id=plan.id, start_date=now.date()
                                                 + timedelta(days=3)),
        at=moment_on(now.date(), now))
    [event] = emitted(session, "subscription.created")
    assert event.payload["data"]["object"]["id"] == sub.id
    assert event.payload["data"]["object"]["status"] == "future"


def test_the_tick_sends_overdue_and_unpaid(session, seeded, now):
    prefs = session.get(Preferences, 1)
    prefs.overdue_reminder_days = [1]
    session.commit()
    lifecycle.tick(session, now=now)
    overdue = emitted(session, "invoice.overdue")
    assert overdue and all(e.payload["data"]["object"]["status"] == "open" for e in overdue)
    assert all(e.payload["data"]["object"]["days_overdue"] >= 1 for e in overdue)
    later = now + timedelta(days=60)  # dunning and overdue limits run out
    for step in range(1, 61, 3):
        lifecycle.tick(session, now=now + timedelta(days=step))
        session.commit()
    lifecycle.tick(session, now=later)
    ended = emitted(session, "subscription.unpaid") + emitted(session, "subscription.cancelled")
    assert ended, "no subscription left unpaid or cancelled by dunning or an overdue invoice"


def test_a_refund_sends_refunded(session, seeded, now):
    payment = session.exec(select(Payment).where(
        Payment.kind == "payment", Payment.status == "succeeded",
        Payment.customer_id == seeded.jane_customer_id).order_by(Payment.id)).first()
    admin_billing.refund_payment(session, actor=ADMIN, payment_id=payment.id, amount="1.00",
                                 reference="Goodwill", at=moment_on(now.date(), now))
    [event] = emitted(session, "payment.refunded")
    obj = event.payload["data"]["object"]
    assert (obj["kind"], obj["amount"], obj["refund_of_id"]) == ("refund", 100, payment.id)


def test_cards_added_made_default_and_removed(session, seeded, now, engine):
    customer_id = seeded.omar_customer_id
    gateway = TestGateway(engine)
    card = CardDetails(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
    first = methods.add(session, customer_id=customer_id, card=card, gateway=gateway,
                        now=now).method
    second = methods.add(session, customer_id=customer_id, card=card, gateway=gateway,
                         now=now).method
    methods.set_default(session, customer_id=customer_id, method_id=second.id, now=now)
    methods.remove(session, customer_id=customer_id, method_id=first.id, now=now)
    assert [e.type for e in emitted(session) if e.type.startswith("payment_method.")] == [
        "payment_method.added", "payment_method.added", "payment_method.updated",
        "payment_method.removed"]
    added = emitted(session, "payment_method.added")[0].payload["data"]["object"]
    assert added["last4"] == "4242" and "gateway_token" not in added
    assert session.get(PaymentMethod, first.id).gateway_token not in repr(
        [e.payload for e in emitted(session)])


def test_a_customer_updating_their_details_sends_the_changed_fields(session, seeded, now):
    customer_id = seeded.jane_customer_id
    current = profile.profile(session, customer_id=customer_id).details
    changed = profile.Details(**{**current.__dict__, "phone": "+44 20 7946 0000"})
    profile.update_details(session, customer_id=customer_id, user_id=None, actor="Jane",
                           data=changed, now=now)
    [event] = emitted(session, "customer.updated")
    assert event.payload["data"]["previous"] == {"phone": current.phone}
    assert event.payload["data"]["object"]["phone"] == "+44 20 7946 0000"
    assert "password_hash" not in event.payload["data"]["object"]


def test_estimates_time_entries_and_reviews(session, seeded, now):
    jane, today = seeded.jane_customer_id, moment_on(now.date(), now)
    sent = session.exec(select(Estimate).where(Estimate.customer_id == jane,
                                               Estimate.status == "sent",
                                               Estimate.expiry_date >= now.date())).all()
    assert len(sent) >= 2  # the demo's "Website redesign" and "Analytics dashboard"
    estimates.accept(session, customer_id=jane, user_id=None, estimate_id=sent[0].id, at=today)
    estimates.decline(session, customer_id=jane, user_id=None, estimate_id=sent[1].id,
                      reason="Too dear", at=today)
    pending = session.exec(select(TimeEntry).where(TimeEntry.customer_id == jane,
                                                   TimeEntry.approval == "pending")
                           .order_by(TimeEntry.id)).all()
    timesheets.decide(session, customer_id=jane, user_id=None, entry_ids=[pending[0].id],
                      decision=timesheets.APPROVE, reason="", now=now)
    timesheets.decide(session, customer_id=jane, user_id=None, entry_ids=[pending[1].id],
                      decision=timesheets.DISAPPROVE, reason="Not agreed.", now=now)
    reviews.submit(session, customer_id=jane, user_id=None, rating=5, body="Great", now=now)
    sent_types = [e.type for e in emitted(session)]
    for type_ in ("estimate.accepted", "estimate.declined", "time_entry.approved",
                  "time_entry.disapproved", "review.created"):
        assert type_ in sent_types
    declined = emitted(session, "estimate.declined")[0].payload["data"]
    assert declined["object"]["decision_reason"] == "Too dear"
    approved = emitted(session, "time_entry.approved")[0].payload["data"]
    assert approved["object"]["id"] == pending[0].id and approved["previous"] == {
        "approval": "pending"}
    assert emitted(session, "review.created")[0].payload["data"]["object"]["rating"] == 5
