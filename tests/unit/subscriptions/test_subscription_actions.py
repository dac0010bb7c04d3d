"""The customer's subscription actions, through the services, with a fixed clock, on both DBs."""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import make_customer, make_invoice, moment_on
from webapp.demo import seed_organization
from webapp.models import (
    Addon,
    AddonPrice,
    Coupon,
    CreditNote,
    Invoice,
    InvoiceLine,
    Notification,
    OutboxMessage,
    Payment,
    PaymentMethod,
    Plan,
    PlanPrice,
    Subscription,
    SubscriptionAddon,
    SubscriptionCoupon,
)
from webapp.services.billing import charges, context, ledger, terms
from webapp.services.billing.gateway import TestGateway
from webapp.services.core import notifications, numbering, outbox
from webapp.services.core.errors import DomainError, Forbidden, IllegalTransition, InvalidInput
from webapp.services.core.preferences import seed_demo_preferences
from webapp.services.subscriptions import actions, views
from webapp.services.subscriptions.views import subscription_detail

TODAY = date(2026, 11, 26)  # the fixed `now` in the organization's timezone (Europe/London)
_tokens = itertools.count(1)


def d(days: int) -> date:
    return TODAY + timedelta(days=days)


class Shop:
    """One customer of an organization whose every switch is on (as in the demo)."""

    def __init__(self, session: Session, now):
        self.session, self.now = session, now
        seed_organization(session, now=now)  # VAT 20 %
        self.prefs = seed_demo_preferences(session, now=now)
        self.customer = make_customer(session, now=now)
        self.plan = Plan(code="pro", name="Pro", trial_days=14, created_at=now)
        session.add(self.plan)
        session.flush()
        session.add(PlanPrice(plan_id=self.plan.id, currency="USD", amount=3000, setup_fee=500))
        session.flush()

    def card(self, behaviour: str = "ok") -> PaymentMethod:
        method = PaymentMethod(customer_id=self.customer.id, brand="Visa", last4="4242",
                               gateway_token=f"tok_test_{behaviour}_{next(_tokens):08d}",
                               exp_month=12, exp_year=2030, created_at=self.now)
        self.session.add(method)
        self.session.flush()
        return method

    def subscription(self, status: str, start: date, **fields) -> Subscription:
        sub = Subscription(number=numbering.take_one(self.session, "subscription"),
                           customer_id=self.customer.id, plan_id=self.plan.id, currency="USD",
                           status=status, start_date=start, anchor_day=start.day,
                           created_at=self.now, updated_at=self.now, **fields)
        self.session.add(sub)
        self.session.flush()
        return sub

    def trial(self, card: PaymentMethod | None = None) -> Subscription:
        return self.subscription("trial", d(-5), trial_start=d(-5), trial_end=d(9),
                                 current_term_start=d(-5), current_term_end=d(9),
                                 next_billing_date=d(9), autocharge=card is not None,
                                 payment_method_id=card.id if card else None)

    def live(self, start: date = date(2026, 11, 6), *, paid: bool = True,
             seats: int = 0) -> Subscription:
        """Live, its current term invoiced (and paid) from `start`."""
        sub = self.subscription("live", start)
        if seats:
            addon = Addon(code="seat", name="Seat", created_at=self.now)
            self.session.add(addon)
            self.session.flush()
            self.session.add(AddonPrice(addon_id=addon.id, currency="USD", unit_amount=800))
            self.session.add(SubscriptionAddon(subscription_id=sub.id, addon_id=addon.id,
                                               quantity=seats))
            self.session.flush()
        draft = terms.draft(self.session, sub, terms.Term(start, "first_term"), tax_rate_bp=2000)
        invoice = terms.issue(self.session, sub, draft, issue_date=start, due_date=start,
                              now=self.now)
        if paid:
            ledger.record_payment(self.session, customer_id=self.customer.id,
                                  amount=invoice.total, currency="USD", invoices=[invoice],
                                  paid_on=start, now=self.now, idempotency_key=f"t-{invoice.id}")
        sub.current_term_start, sub.current_term_end = draft.period.start, draft.period.end
        sub.next_billing_date, sub.cycles_billed = draft.period.end, 1
        self.session.flush()
        return sub

    def set(self, **prefs) -> None:
        for name, value in prefs.items():
            setattr(self.prefs, name, value)
        self.session.flush()

    def ids(self, sub: Subscription) -> dict:
        return {"customer_id": self.customer.id, "subscription_id": sub.id, "now": self.now}

    def reload(self, sub: Subscription) -> Subscription:
        self.session.expire_all()
        return self.session.get(Subscription, sub.id)

    def invoices(self, sub: Subscription) -> list[Invoice]:
        return list(self.session.exec(select(Invoice).where(Invoice.subscription_id == sub.id)
                                      .order_by(Invoice.id)))

    def mails(self) -> list[str]:
        return [m.template for m in self.session.exec(
            select(OutboxMessage).where(OutboxMessage.to_address == self.customer.email))]

    def notes(self) -> list[str]:
        return [n.event for n in self.session.exec(select(Notification).order_by(Notification.id))]


