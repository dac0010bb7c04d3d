"""Settling a payment a person started: asked of the gateway by its attempt, never charged
again in the background (issue 21, item 1)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import make_customer, make_invoice
from webapp.demo import seed_organization
from webapp.models import CreditNote, Invoice, Notification, Payment, PaymentMethod
from webapp.services.billing import charges, ledger
from webapp.services.billing.gateway import (
    IN_PROGRESS,
    Attempt,
    CardDetails,
    GatewayNetworkError,
    TestGateway,
)
from webapp.services.core import notifications
from webapp.services.subscriptions import lifecycle

GOOD, NETWORK_ERROR = "4242424242424242", "4000000000000119"


def _scope(engine):
    @contextmanager
    def scope():
        with Session(engine, expire_on_commit=False) as session:
            yield session
            session.commit()
    return scope


class _Arranged:
    """An organization, a customer with one open invoice, and a card that behaves as asked."""

    def __init__(self, engine, now, card: str = GOOD) -> None:
        self.engine, self.now, self.gateway = engine, now, TestGateway(engine)
        token = self.gateway.tokenize(CardDetails(card, 12, now.year + 3, "123"), now=now)
        with Session(engine, expire_on_commit=False) as session:
            seed_organization(session, now=now)
            customer = make_customer(session, now=now)
            invoice = make_invoice(session, customer=customer, now=now, amount=2500)
            method = PaymentMethod(customer_id=customer.id, gateway_token=token.token,
                                   brand=token.brand, last4=token.last4, exp_month=12,
                                   exp_year=now.year + 3, is_default=True, created_at=now)
            session.add(method)
            session.commit()
            self.customer_id, self.invoice_id, self.method_id = customer.id, invoice.id, method.id

    def start(self, key: str = "attempt-key-0001", purpose: str = "manual", *, at=None,
              holds_invoice: bool = True) -> int:
        with Session(self.engine, expire_on_commit=False) as session:
            payment = charges.start(session, customer_id=self.customer_id, amount=2500,
                                    currency="USD", payment_method_id=self.method_id,
                                    idempotency_key=key,
                                    invoice_ids=[self.invoice_id] if holds_invoice else [],
                                    now=at or self.now, purpose=purpose)
            session.commit()
            return payment.id

    def row(self, model, row_id: int):
        with Session(self.engine) as session:
            return session.get(model, row_id)

    def resolve(self, payment_id: int, gateway=None, **kwargs):
        return charges.resolve(_scope(self.engine), gateway or self.gateway,
                               payment_id=payment_id, now=self.now, **kwargs)


class _SilentGateway:
    """A gateway whose lookups time out."""

    def lookup(self, **_kwargs) -> Attempt:
        raise GatewayNetworkError("no answer")


class _AuthenticatingGateway:
    """A processor whose attempt waits for the customer's 3-D Secure authentication."""

    def lookup(self, **_kwargs) -> Attempt:
        return Attempt(IN_PROGRESS)


def test_the_gateway_looks_an_attempt_up_by_its_key_without_charging(engine, now):
    shop = _Arranged(engine, now)
    token = shop.row(PaymentMethod, shop.method_id).gateway_token
    shop.gateway.charge(token=token, amount=100, currency="USD", idempotency_key="seen", now=now)
    found = shop.gateway.lookup(idempotency_key="seen", reference=None, now=now)
    assert (found.status, found.result.succeeded) == ("succeeded", True)
    assert shop.gateway.lookup(idempotency_key="never", reference=None, now=now).status == "unknown"
    assert shop.gateway.charges_for("") == 1


def test_a_network_error_is_resolved_at_once_and_frees_the_invoice(engine, now):
    shop = _Arranged(engine, now, card=NETWORK_ERROR)
    payment_id = shop.start()
    outcome = charges.charge_now(_scope(engine), shop.gateway, payment_id=payment_id, now=now)
    assert (outcome.succeeded, outcome.message) == (False, "The payment processor did not answer.")
    assert shop.row(Payment, payment_id).status == "failed"
    assert shop.row(Invoice, shop.invoice_id).pending_payment_id is None
    assert shop.gateway.charges_for("") == 0


