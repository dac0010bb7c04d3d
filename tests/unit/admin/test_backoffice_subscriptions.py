"""Back office: subscriptions the admin creates bill on the tick like any other; the admin's
cancel, pause and change go through the state machine and the change service."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import make_customer, make_plan, make_subscription, moment_on, pay
from tests.walk import Walk
from webapp.demo import seed_organization
from webapp.models import (
    AuditEntry,
    Coupon,
    CreditNote,
    Customer,
    Invoice,
    InvoiceLine,
    OutboxMessage,
    Subscription,
    SubscriptionAddon,
    SubscriptionCoupon,
)
from webapp.services.admin import Actor, catalog
from webapp.services.admin import subscriptions as admin
from webapp.services.billing import ledger
from webapp.services.billing.pricing import Charge, price
from webapp.services.core import numbering, outbox
from webapp.services.core.errors import Forbidden, IllegalTransition
from webapp.services.core.preferences import InvalidChanges
from webapp.services.subscriptions import changes as subscription_changes

ADMIN = Actor(None, "admin@example.com")
START = date(2026, 3, 10)


# --- Billing on the tick, exactly like a seeded subscription -----------------------------------

@pytest.fixture
def walk(engine):
    return Walk(engine, START)


def _catalog(walk) -> tuple[int, int, int]:
    with walk.session() as s:
        plan = catalog.create_plan(s, actor=ADMIN, now=walk.now, data=catalog.PlanInput(
            "team", "Team", trial_days="14", prices={"USD": "30.00"}, setup_fees={"USD": "5"}))
        addon = catalog.create_addon(s, actor=ADMIN, now=walk.now, data=catalog.AddonInput(
            "seat", "Seat", "recurring", "seat", {"USD": "8"}))
        coupon = catalog.create_coupon(s, actor=ADMIN, at=moment_on(walk.day, walk.now),
                                       data=catalog.CouponInput("FIRST2", "First two",
                                                                percent="10",
                                                                duration="n_terms",
                                                                duration_terms="2"))
        return plan.id, addon.id, coupon.id


def _customer(walk, email: str) -> int:
    with walk.session() as s:
        customer = Customer(display_name=email, email=email, currency="USD", created_at=walk.now)
        s.add(customer)
        s.flush()
        return customer.id


def _seeded(walk, customer_id, plan_id, addon_id, coupon_id, start, card) -> int:
    """As the demo data and the engine's own tests write a subscription."""
    with walk.session() as s:
        sub = Subscription(number=numbering.take_one(s, "subscription"), customer_id=customer_id,
                           plan_id=plan_id, currency="USD", status="future", start_date=start,
                           anchor_day=start.day, next_billing_date=start,
                           payment_method_id=card, autocharge=card is not None,
                           created_at=walk.now, updated_at=walk.now)
        s.add(sub)
        s.flush()
        s.add(SubscriptionAddon(subscription_id=sub.id, addon_id=addon_id, quantity=2))
        s.add(SubscriptionCoupon(subscription_id=sub.id, coupon_id=coupon_id,
                                 applied_at=walk.now))
        s.get(Coupon, coupon_id).redemptions += 1
        return sub.id


def _by_admin(walk, customer_id, plan_id, addon_id, start, card) -> int:
    with walk.session() as s:
        sub = admin.create_subscription(
            s, actor=ADMIN, customer_id=customer_id, at=moment_on(walk.day, walk.now),
            data=admin.NewSubscription(plan_id=plan_id, addons={addon_id: "2"},
                                       coupon_code="first2", start_date=start,
                                       payment_method_id=card, autocharge=card is not None))
        return sub.id


def _bills(walk, sub_id):
    def read(s: Session):
        rows = []
        for inv in s.exec(select(Invoice).where(Invoice.subscription_id == sub_id)
                          .order_by(Invoice.period_start)):
            lines = s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id)
                           .order_by(InvoiceLine.position)).all()
            rows.append((inv.kind, inv.status, inv.issue_date, inv.due_date, inv.period_start,
                         inv.period_end, inv.total,
                         [(x.kind, x.description, x.quantity, x.amount, x.tax_amount)
                          for x in lines]))
        sub = s.get(Subscription, sub_id)
        return rows, (sub.status, sub.current_term_start, sub.current_term_end,
                      sub.next_billing_date, sub.cycles_billed)
    return walk.read(read)


@pytest.mark.parametrize("days_ahead, with_card", [(0, False), (3, True)],
                         ids=["starting now", "starting on a later date with auto-charge"])