@pytest.fixture
def shop(session, now) -> Shop:
    return Shop(session, now)


def _run_charge(engine, payment_id: int, now):
    @contextmanager
    def scope():
        with Session(engine, expire_on_commit=False) as s:
            yield s
            s.commit()

    return charges.run(scope, TestGateway(engine), payment_id=payment_id, now=now)


def _confirm_activation(shop: Shop, sub: Subscription, key: str = "activation-key-0001"):
    summary = actions.activation_summary(shop.session, **shop.ids(sub))
    return summary, actions.activate(shop.session, **shop.ids(sub),
                                     fingerprint=summary.fingerprint(), idempotency_key=key)


# -- Activate Subscription --------------------------------------------------------------------

def test_activating_a_trial_without_autocharge_makes_it_live_today_with_an_open_invoice(shop):
    sub = shop.trial()
    summary, started = _confirm_activation(shop, sub)
    assert started.payment_id is None
    sub = shop.reload(sub)
    assert (sub.status, sub.trial_end, sub.current_term_start) == ("live", TODAY, TODAY)
    assert (sub.current_term_end, sub.next_billing_date) == (date(2026, 12, 26), date(2026, 12, 26))
    [invoice] = shop.invoices(sub)
    assert (invoice.kind, invoice.status, invoice.due_date) == ("first_term", "open", d(7))
    assert "subscription_update" in shop.mails() and context.ACTIVATED in shop.notes()


def test_the_activation_summary_is_the_invoice_to_the_cent(shop):
    sub = shop.trial()
    summary, started = _confirm_activation(shop, sub)
    lines = shop.session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == started.invoice.id)
                              .order_by(InvoiceLine.position)).all()
    assert [(x.kind, x.amount, x.tax_amount) for x in lines] == \
        [(x.kind, x.amount, x.tax_amount) for x in summary.invoice.priced.lines]
    assert [(x.kind, x.amount) for x in lines] == [("plan", 3000), ("setup_fee", 500)]
    assert started.invoice.total == summary.invoice.priced.total == 4200


def test_activation_uses_unused_credit_before_anything_is_due(shop):
    sub = shop.trial(card=shop.card())
    ledger.create_credit_note(shop.session, customer_id=shop.customer.id, currency="USD",
                              total=5000, reason="Goodwill", issue_date=d(-1), now=shop.now)
    summary, started = _confirm_activation(shop, sub)
    assert (summary.credit_applied, summary.amount_due, summary.charges_card) == (4200, 0, False)
    assert started.payment_id is None and started.invoice.status == "paid"


def test_a_stale_activation_summary_is_refused_and_changes_nothing(shop):
    sub = shop.trial()
    summary = actions.activation_summary(shop.session, **shop.ids(sub))
    shop.session.exec(select(PlanPrice)).one().amount = 3500  # the price moves meanwhile
    with pytest.raises(actions.PriceChanged, match="price changed"):
        actions.activate(shop.session, **shop.ids(sub), fingerprint=summary.fingerprint(),
                         idempotency_key="activation-key-0001")
    assert shop.reload(sub).status == "trial" and shop.invoices(sub) == []