def test_a_charge_the_gateway_made_before_the_request_died_is_recorded_as_paid(engine, now):
    shop = _Arranged(engine, now)
    payment_id = shop.start()
    token = shop.row(PaymentMethod, shop.method_id).gateway_token
    shop.gateway.charge(token=token, amount=2500, currency="USD",
                        idempotency_key=f"{shop.customer_id}:attempt-key-0001", now=now)
    outcome = shop.resolve(payment_id)
    assert outcome.succeeded and shop.row(Invoice, shop.invoice_id).status == "paid"
    assert shop.gateway.charges_for("") == 1


@pytest.mark.parametrize("gateway", [_SilentGateway(), _AuthenticatingGateway()],
                         ids=["no answer", "in progress"])
def test_a_payment_stays_pending_while_the_gateway_is_silent_or_still_working(engine, now, gateway):
    shop = _Arranged(engine, now)
    payment_id = shop.start()
    assert shop.resolve(payment_id, gateway) is None
    payment = shop.row(Payment, payment_id)
    assert (payment.status, payment.lease_until) == ("pending", None)
    assert shop.row(Invoice, shop.invoice_id).pending_payment_id == payment_id


def test_a_payment_being_charged_is_not_resolved_under_its_runner(engine, now):
    shop = _Arranged(engine, now)
    payment_id = shop.start()
    with _scope(engine)() as session:
        assert charges.claim(session, payment_id=payment_id, now=now)
    assert shop.resolve(payment_id) is None
    assert shop.row(Payment, payment_id).status == "pending"


def test_the_sweep_takes_only_peoples_payments_past_the_grace_with_no_lease(engine, now):
    shop = _Arranged(engine, now)
    old = now - timedelta(minutes=5)
    stuck = shop.start("stuck-0000000001", at=old)
    shop.start("fresh-0000000001", holds_invoice=False)
    shop.start("renewal-000000001", purpose="renewal", at=old, holds_invoice=False)
    leased = shop.start("leased-000000001", at=old, holds_invoice=False)
    with _scope(engine)() as session:
        charges.claim(session, payment_id=leased, now=now)
    with Session(engine) as session:
        assert charges.to_resolve(session, now=now) == [stuck]


def test_the_tick_sends_engine_charges_again_but_never_a_customers_payment(engine, now):
    shop = _Arranged(engine, now)
    hour_ago = now - timedelta(hours=1)
    shop.start("activation-000001", purpose="activation", at=hour_ago, holds_invoice=False)
    renewal = shop.start("renewal-000000001", purpose="renewal", at=hour_ago, holds_invoice=False)
    with Session(engine) as session:
        assert lifecycle.tick(session, now=now).payment_ids == [renewal]


def test_a_late_success_on_an_invoice_paid_meanwhile_becomes_credit_and_admins_are_told(engine, now):
    shop = _Arranged(engine, now)
    first = shop.start("first-attempt-001")
    assert not shop.resolve(first).succeeded  # nothing on record yet: the portal gives up on it
    second = shop.start("second-attempt-01")
    assert charges.run(_scope(engine), shop.gateway, payment_id=second, now=now).succeeded
    # the first attempt's charge completes after all, and its answer reaches the portal
    token = shop.row(PaymentMethod, shop.method_id).gateway_token
    result = shop.gateway.charge(token=token, amount=2500, currency="USD",
                                 idempotency_key=f"{shop.customer_id}:first-attempt-001", now=now)
    with _scope(engine)() as session:
        outcome = charges.record(session, payment_id=first, result=result, now=now)
    assert outcome.succeeded and outcome.newly_settled
    with Session(engine) as session:
        [note] = session.exec(select(CreditNote)).all()
        assert (note.customer_id, note.balance) == (shop.customer_id, 2500)
        assert session.get(Payment, first).status == "succeeded"
        [told] = session.exec(select(Notification).where(
            Notification.event == notifications.LATE_PAYMENT)).all()
        assert "unused credit" in notifications.NotificationView.of(told).body


def test_an_invoice_paid_between_the_payers_read_and_the_hold_is_never_charged_again(engine, now):
    shop = _Arranged(engine, now)
    with Session(engine, expire_on_commit=False) as session:
        invoice = session.get(Invoice, shop.invoice_id)
        ledger.record_payment(session, customer_id=shop.customer_id, amount=2500,
                              currency="USD", invoices=[invoice], paid_on=now.date(), now=now,
                              idempotency_key="paid-by-another")
        session.commit()
    with pytest.raises(charges.InvoicesSettled):
        shop.start("late-payer-000001")
    with Session(engine) as session:
        assert session.exec(select(Payment).where(Payment.status == "pending")).all() == []
