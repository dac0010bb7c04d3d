"""Stripe in chromium, against localstripe's fake Stripe.js and API on 127.0.0.1: a card typed
into the Card Element is saved and pays, 3-D Secure runs in the page, the fake's own webhook
reaches the portal, and paying with a saved card works without JavaScript."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from tests import stripe_fake
from tests.browser.server import portal_server
from tests.browser.support import check_page, click_through, login, visit
from webapp import demo
from webapp.models import Customer, GatewayEvent, Invoice, Payment, PaymentMethod

PK, SK, WHSEC = "pk_test_browser", "sk_test_browser", "whsec_browsertest"


@pytest.fixture(scope="module")
def fake() -> Iterator[str]:
    with stripe_fake.running() as base:
        yield base


@pytest.fixture(scope="module")
def base_url(browser_engine, fake, tmp_path_factory) -> Iterator[str]:
    with portal_server(browser_engine, tmp_path_factory.mktemp("stripe-portal"),
                       PAYMENT_GATEWAY="stripe", STRIPE_SECRET_KEY=SK,
                       STRIPE_PUBLISHABLE_KEY=PK, STRIPE_WEBHOOK_SECRET=WHSEC,
                       STRIPE_API_BASE=fake,
                       STRIPE_JS_URL=f"{fake}/js.stripe.com/v3/") as url:
        stripe_fake.register_webhook(fake, f"{url}/webhooks/stripe", WHSEC)
        yield url


@pytest.fixture(autouse=True)
def _webhooks_settle(fake, browser_engine) -> Iterator[None]:
    """A test ends once the fake's webhooks for its events have reached the portal (each
    event is stored, whatever its type), not during the next test, whose tables are being
    emptied and seeded again."""
    before = stripe_fake.event_ids(fake, SK)
    yield
    made = stripe_fake.event_ids(fake, SK) - before
    deadline = time.monotonic() + 15
    while made:
        with Session(browser_engine) as session:
            made -= set(session.exec(select(GatewayEvent.id).where(GatewayEvent.id.in_(made))))
        if made and time.monotonic() > deadline:
            pytest.fail(f"the fake's webhooks for {sorted(made)} never reached the portal")
        time.sleep(0.1)


def _stripe_card(engine, fake, customer_id: int, number: str) -> int:
    """A card the customer saved with Stripe earlier (made at the fake, stored in the portal)."""
    reference, method = stripe_fake.card_at_stripe(fake, SK, number, demo.JANE[0])
    with Session(engine) as session:
        session.get(Customer, customer_id).gateway_customer_id = reference
        card = PaymentMethod(customer_id=customer_id, gateway_token=method, brand="Visa",
                             last4=number[-4:], exp_month=12, exp_year=2031, status="active",
                             is_default=False, created_at=datetime.now(UTC))
        session.add(card)
        session.commit()
        return card.id


def _open_invoice(engine, customer_id) -> Invoice:
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(select(Invoice).where(Invoice.customer_id == customer_id,
                                                  Invoice.status == "open")
                            .order_by(Invoice.issue_date)).first()


def _type_card(page, number: str) -> None:
    """Type into the fake Card Element's own inputs (real Stripe's live in its iframe)."""
    element = page.locator(".card-element")
    element.get_by_placeholder("number").fill(number)
    element.get_by_placeholder("exp_month").fill("12")
    element.get_by_placeholder("exp_year").fill("31")
    element.get_by_placeholder("cvc").fill("123")
    element.get_by_placeholder("postal_code").fill("94105")


def _add_card(page, number: str, *, three_d_secure: bool = False) -> None:
    visit(page, "/payment-methods/new")
    assert page.locator("input[name=card_number]").count() == 0
    _type_card(page, number)
    with page.expect_navigation():
        page.get_by_role("button", name="Save card").click()
        if three_d_secure:
            page.get_by_role("button", name="Complete authentication").click()
    check_page(page)
    assert "Card added." in page.get_by_role("main").inner_text()


def test_jane_adds_a_card_in_stripes_field_and_pays_with_it(page, browser_engine, demo_data):
    login(page, *demo.JANE)
    _add_card(page, "4242424242424242")
    assert "Visa •••• 4242" in page.locator("#payment-method-list").inner_text()
    with Session(browser_engine) as session:
        card = session.exec(select(PaymentMethod).where(
            PaymentMethod.gateway_token.startswith("pm_"))).one()
        assert (card.last4, card.exp_month, card.exp_year) == ("4242", 12, 2031)

    invoice = _open_invoice(browser_engine, demo_data.jane_customer_id)
    visit(page, f"/pay?invoice={invoice.id}")
    click_through(page, page.get_by_role(  # the demo's test card is listed first (default)
        "button", name=re.compile(r"^Pay US\$[\d,.]+ with Visa •••• 4242$")).last)
    assert "Payment Receipt PAY-" in page.get_by_role("heading", level=1).inner_text()
    with Session(browser_engine) as session:
        assert session.get(Invoice, invoice.id).status == "paid"
        reference = session.exec(select(Payment.gateway_reference).where(
            Payment.gateway_reference.startswith("pi_"))).one()
    # The fake's own payment_intent.succeeded webhook, signed with the secret, arrives a
    # second later and is stored once; the payment already had its outcome.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with Session(browser_engine) as session:
            if session.exec(select(GatewayEvent).where(
                    GatewayEvent.type == "payment_intent.succeeded")).first():
                break
        time.sleep(0.2)
    else:
        pytest.fail(f"localstripe's webhook for {reference} never reached the portal")


def test_jane_pays_a_new_card_that_asks_for_3d_secure(page, browser_engine, demo_data):
    login(page, *demo.JANE)
    invoice = _open_invoice(browser_engine, demo_data.jane_customer_id)
    visit(page, f"/pay?invoice={invoice.id}")
    new_card = page.locator("form[data-stripe-card]")
    _type_card(page, "4000002500003155")
    with page.expect_navigation(url=re.compile(r"/pay/payments/\d+")):
        new_card.get_by_role("button", name=re.compile(r"with this new card$")).click()
        page.get_by_role("button", name="Complete authentication").click()  # the card's setup
    check_page(page)
    assert page.get_by_role("heading", level=1).inner_text() == \
        "Confirm the payment with your bank"
    with page.expect_navigation(url=re.compile(r"/payments/\d+/receipt|/payments/")):
        page.get_by_role("button", name="Confirm with my bank").click()
        page.get_by_role("button", name="Complete authentication").click()  # the payment's
    page.wait_for_url(re.compile(r"receipt|/payments/\d+$"))
    check_page(page)
    assert "Payment Receipt PAY-" in page.get_by_role("heading", level=1).inner_text()
    with Session(browser_engine) as session:
        assert session.get(Invoice, invoice.id).status == "paid"


def test_without_javascript_adding_a_card_says_so_and_a_saved_card_still_pays(
        page_without_js, browser_engine, demo_data, fake):
    customer_id = demo_data.jane_customer_id
    _stripe_card(browser_engine, fake, customer_id, stripe_fake.VISA)
    page = page_without_js
    login(page, *demo.JANE)
    visit(page, "/payment-methods/new")
    assert "Adding a card needs JavaScript" in page.get_by_role("main").inner_text()
    invoice = _open_invoice(browser_engine, customer_id)
    visit(page, f"/pay?invoice={invoice.id}")
    buttons = page.get_by_role("button", name=re.compile(r"^Pay US\$[\d,.]+ with Visa •••• 4242$"))
    click_through(page, buttons.last)
    assert "Payment Receipt PAY-" in page.get_by_role("heading", level=1).inner_text()


def test_a_renewal_needing_3d_secure_is_paid_from_the_emails_link(page, browser_engine,
                                                                   demo_data, fake):
    from tests.conftest import FIXED_NOW
    from webapp.models import OutboxMessage, Subscription
    from webapp.services.billing.gateways import stripe_settings
    from webapp.services.billing.stripe_gateway import StripeGateway
    from webapp.services.subscriptions import lifecycle

    customer_id = demo_data.jane_customer_id
    card_id = _stripe_card(browser_engine, fake, customer_id, stripe_fake.THREE_D_SECURE)
    with Session(browser_engine) as session:
        sub = session.exec(select(Subscription).where(Subscription.customer_id == customer_id,
                                                      Subscription.status == "live")).first()
        sub.payment_method_id, sub.autocharge = card_id, True
        sub.next_billing_date = FIXED_NOW.date()
        sub_id = sub.id
        session.commit()
    gateway = StripeGateway(stripe_settings({"STRIPE_SECRET_KEY": SK, "STRIPE_PUBLISHABLE_KEY": PK,
                                             "STRIPE_WEBHOOK_SECRET": WHSEC,
                                             "STRIPE_API_BASE": fake}))
    with Session(browser_engine) as session:  # the schedule's tick, then its charge job
        due = lifecycle.tick(session, now=FIXED_NOW, limit=50)
        session.commit()
    _charge(browser_engine, gateway, due.payment_ids)
    with Session(browser_engine) as session:
        assert session.get(Subscription, sub_id).status == "dunning"
        mail = session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "payment_failed",
            OutboxMessage.customer_id == customer_id).order_by(OutboxMessage.id.desc())).first()
    link = f"/fix/{mail.context['page']['values']['token']}"

    visit(page, link)  # from the email, without signing in
    assert page.get_by_role("heading", level=1).inner_text() == \
        "Confirm the payment with your bank"
    with page.expect_navigation(url=re.compile(r"/fix/.+/done/\d+")):
        page.get_by_role("button", name="Confirm with my bank").click()
        page.get_by_role("button", name="Complete authentication").click()
    check_page(page)
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you"
    with Session(browser_engine) as session:
        assert session.get(Subscription, sub_id).status == "live"


def _charge(engine, gateway, payment_ids) -> None:
    """The schedule's charge job for the tick's payments, on the test process's gateway."""
    from contextlib import contextmanager

    from tests.conftest import FIXED_NOW
    from webapp.services.billing import charges

    @contextmanager
    def unit():
        with Session(engine, expire_on_commit=False) as session:
            yield session
            session.commit()

    charges.run_many(unit, gateway, payment_ids=payment_ids, now=FIXED_NOW)