def test_activating_with_autocharge_only_starts_the_charge(shop):
    sub = shop.trial(card=shop.card())
    summary, started = _confirm_activation(shop, sub)
    payment = shop.session.get(Payment, started.payment_id)
    assert (payment.status, payment.purpose, payment.amount) == ("pending", "activation", 4200)
    sub = shop.reload(sub)
    assert sub.status == "trial" and sub.awaiting_payment_id == payment.id
    assert shop.invoices(sub) == []


def test_a_successful_activation_charge_issues_the_invoice_paid_and_goes_live(shop, engine):
    sub = shop.trial(card=shop.card())
    summary, started = _confirm_activation(shop, sub)
    shop.session.commit()
    outcome = _run_charge(engine, started.payment_id, shop.now)
    assert outcome.succeeded
    sub = shop.reload(sub)
    assert (sub.status, sub.awaiting_payment_id, sub.trial_end) == ("live", None, TODAY)
    [invoice] = shop.invoices(sub)
    assert (invoice.status, invoice.total, invoice.amount_paid) == ("paid", 4200, 4200)
    assert "payment_receipt" in shop.mails() and "subscription_update" in shop.mails()


def test_a_declined_activation_changes_nothing_but_the_failed_attempt(shop, engine):
    sub = shop.trial(card=shop.card("card_declined"))
    before = {k: v for k, v in sub.model_dump().items() if k != "updated_at"}
    summary, started = _confirm_activation(shop, sub)
    shop.session.commit()
    outcome = _run_charge(engine, started.payment_id, shop.now)
    assert not outcome.succeeded and outcome.message == "Your card was declined."
    sub = shop.reload(sub)
    assert {k: v for k, v in sub.model_dump().items() if k != "updated_at"} == before
    assert shop.invoices(sub) == [] and shop.mails() == []
    assert [p.status for p in shop.session.exec(select(Payment))] == ["failed"]


def test_the_same_activation_form_twice_is_one_charge(shop, engine):
    sub = shop.trial(card=shop.card())
    summary, first = _confirm_activation(shop, sub, key="same-form-key-0001")
    shop.session.commit()
    second = actions.activate(shop.session, **shop.ids(sub), fingerprint=summary.fingerprint(),
                              idempotency_key="same-form-key-0001")
    assert second.payment_id == first.payment_id


def test_activation_is_not_available_when_the_preference_is_off(shop):
    sub = shop.trial()
    shop.set(trial_activate=False)
    with pytest.raises(Forbidden):
        actions.activation_summary(shop.session, **shop.ids(sub))


def test_a_live_subscription_cannot_be_activated(shop):
    sub = shop.live()
    with pytest.raises(IllegalTransition, match="A live subscription cannot be activated"):
        actions.activation_summary(shop.session, **shop.ids(sub))


def test_another_customers_subscription_is_not_found(shop, now):
    sub = shop.trial()
    other = make_customer(shop.session, now=now, email="other@example.com")
    with pytest.raises(DomainError) as caught:
        actions.activation_summary(shop.session, customer_id=other.id, subscription_id=sub.id,
                                   now=now)
    assert caught.value.status == 404


def test_the_confirmation_email_links_to_the_subscription(shop):
    sub = shop.trial()
    _confirm_activation(shop, sub)
    row = shop.session.exec(select(OutboxMessage).where(
        OutboxMessage.template == "subscription_update")).one()
    assert row.context["page"] == {"endpoint": "subscriptions.detail",
                                   "values": {"subscription_id": sub.id}}
    mail = outbox.build_message(shop.session, row, mail_from="portal@localhost", now=shop.now,
                                base_url="https://portal.example",
                                paths=lambda endpoint, values: "/subscriptions/{}".format(
                                    values["subscription_id"]))
    text = mail.get_body(("plain",)).get_content()
    assert row.subject == f"{sub.number} is now live"
    assert "is due on 3 Dec 2026" in text and f"https://portal.example/subscriptions/{sub.id}" in text