def test_an_admin_created_subscription_bills_on_the_tick_like_a_seeded_one(
        walk, days_ahead, with_card):
    plan, addon, coupon = _catalog(walk)
    seeded_customer, admin_customer = _customer(walk, "s@example.com"), \
        _customer(walk, "a@example.com")
    start = walk.day + timedelta(days=days_ahead)
    seeded = _seeded(walk, seeded_customer, plan, addon, coupon, start,
                     walk.card(seeded_customer) if with_card else None)
    created = _by_admin(walk, admin_customer, plan, addon, start,
                        walk.card(admin_customer) if with_card else None)
    assert walk.read(lambda s: s.get(Subscription, created).status) == "future"
    walk.tick()
    for _ in range(100):
        walk.step()
        walk.assert_ledger()
    seeded_bills, created_bills = _bills(walk, seeded), _bills(walk, created)
    assert len(created_bills[0]) == 4  # the first term and three renewals
    assert created_bills == seeded_bills
    kinds = [line[0] for line in created_bills[0][0][7]]
    assert kinds == ["plan", "addon", "setup_fee", "discount"]


def test_a_trial_bills_its_first_term_when_it_ends_then_a_month_at_a_time(walk):
    plan, addon, _ = _catalog(walk)
    customer = _customer(walk, "t@example.com")
    with walk.session() as s:
        sub = admin.create_subscription(s, actor=ADMIN, customer_id=customer,
                                        at=moment_on(walk.day, walk.now),
                                        data=admin.NewSubscription(plan_id=plan, trial=True))
        assert (sub.status, sub.trial_end) == ("trial", START + timedelta(days=14))
        sub_id = sub.id
    for _ in range(14):
        walk.step()
    [first] = walk.invoices(sub_id)
    assert (first.kind, first.period_start, first.period_end) == (
        "first_term", date(2026, 3, 24), date(2026, 4, 24))
    assert walk.read(lambda s: s.get(Subscription, sub_id).status) == "live"


# --- Checks on the form ------------------------------------------------------------------------

@pytest.fixture
def org(session, now):
    return seed_organization(session, now=now)


def test_a_new_subscription_is_checked_field_by_field(session, now, org):
    customer = make_customer(session, now=now)
    plan = make_plan(session, now=now)
    with pytest.raises(InvalidChanges) as refused:
        admin.create_subscription(session, actor=ADMIN, customer_id=customer.id,
                                  at=moment_on(now.date(), now), data=admin.NewSubscription(
                                      plan_id=plan.id, start_date=now.date() - timedelta(days=1),
                                      trial=True, coupon_code="NOPE", autocharge=True))
    assert set(refused.value.errors) == {"start_date", "trial", "coupon_code", "autocharge"}
    with pytest.raises(InvalidChanges) as refused:
        admin.create_subscription(session, actor=ADMIN, customer_id=customer.id,
                                  at=moment_on(now.date(), now),
                                  data=admin.NewSubscription(plan_id=None, addons={999: "-1"}))
    assert set(refused.value.errors) == {"plan_id", "addons"}
    assert session.exec(select(Subscription)).all() == []


def test_a_plan_not_priced_in_the_customers_currency_cannot_be_chosen(session, now, org):
    customer = make_customer(session, now=now, currency="EUR")
    plan = make_plan(session, now=now, currency="USD")
    with pytest.raises(InvalidChanges) as refused:
        admin.create_subscription(session, actor=ADMIN, customer_id=customer.id,
                                  at=moment_on(now.date(), now),
                                  data=admin.NewSubscription(plan_id=plan.id))
    assert refused.value.errors == {"plan_id": "Choose an active plan priced in EUR."}


def test_creating_a_subscription_is_audited(session, now, org):
    customer = make_customer(session, now=now)
    plan = make_plan(session, now=now)
    sub = admin.create_subscription(session, actor=ADMIN, customer_id=customer.id,
                                    at=moment_on(now.date(), now),
                                    data=admin.NewSubscription(plan_id=plan.id))
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.action, entry.subject_id, entry.customer_id) == (
        "subscription.create", sub.id, customer.id)


# --- The admin's changes ----------------------------------------------------------------------

