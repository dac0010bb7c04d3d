"""The billing engine's own charges on Stripe (localstripe on 127.0.0.1): renewals charged
off-session in a clock walk, a declined renewal in dunning and its retry, a lost answer retried
with the same Idempotency-Key, and a renewal that needs 3-D Secure completed by the customer on
the dunning email's page."""

from __future__ import annotations

import re
from datetime import date

from sqlmodel import select

from tests import stripe_fake
from tests.unit.subscriptions.test_lifecycle import _customer, _plan, _sub, _subscribe
from tests.walk import Walk
from tests.web.payments.test_stripe import PK, SK, stripe_settings
from webapp import create_app
from webapp.models import Customer, OutboxMessage, Payment, PaymentMethod
from webapp.services.billing.gateways import stripe_settings as settings_of
from webapp.services.billing.stripe_gateway import StripeGateway

VISA, DECLINED_ON_CHARGE, THREE_D_SECURE = \
    stripe_fake.VISA, stripe_fake.DECLINED_ON_CHARGE, stripe_fake.THREE_D_SECURE


class StripeWalk(Walk):
    """A clock walk whose gateway is Stripe (the fake), its cards made there."""

    def __init__(self, engine, start: date, base: str, api_base: str | None = None):
        super().__init__(engine, start)
        self.base = base
        self.gateway = StripeGateway(settings_of(stripe_settings(base, api_base)))

    def card(self, customer_id: int, number: str = VISA) -> int:
        reference, method = stripe_fake.card_at_stripe(self.base, SK, number)
        with self.session() as session:
            session.get(Customer, customer_id).gateway_customer_id = reference
            row = PaymentMethod(customer_id=customer_id, gateway_token=method,
                                brand="Visa", last4=number[-4:], exp_month=12, exp_year=2031,
                                is_default=True, created_at=self.now)
            session.add(row)
            session.flush()
            return row.id


def _intent(fake, reference):
    return stripe_fake.api(fake, SK, "GET", f"payment_intents/{reference}")


def _stripe_payments(walk, customer_id, status="succeeded"):
    return [p for p in walk.payments(customer_id, status)
            if (p.gateway_reference or "").startswith("pi_")]


def test_monthly_renewals_are_charged_off_session_in_a_clock_walk(engine, fake):
    walk = StripeWalk(engine, date(2026, 1, 5), fake)
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk, amount=3000), card=walk.card(customer))
    walk.tick()
    for _ in range(62):
        walk.step()
    walk.assert_ledger()
    paid = _stripe_payments(walk, customer)
    assert [p.purpose for p in paid] == ["renewal", "renewal", "renewal"]
    for payment in paid:
        intent = _intent(fake, payment.gateway_reference)
        assert (intent["amount"], intent["status"]) == (payment.amount, "succeeded")
        assert intent["metadata"]["portal_key"] == f"{customer}:{payment.idempotency_key}"
    assert all(i.status == "paid" for i in walk.invoices(sub))
    assert _sub(walk, sub).status == "live"


def test_a_declined_renewal_enters_dunning_and_a_retry_succeeds(engine, fake):
    walk = StripeWalk(engine, date(2026, 1, 5), fake)
    customer = _customer(walk)
    card = walk.card(customer, DECLINED_ON_CHARGE)
    sub = _subscribe(walk, customer, _plan(walk), card=card)
    walk.tick()
    assert _sub(walk, sub).status == "dunning"
    [failed] = walk.payments(customer, "failed")
    assert failed.failure_reason == "Your card was declined."
    good = walk.card(customer, VISA)
    with walk.session() as session:
        from webapp.models import Subscription
        session.get(Subscription, sub).payment_method_id = good
    walk.step()  # the first retry day
    assert _sub(walk, sub).status == "live"
    assert [p.purpose for p in _stripe_payments(walk, customer)] == ["dunning_retry"]
    walk.assert_ledger()


def test_a_lost_answer_on_an_engine_charge_is_retried_with_the_same_key(engine, fake):
    with stripe_fake.DroppingProxy(fake, drop=("POST", "/v1/payment_intents")) as proxy:
        walk = StripeWalk(engine, date(2026, 1, 5), fake, api_base=proxy.url)
        customer = _customer(walk)
        _subscribe(walk, customer, _plan(walk), card=walk.card(customer))
        walk.tick()
    creates = [key for method, path, key in proxy.seen
               if (method, path) == ("POST", "/v1/payment_intents")]
    [payment] = walk.payments(customer)
    assert proxy.dropped == 1 and len(creates) == 2
    assert creates[0] == creates[1] == f"{customer}:{payment.idempotency_key}"
    assert len(walk.payments(customer, "failed")) == 0 and payment.purpose == "renewal"


def test_a_renewal_needing_3d_secure_is_completed_from_the_dunning_emails_link(engine, fake):
    walk = StripeWalk(engine, date(2026, 1, 5), fake)
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer, THREE_D_SECURE))
    walk.tick()
    assert _sub(walk, sub).status == "dunning"
    [failed] = walk.payments(customer, "failed")
    assert failed.failure_reason == "Your bank asks you to confirm this payment."
    assert failed.gateway_reference.startswith("pi_")
    [invoice] = walk.invoices(sub)
    assert invoice.status == "open"

    # The customer's email carries a signed fix link; the page runs 3-D Secure on that intent.
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "REDIS_URL": None,
                      "DATABASE_URL": engine.url.render_as_string(hide_password=False),
                      "FIXED_NOW": walk.now, **stripe_settings(fake)})
    mail = walk.read(lambda s: s.exec(select(OutboxMessage).where(
        OutboxMessage.template == "payment_failed")).one())
    assert mail.context["page"]["endpoint"] == "pay.fix"
    token = mail.context["page"]["values"]["token"]
    client = app.test_client()
    page = client.get(f"/fix/{token}").get_data(as_text=True)
    assert "Confirm the payment with your bank" in page
    secret = re.search(r'data-client-secret="([^"]+)"', page).group(1)
    assert secret.startswith(failed.gateway_reference)
    stripe_fake.authenticate_payment(fake, PK, secret)
    done = client.get(re.search(r'data-return-url="([^"]+)"', page).group(1))
    while done.status_code in (302, 303):
        done = client.get(done.headers["Location"])
    assert done.status_code == 200 and "Thank you" in done.get_data(as_text=True)
    assert walk.invoices(sub)[0].status == "paid"
    assert _sub(walk, sub).status == "live"
    assert walk.read(lambda s: s.get(Payment, failed.id)).status == "succeeded"