# -- Extend Trial -----------------------------------------------------------------------------

def _expired_trial(shop: Shop) -> Subscription:
    return shop.subscription("expired", d(-20), trial_start=d(-20), trial_end=d(-6),
                             expired_reason="trial_end")


def test_an_expired_trial_is_extended_by_the_plans_trial_length(shop):
    sub = actions.extend_trial(shop.session, **shop.ids(_expired_trial(shop)))
    sub = shop.reload(sub)
    assert (sub.status, sub.trial_end, sub.expired_reason) == ("trial", d(14), None)
    assert (sub.trial_extensions_used, sub.next_billing_date) == (1, d(14))


def test_trial_extensions_stop_at_the_preferences_count(shop):
    sub = _expired_trial(shop)
    sub.trial_extensions_used = 1  # the default allows one
    with pytest.raises(DomainError, match="cannot be extended any further"):
        actions.extend_trial(shop.session, **shop.ids(sub))
    shop.set(trial_max_extensions=2)
    assert actions.extend_trial(shop.session, **shop.ids(sub)).trial_extensions_used == 2


def test_a_subscription_that_expired_at_term_end_is_not_offered_an_extension(shop):
    sub = shop.subscription("expired", d(-90), expired_reason="term_end")
    with pytest.raises(DomainError):
        actions.extend_trial(shop.session, **shop.ids(sub))


# -- Cancel, retention offer, Remove Scheduled Cancellation -----------------------------------

def _cancel(shop: Shop, sub: Subscription, timing: str, reason: str = "It is too expensive",
            details: str = ""):
    return actions.cancel(shop.session, **shop.ids(sub), timing=timing, reason=reason,
                          details=details)


def test_cancelling_at_term_end_schedules_it_and_removing_it_restores_live(shop):
    sub = shop.live()
    result = _cancel(shop, sub, "end_of_term", details="Budget cuts")
    sub = shop.reload(sub)
    assert (sub.status, sub.status_before_cancel, sub.next_billing_date) == \
        ("non_renewing", "live", None)
    assert sub.cancel_reason == "It is too expensive: Budget cuts"
    assert f"{sub.number} will be cancelled on Dec 6, 2026, at the end of the current term." \
        == result.message.format("en_US")
    assert notifications.SUBSCRIPTION_CANCELLED in shop.notes()
    actions.remove_cancellation(shop.session, **shop.ids(sub))
    sub = shop.reload(sub)
    assert (sub.status, sub.status_before_cancel, sub.next_billing_date) == \
        ("live", None, date(2026, 12, 6))


def test_a_trial_cancelled_at_term_end_returns_to_trial_when_the_cancellation_is_removed(shop):
    sub = shop.trial()
    _cancel(shop, sub, "end_of_term")
    actions.remove_cancellation(shop.session, **shop.ids(sub))
    assert shop.reload(sub).status == "trial"


def test_cancelling_now_credits_the_unused_days_per_line_with_tax(shop):
    sub = shop.live(seats=3)  # term 6 Nov – 6 Dec: 30 days, 10 left on 26 Nov
    options = actions.cancel_options(shop.session, **shop.ids(sub))
    # plan R(3000·10, 30) = 1000 + VAT 200; seats R(2400·10, 30) = 800 + VAT 160
    assert options.unused.total == 2160
    result = _cancel(shop, sub, "immediately")
    sub = shop.reload(sub)
    assert (sub.status, sub.cancelled_on, sub.next_billing_date) == ("cancelled", TODAY, None)
    note = shop.session.get(CreditNote, result.credit_note.id)
    assert (note.total, note.balance, note.subscription_id) == (2160, 2160, sub.id)


def test_no_credit_when_the_preference_says_so(shop):
    shop.set(cancel_credit_unused=False)
    assert _cancel(shop, shop.live(), "immediately").credit_note is None