def test_the_admin_cancels_now_whatever_the_customers_preferences_say(session, now, org):
    sub = make_subscription(session, customer=make_customer(session, now=now), now=now)
    admin.cancel(session, actor=ADMIN, subscription_id=sub.id, timing=admin.IMMEDIATELY,
                 reason="Closed the account", at=moment_on(now.date(), now))
    assert (sub.status, sub.cancelled_on, sub.next_billing_date) == ("cancelled", now.date(),
                                                                     None)
    assert [m.template for m in session.exec(select(OutboxMessage))] == [
        "admin_subscription_update", "org_notification"]
    with pytest.raises(IllegalTransition):
        admin.cancel(session, actor=ADMIN, subscription_id=sub.id, timing=admin.IMMEDIATELY,
                     reason="", at=moment_on(now.date(), now))


def _paid_term(session, now, customer, days_in: int):
    """A live subscription 30-day term, `days_in` days old, its invoice (30.00) paid."""
    sub = make_subscription(session, customer=customer, now=now,
                            start=now.date() - timedelta(days=days_in))
    term = ledger.issue_invoice(
        session, customer_id=customer.id, currency="USD", kind="renewal",
        priced=price([Charge("plan", "Test plan", 1, 3000)]), issue_date=sub.current_term_start,
        due_date=sub.current_term_start, now=now, subscription_id=sub.id,
        period=ledger.Period(sub.current_term_start, sub.current_term_end))
    pay(session, customer=customer, invoices=[term], amount=3000, now=now)
    return sub


def _mail_text(session, row, now) -> str:
    """The plain text of a mail as it is sent (its amounts in the reader's locale)."""
    message = outbox.build_message(session, row, mail_from="portal@example.com", now=now,
                                   paths=lambda endpoint, values: "/subscriptions/1")
    return message.get_body(preferencelist=("plain",)).get_content()


def test_cancelling_now_credits_the_paid_unused_days_when_the_admin_asks(session, now, org):
    customer = make_customer(session, now=now)
    credited, kept = _paid_term(session, now, customer, 10), _paid_term(session, now, customer, 10)
    view = admin.subscription_view(session, subscription_id=credited.id, at=moment_on(now.date()))
    assert (view.unused.days_left, view.unused.term_days, view.unused.total) == (20, 30, 2000)
    admin.cancel(session, actor=ADMIN, subscription_id=credited.id, timing=admin.IMMEDIATELY,
                 reason="", at=moment_on(now.date(), now), credit_unused=True)
    admin.cancel(session, actor=ADMIN, subscription_id=kept.id, timing=admin.IMMEDIATELY,
                 reason="", at=moment_on(now.date(), now))
    note = session.exec(select(CreditNote)).one()  # only the one the admin asked for
    assert (note.total, note.balance, note.subscription_id) == (2000, 2000, credited.id)
    told = [_mail_text(session, m, now) for m in session.exec(select(OutboxMessage).where(
        OutboxMessage.template == "admin_subscription_update").order_by(OutboxMessage.id))]
    assert f"Credit note {note.number} gives you US$20.00" in told[0] and "Credit" not in told[1]

    entry = session.exec(select(AuditEntry).where(AuditEntry.subject_id == credited.id)).one()
    assert entry.after["credit_note"] == note.number


def test_the_admin_schedules_a_cancellation_for_the_end_of_the_term(session, now, org):
    sub = make_subscription(session, customer=make_customer(session, now=now), now=now)
    admin.cancel(session, actor=ADMIN, subscription_id=sub.id, timing=admin.END_OF_TERM,
                 reason="", at=moment_on(now.date(), now))
    assert (sub.status, sub.status_before_cancel) == ("non_renewing", "live")


def test_the_admin_schedules_a_pause_that_the_tick_carries_out(session, now, org):
    sub = make_subscription(session, customer=make_customer(session, now=now), now=now)
    pause_on, resume_on = now.date() + timedelta(days=5), now.date() + timedelta(days=40)
    with pytest.raises(InvalidChanges) as refused:
        admin.pause(session, actor=ADMIN, subscription_id=sub.id, pause_on=pause_on,
                    resume_on=pause_on, at=moment_on(now.date(), now))
    assert set(refused.value.errors) == {"resume_on"}
    admin.pause(session, actor=ADMIN, subscription_id=sub.id, pause_on=pause_on,
                resume_on=resume_on, at=moment_on(now.date(), now))
    assert (sub.status, sub.pause_on, sub.resume_on) == ("live", pause_on, resume_on)