def test_cancelling_now_with_the_term_unpaid_takes_the_unused_days_off_that_invoice(shop):
    older = make_invoice(shop.session, customer=shop.customer, now=shop.now, amount=5000,
                         issue=d(-40))  # open and older: the credit still goes to the term first
    sub = shop.live(paid=False)  # term 6 Nov – 6 Dec, 3600 with VAT, nothing paid
    [term] = shop.invoices(sub)
    note = _cancel(shop, sub, "immediately").credit_note
    assert note.total == 1200  # 10 of 30 days: 1000 + VAT 200
    assert (note.balance, note.status) == (0, "closed")
    assert (term.status, ledger.balance_due(term)) == ("open", 2400)  # the 20 used days
    assert ledger.balance_due(older) == 5000


def test_a_second_cancel_is_refused_and_changes_nothing(shop):
    sub = shop.live()
    _cancel(shop, sub, "immediately")
    with pytest.raises(IllegalTransition, match="cancelled subscription cannot be cancelled"):
        _cancel(shop, sub, "immediately")
    assert len(shop.session.exec(select(CreditNote)).all()) == 1


def test_only_the_timings_the_preference_allows_are_offered_and_accepted(shop):
    sub = shop.live()
    shop.set(cancel_timing="end_of_term")
    assert actions.cancel_options(shop.session, **shop.ids(sub)).timings == ("end_of_term",)
    with pytest.raises(InvalidInput) as caught:
        _cancel(shop, sub, "immediately")
    assert caught.value.field == "timing"


def test_the_cancel_form_defaults_to_the_end_of_the_term_when_it_is_offered(shop):
    sub = shop.live()  # term 6 Nov – 6 Dec
    options = actions.cancel_options(shop.session, **shop.ids(sub))
    assert options.timings == ("immediately", "end_of_term")
    assert (options.default_timing, options.available_until) == ("end_of_term", d(10))
    shop.set(cancel_timing="immediately")
    options = actions.cancel_options(shop.session, **shop.ids(sub))
    assert (options.default_timing, options.available_until) == ("immediately", None)


def test_a_scheduled_cancellation_can_still_be_made_immediate(shop):
    sub = shop.live()
    _cancel(shop, sub, "end_of_term")
    assert actions.cancel_options(shop.session, **shop.ids(sub)).timings == ("immediately",)


def test_the_reason_must_come_from_the_configured_list(shop):
    with pytest.raises(InvalidInput) as caught:
        _cancel(shop, shop.live(), "immediately", reason="Made up")
    assert caught.value.field == "reason"


def test_a_trial_is_cancelled_under_the_trial_switch(shop):
    sub = shop.trial()
    shop.set(cancel_subscription=False)
    assert _cancel(shop, sub, "immediately").subscription.status == "cancelled"
    shop.set(trial_cancel=False, cancel_subscription=True)
    with pytest.raises(Forbidden):
        actions.cancel_options(shop.session, **shop.ids(shop.trial()))


def _retention(shop: Shop) -> Coupon:
    coupon = Coupon(code="STAY25", name="25% off", discount_type="percentage", percent_bp=2500,
                    duration="n_terms", duration_terms=3, created_at=shop.now)
    shop.session.add(coupon)
    shop.set(retention_coupon_code="STAY25", retention_offer_text="Stay and get 25% off.")
    return coupon


def test_accepting_the_retention_offer_applies_its_coupon_instead_of_cancelling(shop):
    coupon = _retention(shop)
    sub = shop.live()
    assert actions.cancel_options(shop.session, **shop.ids(sub)).retention.code == "STAY25"
    actions.accept_retention_offer(shop.session, **shop.ids(sub))
    sub = shop.reload(sub)
    assert sub.status == "live"
    assert shop.session.exec(select(SubscriptionCoupon.coupon_id)
                             .where(SubscriptionCoupon.subscription_id == sub.id)).all() == [coupon.id]
    assert shop.session.get(Coupon, coupon.id).redemptions == 1
    assert actions.cancel_options(shop.session, **shop.ids(sub)).retention is None  # once


def test_a_used_up_retention_coupon_is_not_offered(shop):
    coupon = _retention(shop)
    coupon.max_redemptions, coupon.redemptions = 1, 1
    sub = shop.live()
    assert actions.cancel_options(shop.session, **shop.ids(sub)).retention is None
    with pytest.raises(DomainError, match="no longer available"):
        actions.accept_retention_offer(shop.session, **shop.ids(sub))


# -- Reactivate ---------------------------------------------------------------------------------

def test_reactivating_a_cancelled_subscription_starts_a_new_term_from_today(shop):
    sub = shop.live(start=date(2026, 8, 6))
    sub.status, sub.cancelled_on, sub.cancel_reason = "cancelled", date(2026, 9, 1), "Too dear"
    summary = actions.reactivation_summary(shop.session, **shop.ids(sub))
    assert [x.kind for x in summary.invoice.priced.lines] == ["plan"]  # no setup fee again
    started = actions.reactivate(shop.session, **shop.ids(sub), fingerprint=summary.fingerprint(),
                                 idempotency_key="reactivate-key-001")
    sub = shop.reload(sub)
    assert (sub.status, sub.current_term_start, sub.current_term_end) == \
        ("live", TODAY, date(2026, 12, 26))
    assert (sub.cancelled_on, sub.cancel_reason, sub.cycles_billed) == (None, "", 1)
    assert (started.invoice.kind, started.invoice.total) == ("reactivation", 3600)


def test_reactivating_a_live_subscription_is_refused(shop):
    with pytest.raises(IllegalTransition, match="A live subscription cannot be reactivated"):
        actions.reactivation_summary(shop.session, **shop.ids(shop.live()))


def test_a_declined_reactivation_changes_nothing(shop, engine):
    sub = _expired_trial(shop)
    card = shop.card("insufficient_funds")
    sub.autocharge, sub.payment_method_id = True, card.id
    summary = actions.reactivation_summary(shop.session, **shop.ids(sub))
    started = actions.reactivate(shop.session, **shop.ids(sub), fingerprint=summary.fingerprint(),
                                 idempotency_key="reactivate-key-002")
    shop.session.commit()
    assert not _run_charge(engine, started.payment_id, shop.now).succeeded
    sub = shop.reload(sub)
    assert (sub.status, sub.expired_reason, sub.awaiting_payment_id) == ("expired", "trial_end", None)
    assert shop.invoices(sub) == []


def test_a_successful_reactivation_charge_pays_the_reactivation_invoice(shop, engine):
    sub = _expired_trial(shop)
    sub.autocharge, sub.payment_method_id = True, shop.card().id
    summary = actions.reactivation_summary(shop.session, **shop.ids(sub))
    started = actions.reactivate(shop.session, **shop.ids(sub), fingerprint=summary.fingerprint(),
                                 idempotency_key="reactivate-key-003")
    shop.session.commit()
    assert _run_charge(engine, started.payment_id, shop.now).succeeded
    sub = shop.reload(sub)
    [invoice] = shop.invoices(sub)
    assert (sub.status, invoice.kind, invoice.status) == ("live", "reactivation", "paid")


# -- Auto-charge ------------------------------------------------------------------------------

def test_turning_on_autocharge_without_a_payment_method_is_refused(shop):
    with pytest.raises(actions.NoPaymentMethod):
        actions.set_autocharge(shop.session, **shop.ids(shop.live()), enabled=True)


def test_autocharge_switches_and_confirms_by_email_only_when_it_changes(shop):
    sub = shop.live()
    sub.payment_method_id = shop.card().id
    result = actions.set_autocharge(shop.session, **shop.ids(sub), enabled=True)
    assert result.changed and result.view.enabled and result.view.method_label == "Visa •••• 4242"
    again = actions.set_autocharge(shop.session, **shop.ids(sub), enabled=True)
    assert not again.changed and shop.mails() == ["subscription_update"]


# -- Pause & Resume ---------------------------------------------------------------------------

def _pause(shop: Shop, sub: Subscription, pause_on, resume_on):
    return actions.schedule_pause(shop.session, **shop.ids(sub), pause_on=pause_on,
                                  resume_on=resume_on)