def test_the_admins_plan_change_is_the_customers_proration(session, now, org):
    customer = make_customer(session, now=now)
    small = make_plan(session, now=now, code="small", amount=3000)
    big = make_plan(session, now=now, code="big", amount=5000)
    start = now.date() - timedelta(days=10)
    sub = make_subscription(session, customer=customer, now=now, plan=small, start=start)
    request = subscription_changes.ChangeRequest(plan_id=big.id)
    draft = admin.draft_change(session, subscription_id=sub.id, request=request,
                               at=moment_on(now.date()))
    # With the customers' edit preference off (the default), the customer could not do this.
    with pytest.raises(Forbidden):
        subscription_changes.draft_change(session, customer_id=customer.id,
                                          subscription_id=sub.id, request=request,
                                          at=moment_on(now.date()))
    made = admin.confirm_change(session, actor=ADMIN, subscription_id=sub.id, request=request,
                                fingerprint=draft.fingerprint(), at=moment_on(now.date(), now))
    assert sub.plan_id == big.id and made.invoice.kind == "proration"
    assert made.invoice.total == draft.invoice.total
    stale = admin.draft_change(session, subscription_id=sub.id, at=moment_on(now.date()),
                               request=subscription_changes.ChangeRequest(plan_id=small.id))
    with pytest.raises(subscription_changes.PriceChanged):
        admin.confirm_change(session, actor=ADMIN, subscription_id=sub.id,
                             request=subscription_changes.ChangeRequest(plan_id=small.id),
                             fingerprint=stale.fingerprint()[::-1], at=moment_on(now.date(), now))


# --- The admin's cancel and pause are the customer's, with the admin's options (issue 22) -------

def test_the_admins_cancel_credits_what_the_customer_holds_now(session, now, org):
    """After a downgrade, 10 days of the plan held now are credited, as for the customer."""
    customer = make_customer(session, now=now)
    small = make_plan(session, now=now, code="small", amount=30000)
    big = make_plan(session, now=now, code="big", amount=50000)
    org.tax_name, org.tax_rate_bp = None, None
    sub = make_subscription(session, customer=customer, now=now, plan=big,
                            start=now.date() - timedelta(days=20))  # 30 days, 10 left today
    term = ledger.issue_invoice(
        session, customer_id=customer.id, currency="USD", kind="renewal",
        priced=price([Charge("plan", "Big", 1, 50000)]), issue_date=sub.current_term_start,
        due_date=sub.current_term_start, now=now, subscription_id=sub.id,
        period=ledger.Period(sub.current_term_start, sub.current_term_end))
    pay(session, customer=customer, invoices=[term], amount=50000, now=now)
    request = subscription_changes.ChangeRequest(plan_id=small.id)
    on = now.date() - timedelta(days=10)  # day 10: 20 days left
    draft = admin.draft_change(session, subscription_id=sub.id, request=request,
                               at=moment_on(on))
    admin.confirm_change(session, actor=ADMIN, subscription_id=sub.id, request=request,
                         fingerprint=draft.fingerprint(), at=moment_on(on, now))
    admin.cancel(session, actor=ADMIN, subscription_id=sub.id, timing=admin.IMMEDIATELY,
                 reason="", at=moment_on(now.date(), now), credit_unused=True)
    notes = session.exec(select(CreditNote).order_by(CreditNote.id)).all()
    assert [n.total for n in notes] == [33333, 10000]


def test_the_admins_pause_is_held_to_the_longest_pause(session, now, org):
    sub = make_subscription(session, customer=make_customer(session, now=now), now=now)
    pause_on = now.date() + timedelta(days=5)
    with pytest.raises(InvalidChanges) as refused:  # the preference's 90 days, by default
        admin.pause(session, actor=ADMIN, subscription_id=sub.id, pause_on=pause_on,
                    resume_on=pause_on + timedelta(days=91), at=moment_on(now.date(), now))
    assert refused.value.errors == {"resume_on": "A pause lasts at most 90 days."}
    admin.pause(session, actor=ADMIN, subscription_id=sub.id, pause_on=pause_on,
                resume_on=pause_on + timedelta(days=90), at=moment_on(now.date(), now))
    assert sub.resume_on == pause_on + timedelta(days=90)


def test_the_admins_pause_refuses_a_day_in_the_past_as_the_customers_does(session, now, org):
    sub = make_subscription(session, customer=make_customer(session, now=now), now=now)
    with pytest.raises(InvalidChanges) as refused:
        admin.pause(session, actor=ADMIN, subscription_id=sub.id,
                    pause_on=now.date() - timedelta(days=1),
                    resume_on=now.date() + timedelta(days=10), at=moment_on(now.date(), now))
    assert refused.value.errors == {"pause_on": "The pause cannot start before today."}