def test_a_pause_schedule_sets_both_dates_for_the_tick(shop):
    sub = shop.live()
    _pause(shop, sub, d(3), d(33))
    assert (shop.reload(sub).pause_on, shop.reload(sub).resume_on) == (d(3), d(33))


def test_without_a_resume_date_the_pause_lasts_the_longest_allowed(shop):
    sub = shop.live()
    _pause(shop, sub, TODAY, None)
    assert shop.reload(sub).resume_on == d(90)


@pytest.mark.parametrize(("pause_on", "resume_on", "field", "message"), [
    (None, None, "pause_on", "Choose the day"),
    (-1, None, "pause_on", "before today"),
    (5, 5, "resume_on", "Resume after the pause starts"),
    (5, 96, "resume_on", "at most 90 days"),
])
def test_pause_dates_are_validated(shop, pause_on, resume_on, field, message):
    sub = shop.live()
    with pytest.raises(InvalidInput, match=message) as caught:
        _pause(shop, sub, None if pause_on is None else d(pause_on),
               None if resume_on is None else d(resume_on))
    assert caught.value.field == field and shop.reload(sub).pause_on is None


def test_a_paused_subscription_only_changes_its_resume_date(shop):
    sub = shop.live()
    sub.status, sub.resume_on = "paused", d(10)
    options = actions.pause_options(shop.session, **shop.ids(sub))
    assert options.paused and not options.can_delete
    _pause(shop, sub, d(1), d(20))
    assert (shop.reload(sub).pause_on, shop.reload(sub).resume_on) == (None, d(20))


def test_delete_schedule_removes_the_pause_and_resume_dates(shop):
    sub = shop.live()
    _pause(shop, sub, d(3), d(33))
    actions.delete_pause_schedule(shop.session, **shop.ids(sub))
    assert (shop.reload(sub).pause_on, shop.reload(sub).resume_on) == (None, None)
    with pytest.raises(DomainError, match="no pause schedule"):
        actions.delete_pause_schedule(shop.session, **shop.ids(sub))


def test_a_cancelled_subscription_cannot_be_paused(shop):
    sub = shop.live()
    _cancel(shop, sub, "immediately")
    with pytest.raises(IllegalTransition):
        actions.pause_options(shop.session, **shop.ids(sub))


# -- What the subscription page offers ----------------------------------------------------------

def _actions(shop: Shop, sub: Subscription) -> actions.SubscriptionActions:
    detail = subscription_detail(shop.session, customer_id=shop.customer.id,
                                 subscription_id=sub.id, at=moment_on(TODAY))
    return actions.available(shop.session, detail, at=moment_on(TODAY))


def test_a_trial_offers_activation_cancellation_and_no_reactivation(shop):
    facts = _actions(shop, shop.trial())
    assert facts.can_activate and facts.can_cancel and not facts.can_reactivate
    assert facts.cancel_timings == ("immediately", "end_of_term") and not facts.pause_button


def test_a_cancelled_subscription_shows_the_banner_and_reactivation(shop):
    sub = shop.live()
    _cancel(shop, sub, "immediately")
    facts = _actions(shop, sub)
    assert (facts.ended, facts.ended_on) == ("was cancelled", TODAY)
    assert facts.can_reactivate and not facts.can_cancel and not facts.autocharge.can_toggle


def test_the_timeline_offers_each_entrys_undo(shop):
    sub = shop.live()
    _pause(shop, sub, d(3), d(33))
    pause, resume = _actions(shop, sub).timeline
    assert (pause.deletes_pause, pause.changes_pause) == (True, True)
    assert (resume.deletes_pause, resume.changes_pause) == (False, False)
    _cancel(shop, sub, "end_of_term")
    facts = _actions(shop, sub)
    [cancellation] = facts.timeline  # removed from the banner at the top instead
    assert (cancellation.deletes_pause, cancellation.changes_pause) == (False, False)
    assert facts.can_remove_cancellation and facts.ends_on == d(10)


def test_the_banner_facts_follow_the_state(shop):
    trial = _actions(shop, shop.trial())
    assert (trial.trial_ends_on, trial.needs_payment_method) == (d(9), True)
    assert _actions(shop, shop.trial(card=shop.card())).needs_payment_method is False
    live = _actions(shop, shop.live())
    assert (live.past_due, live.trial_ends_on, live.ends_on, live.paused) == \
        (None, None, None, False)


def test_an_unpaid_term_is_past_due_once_overdue_or_in_dunning(shop):
    sub = shop.live(start=TODAY, paid=False)  # 3600 with VAT, issued today
    assert _actions(shop, sub).past_due is None  # not yet due: nothing past due
    sub.status = "dunning"
    [term] = shop.invoices(sub)
    assert _actions(shop, sub).past_due == actions.PastDue(3600, "USD", (term.id,))
    older = shop.live(paid=False)  # issued 6 Nov: overdue while still live
    [term] = shop.invoices(older)
    assert _actions(shop, older).past_due == actions.PastDue(3600, "USD", (term.id,))


@pytest.mark.parametrize(("status", "label"), [
    ("future", ("Starts on %(date)s", date(2026, 12, 1))), ("trial", ("Trial", None)),
    ("live", ("Active", None)), ("non_renewing", ("Ends on %(date)s", date(2026, 12, 6))),
    ("paused", ("Paused until %(date)s", date(2027, 1, 10))), ("dunning", ("Past due", None)),
    ("unpaid", ("Unpaid", None)), ("cancelled", ("Cancelled", None)),
    ("expired", ("Expired", None))])
def test_badges_say_the_state_in_the_customers_words(status, label):
    sub = Subscription(status=status, start_date=date(2026, 12, 1),
                       current_term_end=date(2026, 12, 6),
                       resume_on=date(2027, 1, 10) if status == "paused" else None)
    assert views.status_label(sub) == label


def test_the_next_charge_is_the_renewal_or_none_once_billing_stops(shop):
    sub = shop.live()  # term 6 Nov – 6 Dec
    assert views.next_charge_on(sub) == d(10)
    _cancel(shop, sub, "end_of_term")
    assert views.next_charge_on(shop.reload(sub)) is None
    for status in ("cancelled", "unpaid", "expired"):
        assert views.next_charge_on(Subscription(status=status, next_billing_date=d(3))) is None


def test_a_scheduled_pause_moves_the_next_charge_by_the_paused_days(shop):
    sub = shop.live()  # renews on 6 Dec; paused 1 – 31 Dec, its 5 paid days run after
    _pause(shop, sub, d(5), d(35))
    assert views.next_charge_on(shop.reload(sub)) == d(40)
    _pause(shop, sub, d(20), d(50))  # after the renewal: the renewal comes first
    assert views.next_charge_on(shop.reload(sub)) == d(10)


def test_switched_off_preferences_hide_their_buttons(shop):
    shop.set(trial_activate=False, trial_cancel=False, reactivation=False,
             autocharge_toggle=False, pause_resume=False, cancel_subscription=False)
    facts = _actions(shop, shop.trial())
    assert not (facts.can_activate or facts.can_cancel or facts.autocharge.can_toggle)
    assert not _actions(shop, shop.live()).pause_button
    assert not _actions(shop, _expired_trial(shop)).can_reactivate


def test_an_expired_trial_offers_an_extension_while_the_count_allows(shop):
    sub = _expired_trial(shop)
    assert _actions(shop, sub).trial_extension == actions.TrialExtension(14, 1)
    sub.trial_extensions_used = 1
    assert _actions(shop, sub).trial_extension is None


def test_nothing_is_offered_while_a_charge_decides_the_subscription(shop):
    sub = shop.trial(card=shop.card())
    _confirm_activation(shop, sub)
    facts = _actions(shop, sub)
    assert facts.payment_in_progress and not (facts.can_activate or facts.can_cancel)
    with pytest.raises(actions.PaymentInProgress):
        _cancel(shop, sub, "immediately")

