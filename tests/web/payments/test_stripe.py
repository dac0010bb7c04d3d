"""Paying and saving cards through Stripe, against localstripe on 127.0.0.1 (tests/stripe_fake).

The tests do what Stripe.js does in the browser (confirm a card into the SetupIntent, pass the
3-D Secure challenge) with the fake's own endpoints, and deliver webhooks signed with the
endpoint's secret (the fake sends only two event types, and only to a live server: the browser
test covers those).
"""

from __future__ import annotations

import logging
import re

import pytest
import requests
from sqlmodel import Session, select

from tests import stripe_fake
from tests.conftest import FIXED_NOW, Auth, csrf_token_from
from tests.web.payments.test_pay_concurrency import _clients, _form, _race
from webapp import create_app, demo
from webapp.db import db
from webapp.models import (
    Customer,
    GatewayEvent,
    Invoice,
    Notification,
    Payment,
    PaymentAllocation,
    PaymentMethod,
)
from webapp.services.core.notifications import NotificationView

PK, SK, WHSEC = "pk_test_portal", "sk_test_portal", "whsec_portaltest"
VISA, DECLINED_ON_CHARGE, THREE_D_SECURE = \
    stripe_fake.VISA, stripe_fake.DECLINED_ON_CHARGE, stripe_fake.THREE_D_SECURE


def stripe_settings(base: str, api_base: str | None = None) -> dict:
    return {"PAYMENT_GATEWAY": "stripe", "STRIPE_SECRET_KEY": SK, "STRIPE_PUBLISHABLE_KEY": PK,
            "STRIPE_WEBHOOK_SECRET": WHSEC, "STRIPE_API_BASE": api_base or base,
            "STRIPE_JS_URL": f"{base}/js.stripe.com/v3/"}


def make_app(engine, settings: dict):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "REDIS_URL": None,
                      "DATABASE_URL": engine.url.render_as_string(hide_password=False),
                      "LOGIN_RATE_LIMIT": "1000 per minute", "FIXED_NOW": FIXED_NOW,
                      **settings})
    with app.app_context():
        seeded = demo.seed_demo(db.session, now=FIXED_NOW)
        db.session.commit()
    app.config["JANE_ID"] = seeded.jane_customer_id
    return app


@pytest.fixture
def stripe_app(engine, fake):
    return make_app(engine, stripe_settings(fake))


@pytest.fixture
def jane(stripe_app):
    client = stripe_app.test_client()
    Auth(client).login()
    return client


def open_invoice(engine, customer_id: int) -> Invoice:
    with Session(engine) as session:
        return session.exec(select(Invoice).where(Invoice.customer_id == customer_id,
                                                  Invoice.status == "open")
                            .order_by(Invoice.id)).first()


def setup_secret(client, page: str = "/payment-methods/new", url: str = "/payment-methods/setup"):
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    answer = client.post(url, headers={"X-CSRFToken": token})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["client_secret"]


def save_card(client, fake, number: str = VISA) -> None:
    """Add a card the way the page does with JavaScript: SetupIntent, Stripe.js, then the form."""
    intent = stripe_fake.confirm_card_setup(fake, PK, setup_secret(client), number)
    assert intent["status"] == "succeeded", intent
    html = client.get("/payment-methods/new").get_data(as_text=True)
    answer = client.post("/payment-methods/new", data={
        "csrf_token": csrf_token_from(html), "setup_intent": intent["id"]})
    assert answer.status_code == 303, answer.get_data(as_text=True)


def stripe_card(engine, customer_id: int) -> PaymentMethod:
    with Session(engine) as session:
        return session.exec(select(PaymentMethod).where(
            PaymentMethod.customer_id == customer_id, PaymentMethod.status == "active",
            PaymentMethod.gateway_token.startswith("pm_"))).one()


def pay(client, invoice_id: int, method: str, **extra):
    data = _form(client, invoice_id) | {"method": method, **extra}
    return client.post(f"/pay?invoice={invoice_id}", data=data)


def follow(client, response):
    while response.status_code in (302, 303):
        response = client.get(response.headers["Location"])
    return response


def payment_of(engine, invoice_id: int) -> Payment | None:
    """The latest card payment the portal started for this invoice."""
    with Session(engine) as session:
        made = [p for p in session.exec(select(Payment).where(Payment.kind == "payment")
                                        .order_by(Payment.id))
                if invoice_id in p.intent.get("invoice_ids", [])]
    return made[-1] if made else None


def test_saving_a_card_keeps_only_stripes_ids_and_display_data(stripe_app, jane, fake, engine):
    page = jane.get("/payment-methods/new").get_data(as_text=True)
    assert 'name="card_number"' not in page and 'name="cvc"' not in page
    assert "data-stripe-card" in page and f"{fake}/js.stripe.com/v3/" in page
    assert "Adding a card needs JavaScript" in page  # the <noscript> message

    save_card(jane, fake)

    card = stripe_card(engine, stripe_app.config["JANE_ID"])
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("Visa", "4242", 12, 2031)
    with Session(engine) as session:
        customer = session.get(Customer, stripe_app.config["JANE_ID"])
    assert customer.gateway_customer_id.startswith("cus_")
    at_stripe = stripe_fake.api(fake, SK, "GET", f"payment_methods/{card.gateway_token}")
    assert at_stripe["customer"] == customer.gateway_customer_id
    assert "Visa •••• 4242" in jane.get("/payment-methods").get_data(as_text=True)
    update = jane.get(f"/payment-methods/{card.id}/update").get_data(as_text=True)
    assert "data-stripe-card" in update and 'name="card_number"' not in update


def test_a_second_card_uses_the_same_stripe_customer(stripe_app, jane, fake, engine):
    save_card(jane, fake)
    first = Session(engine).get(Customer, stripe_app.config["JANE_ID"]).gateway_customer_id
    save_card(jane, fake, "5555555555554444")
    assert Session(engine).get(Customer, stripe_app.config["JANE_ID"]).gateway_customer_id \
        == first


@pytest.mark.parametrize("htmx", [False, True])
def test_a_form_without_a_confirmed_setup_changes_nothing(stripe_app, jane, engine, htmx):
    html = jane.get("/payment-methods/new").get_data(as_text=True)
    headers = {"HX-Request": "true"} if htmx else {}
    answer = jane.post("/payment-methods/new", headers=headers, data={
        "csrf_token": csrf_token_from(html), "setup_intent": ""})
    assert answer.status_code == 422
    assert "Adding a card needs JavaScript" in answer.get_data(as_text=True)
    with Session(engine) as session:
        assert session.exec(select(PaymentMethod).where(
            PaymentMethod.gateway_token.startswith("pm_"))).all() == []


def test_another_customers_setup_intent_is_refused(stripe_app, jane, fake, engine):
    omar = stripe_app.test_client()
    Auth(omar).login(*demo.OMAR)
    intent = stripe_fake.confirm_card_setup(fake, PK, setup_secret(omar), VISA)
    html = jane.get("/payment-methods/new").get_data(as_text=True)
    answer = jane.post("/payment-methods/new", data={"csrf_token": csrf_token_from(html),
                                                     "setup_intent": intent["id"]})
    assert answer.status_code == 422
    assert "add it again" in answer.get_data(as_text=True)


def test_card_numbers_posted_by_hand_are_refused_in_stripe_mode(stripe_app, jane, engine):
    invoice = open_invoice(engine, stripe_app.config["JANE_ID"])
    answer = pay(jane, invoice.id, "new", card_number=VISA, exp_month="12", exp_year="2031",
                 cvc="123")
    assert answer.status_code == 422
    assert "Card numbers are not accepted here" in answer.get_data(as_text=True)
    assert payment_of(engine, invoice.id) is None


def test_the_pay_page_renders_no_card_number_input(stripe_app, jane, engine):
    invoice = open_invoice(engine, stripe_app.config["JANE_ID"])
    page = jane.get(f"/pay?invoice={invoice.id}").get_data(as_text=True)
    assert not re.search(r'name="(card_number|cvc|exp_month|exp_year)"', page)
    assert 'data-setup-url="/payment-methods/setup"' in page


def test_paying_with_a_saved_card_creates_the_intent_then_confirms_it(stripe_app, jane, fake,
                                                                       engine):
    save_card(jane, fake)
    card = stripe_card(engine, stripe_app.config["JANE_ID"])
    invoice = open_invoice(engine, stripe_app.config["JANE_ID"])
    page = follow(jane, pay(jane, invoice.id, str(card.id)))
    assert "Thank you" in page.get_data(as_text=True) or "Receipt" in page.get_data(as_text=True)
    payment = payment_of(engine, invoice.id)
    assert payment.status == "succeeded" and payment.gateway_reference.startswith("pi_")
    intent = stripe_fake.api(fake, SK, "GET", f"payment_intents/{payment.gateway_reference}")
    assert (intent["amount"], intent["currency"], intent["status"]) == \
        (invoice.total, invoice.currency.lower(), "succeeded")
    assert intent["metadata"]["portal_key"].endswith(payment.idempotency_key)
    with Session(engine) as session:
        assert session.get(Invoice, invoice.id).status == "paid"


def test_a_new_card_on_the_pay_page_is_charged_from_the_server(stripe_app, jane, fake, engine):
    invoice = open_invoice(engine, stripe_app.config["JANE_ID"])
    secret = setup_secret(jane, f"/pay?invoice={invoice.id}")
    intent = stripe_fake.confirm_card_setup(fake, PK, secret, VISA)
    page = follow(jane, pay(jane, invoice.id, "new", setup_intent=intent["id"], save_card="y"))
    assert page.status_code == 200
    payment = payment_of(engine, invoice.id)
    assert payment.status == "succeeded"
    assert stripe_card(engine, stripe_app.config["JANE_ID"]).last4 == "4242"  # kept: asked to


def test_a_decline_shows_stripes_message_and_leaves_the_invoice_open(stripe_app, jane, fake,
                                                                      engine):
    save_card(jane, fake, DECLINED_ON_CHARGE)
    card = stripe_card(engine, stripe_app.config["JANE_ID"])
    invoice = open_invoice(engine, stripe_app.config["JANE_ID"])
    page = follow(jane, pay(jane, invoice.id, str(card.id)))
    assert "Your card was declined." in page.get_data(as_text=True)
    payment = payment_of(engine, invoice.id)
    assert (payment.status, payment.failure_reason) == ("failed", "Your card was declined.")
    with Session(engine) as session:
        assert session.get(Invoice, invoice.id).status == "open"


def _pending_3ds_payment(stripe_app, jane, fake, engine):
    save_card(jane, fake, THREE_D_SECURE)
    card = stripe_card(engine, stripe_app.config["JANE_ID"])
    invoice = open_invoice(engine, stripe_app.config["JANE_ID"])
    page = follow(jane, pay(jane, invoice.id, str(card.id)))
    return invoice, payment_of(engine, invoice.id), page.get_data(as_text=True)


def test_3d_secure_hands_the_client_secret_to_stripe_js_then_records_the_outcome(
        stripe_app, jane, fake, engine):
    invoice, payment, page = _pending_3ds_payment(stripe_app, jane, fake, engine)
    assert payment.status == "pending"
    assert "Confirm the payment with your bank" in page
    secret = re.search(r'data-client-secret="([^"]+)"', page).group(1)
    assert secret.startswith(payment.gateway_reference + "_secret_")
    assert "hx-trigger" not in page.split('id="payment-progress"')[1].split(">")[0]

    stripe_fake.authenticate_payment(fake, PK, secret)
    done = follow(jane, jane.get(f"/pay/payments/{payment.id}"))
    assert "Thank you" in done.get_data(as_text=True) or done.status_code == 200
    with Session(engine) as session:
        assert session.get(Payment, payment.id).status == "succeeded"
        assert session.get(Invoice, invoice.id).status == "paid"


def test_the_status_fragment_for_htmx_shows_the_3d_secure_step(stripe_app, jane, fake, engine):
    _, payment, _ = _pending_3ds_payment(stripe_app, jane, fake, engine)
    fragment = jane.get(f"/pay/payments/{payment.id}", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert "data-stripe-action" in body


def test_a_failed_3d_secure_challenge_fails_the_payment(stripe_app, jane, fake, engine):
    invoice, payment, page = _pending_3ds_payment(stripe_app, jane, fake, engine)
    secret = re.search(r'data-client-secret="([^"]+)"', page).group(1)
    stripe_fake.authenticate_payment(fake, PK, secret, success=False)
    page = follow(jane, jane.get(f"/pay/payments/{payment.id}")).get_data(as_text=True)
    assert "did not go through" in page
    with Session(engine) as session:
        assert session.get(Payment, payment.id).status == "failed"
        assert session.get(Invoice, invoice.id).status == "open"


def test_paying_again_with_another_card_cancels_the_intent_waiting_for_3d_secure(
        stripe_app, jane, fake, engine, monkeypatch):
    invoice, payment, _ = _pending_3ds_payment(stripe_app, jane, fake, engine)
    from webapp.services.billing import charges
    monkeypatch.setattr(charges, "NEXT_ATTEMPT_GRACE", charges.timedelta(0))
    save_card(jane, fake, "5555555555554444")
    with Session(engine) as session:
        other = session.exec(select(PaymentMethod).where(
            PaymentMethod.gateway_token.startswith("pm_"),
            PaymentMethod.last4 == "4444")).one()
    follow(jane, pay(jane, invoice.id, str(other.id)))
    intent = stripe_fake.api(fake, SK, "GET", f"payment_intents/{payment.gateway_reference}")
    assert intent["status"] == "canceled"
    with Session(engine) as session:
        assert session.get(Payment, payment.id).status == "failed"
        assert session.get(Invoice, invoice.id).status == "paid"


def allocated_to(session, invoice_id: int) -> int:
    return sum(a.amount for a in session.exec(select(PaymentAllocation).where(
        PaymentAllocation.invoice_id == invoice_id)))


def deliver(client, event_type: str, obj: dict, **kwargs):
    payload, signature = stripe_fake.signed_event(WHSEC, event_type, obj, **kwargs)
    return client.post("/webhooks/stripe", data=payload,
                       headers={"Stripe-Signature": signature, "Content-Type": "application/json"})


def test_a_webhook_before_the_browsers_answer_settles_the_invoice(stripe_app, jane, fake, engine):
    invoice, payment, page = _pending_3ds_payment(stripe_app, jane, fake, engine)
    secret = re.search(r'data-client-secret="([^"]+)"', page).group(1)
    stripe_fake.authenticate_payment(fake, PK, secret)  # ...and the customer closes the tab
    intent = stripe_fake.api(fake, SK, "GET", f"payment_intents/{payment.gateway_reference}")

    answer = deliver(stripe_app.test_client(), "payment_intent.succeeded", intent)
    assert (answer.status_code, answer.get_json()) == (200, {"received": "recorded"})
    with Session(engine) as session:
        assert session.get(Payment, payment.id).status == "succeeded"
        assert session.get(Invoice, invoice.id).status == "paid"
    # The browser comes back afterwards: the receipt, nothing recorded twice.
    follow(jane, jane.get(f"/pay/payments/{payment.id}"))
    with Session(engine) as session:
        assert allocated_to(session, invoice.id) == invoice.total


def test_a_webhook_after_the_browsers_answer_changes_nothing(stripe_app, jane, fake, engine):
    save_card(jane, fake)
    card = stripe_card(engine, stripe_app.config["JANE_ID"])
    invoice = open_invoice(engine, stripe_app.config["JANE_ID"])
    follow(jane, pay(jane, invoice.id, str(card.id)))
    payment = payment_of(engine, invoice.id)
    intent = stripe_fake.api(fake, SK, "GET", f"payment_intents/{payment.gateway_reference}")
    answer = deliver(stripe_app.test_client(), "payment_intent.succeeded", intent)
    assert answer.get_json() == {"received": "noted"}
    with Session(engine) as session:
        assert allocated_to(session, invoice.id) == invoice.total


def test_a_replayed_webhook_changes_nothing(stripe_app, jane, fake, engine):
    invoice, payment, page = _pending_3ds_payment(stripe_app, jane, fake, engine)
    stripe_fake.authenticate_payment(
        fake, PK, re.search(r'data-client-secret="([^"]+)"', page).group(1))
    intent = stripe_fake.api(fake, SK, "GET", f"payment_intents/{payment.gateway_reference}")
    client = stripe_app.test_client()
    assert deliver(client, "payment_intent.succeeded", intent, event_id="evt_once").get_json() \
        == {"received": "recorded"}
    assert deliver(client, "payment_intent.succeeded", intent, event_id="evt_once").get_json() \
        == {"received": "duplicate"}
    with Session(engine) as session:
        assert len(session.exec(select(GatewayEvent)).all()) == 1
        assert allocated_to(session, invoice.id) == invoice.total


def test_a_payment_failed_webhook_fails_the_pending_payment(stripe_app, jane, fake, engine):
    invoice, payment, _ = _pending_3ds_payment(stripe_app, jane, fake, engine)
    failed = {"id": payment.gateway_reference, "object": "payment_intent",
              "status": "requires_payment_method",
              "last_payment_error": {"code": "card_declined",
                                     "decline_code": "insufficient_funds"}}
    assert deliver(stripe_app.test_client(), "payment_intent.payment_failed",
                   failed).get_json() == {"received": "recorded"}
    with Session(engine) as session:
        assert session.get(Payment, payment.id).failure_reason == \
            "Your card has insufficient funds."


def test_a_requires_action_webhook_leaves_the_payment_pending(stripe_app, jane, fake, engine):
    _, payment, _ = _pending_3ds_payment(stripe_app, jane, fake, engine)
    intent = stripe_fake.api(fake, SK, "GET", f"payment_intents/{payment.gateway_reference}")
    assert deliver(stripe_app.test_client(), "payment_intent.requires_action",
                   intent).get_json() == {"received": "noted"}
    with Session(engine) as session:
        assert session.get(Payment, payment.id).status == "pending"


def test_a_forged_signature_gets_400_and_is_logged_without_the_body(stripe_app, caplog):
    payload, _ = stripe_fake.signed_event(WHSEC, "payment_intent.succeeded",
                                          {"id": "pi_forged", "status": "succeeded"})
    _, forged = stripe_fake.signed_event("whsec_other", "payment_intent.succeeded",
                                         {"id": "pi_forged", "status": "succeeded"})
    with caplog.at_level(logging.WARNING):
        answer = stripe_app.test_client().post("/webhooks/stripe", data=payload,
                                               headers={"Stripe-Signature": forged})
    assert answer.status_code == 400
    assert "bad signature" in caplog.text and "pi_forged" not in caplog.text
    with Session(stripe_app.extensions["database"]) as session:
        assert session.exec(select(GatewayEvent)).all() == []


def test_an_old_signature_is_refused_by_the_sdks_tolerance(stripe_app):
    payload, signature = stripe_fake.signed_event(WHSEC, "payment_intent.succeeded",
                                                  {"id": "pi_old", "status": "succeeded"},
                                                  timestamp=1_000_000_000)
    answer = stripe_app.test_client().post("/webhooks/stripe", data=payload,
                                           headers={"Stripe-Signature": signature})
    assert answer.status_code == 400


def test_the_webhook_needs_no_csrf_token_and_the_test_gateway_has_none(app):
    answer = app.test_client().post("/webhooks/stripe", data=b"{}")
    assert answer.status_code == 404  # the embedded default: no Stripe endpoint


def test_a_late_success_on_an_invoice_already_paid_becomes_credit(stripe_app, jane, fake,
                                                                  engine):
    invoice, payment, page = _pending_3ds_payment(stripe_app, jane, fake, engine)
    with Session(engine) as session:  # the portal gave up on it, and the invoice was paid
        row = session.get(Payment, payment.id)
        row.status, row.failure_reason = "failed", "The payment processor has no record."
        held = session.get(Invoice, invoice.id)
        held.pending_payment_id = None
        session.commit()
    save_card(jane, fake, "5555555555554444")
    with Session(engine) as session:
        other = session.exec(select(PaymentMethod).where(PaymentMethod.last4 == "4444",
                             PaymentMethod.gateway_token.startswith("pm_"))).one()
    follow(jane, pay(jane, invoice.id, str(other.id)))
    with Session(engine) as session:
        assert session.get(Invoice, invoice.id).status == "paid"
        notices_before = len(session.exec(select(Notification)).all())

    stripe_fake.authenticate_payment(
        fake, PK, re.search(r'data-client-secret="([^"]+)"', page).group(1))
    intent = stripe_fake.api(fake, SK, "GET", f"payment_intents/{payment.gateway_reference}")
    assert deliver(stripe_app.test_client(), "payment_intent.succeeded", intent).get_json() \
        == {"received": "recorded"}
    with Session(engine) as session:
        late = session.get(Payment, payment.id)
        assert late.status == "succeeded"
        assert allocated_to(session, invoice.id) == invoice.total  # paid once, not twice
        notice = NotificationView.of(session.exec(
            select(Notification).order_by(Notification.id.desc())).first())
        assert len(session.exec(select(Notification)).all()) == notices_before + 1
        assert notice.title.startswith("Late payment from Jane Cooper")
        assert "is now unused credit on credit note" in notice.body


def test_a_saved_test_gateway_card_is_never_sent_to_stripe(stripe_app, jane, fake, engine):
    with Session(engine) as session:
        old = session.exec(select(PaymentMethod).where(
            PaymentMethod.customer_id == stripe_app.config["JANE_ID"],
            PaymentMethod.gateway_token.startswith("tok_test_"))).first()
    invoice = open_invoice(engine, stripe_app.config["JANE_ID"])
    before = len(stripe_fake.payment_intents(fake, SK))
    page = follow(jane, pay(jane, invoice.id, str(old.id))).get_data(as_text=True)
    assert "Add the card again" in page
    assert len(stripe_fake.payment_intents(fake, SK)) == before


def test_an_amount_under_stripes_minimum_is_refused_before_stripe(stripe_app, jane, fake,
                                                                  engine):
    save_card(jane, fake)
    card = stripe_card(engine, stripe_app.config["JANE_ID"])
    invoice = open_invoice(engine, stripe_app.config["JANE_ID"])
    before = len(stripe_fake.payment_intents(fake, SK))
    answer = pay(jane, invoice.id, str(card.id), amount="0.40")  # the demo takes partials
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert len(stripe_fake.payment_intents(fake, SK)) == before
    assert "at least US$0.50" in body or "at least $0.50" in body
    with Session(engine) as session:
        assert session.get(Invoice, invoice.id).status == "open"


def test_twenty_simultaneous_posts_with_one_key_make_one_payment_intent(postgresql_engine,
                                                                        fake):
    from tests.conftest import wipe
    wipe(postgresql_engine)
    app = make_app(postgresql_engine, stripe_settings(fake))
    clients = _clients(app, 20)
    save_card(clients[0], fake)
    card = stripe_card(postgresql_engine, app.config["JANE_ID"])
    invoice = open_invoice(postgresql_engine, app.config["JANE_ID"])
    body = _form(clients[0], invoice.id) | {"method": str(card.id)}
    before = len(stripe_fake.payment_intents(fake, SK))
    _race(clients, [body] * 20, invoice.id)
    intents = stripe_fake.payment_intents(fake, SK)
    with Session(postgresql_engine) as session:
        payments = session.exec(select(Payment).where(Payment.kind == "payment",
                                                      Payment.customer_id == app.config["JANE_ID"],
                                                      Payment.gateway_reference.startswith("pi_")))
        payments = payments.all()
    assert len(intents) - before == 1
    assert len(payments) == 1 and payments[0].status == "succeeded"


def test_a_lost_response_is_retried_with_the_same_idempotency_key(engine, fake):
    with stripe_fake.DroppingProxy(fake, drop=("POST", "/v1/payment_intents")) as proxy:
        app = make_app(engine, stripe_settings(fake, api_base=proxy.url))
        client = app.test_client()
        Auth(client).login()
        save_card(client, fake)
        card = stripe_card(engine, app.config["JANE_ID"])
        invoice = open_invoice(engine, app.config["JANE_ID"])
        follow(client, pay(client, invoice.id, str(card.id)))
    creates = [key for method, path, key in proxy.seen
               if (method, path) == ("POST", "/v1/payment_intents")]
    assert proxy.dropped == 1 and len(creates) == 2
    assert creates[0] == creates[1] and creates[0].endswith(
        payment_of(engine, invoice.id).idempotency_key)
    with Session(engine) as session:
        payments = session.exec(select(Payment).where(
            Payment.customer_id == app.config["JANE_ID"],
            Payment.gateway_reference.startswith("pi_"))).all()
        assert len(payments) == 1 and payments[0].status == "succeeded"
        assert session.get(Invoice, invoice.id).status == "paid"


def test_admin_test_connection_calls_stripe_and_shows_the_answer(stripe_app):
    admin = stripe_app.test_client()
    Auth(admin).login(*demo.ADMIN)
    page = admin.get("/admin/payment-gateway").get_data(as_text=True)
    assert "with test-mode keys" in page and "/webhooks/stripe" in page
    assert SK not in page and WHSEC not in page
    token = csrf_token_from(page)
    for htmx in (False, True):
        answer = admin.post("/admin/payment-gateway/test", data={"csrf_token": token},
                            headers={"HX-Request": "true"} if htmx else {})
        body = answer.get_data(as_text=True)
        assert "Connected to Stripe (test mode)" in body
        assert ("<html" in body) is not htmx


def test_admin_test_connection_reports_an_outage(engine):
    app = make_app(engine, stripe_settings("http://127.0.0.1:9"))  # nothing listens there
    app.extensions["gateway"].client = type(app.extensions["gateway"].client)(
        SK, base_addresses={"api": "http://127.0.0.1:9"}, max_network_retries=0)
    admin = app.test_client()
    Auth(admin).login(*demo.ADMIN)
    token = csrf_token_from(admin.get("/admin/payment-gateway").get_data(as_text=True))
    body = admin.post("/admin/payment-gateway/test", data={"csrf_token": token}) \
        .get_data(as_text=True)
    assert "Stripe did not answer" in body


def test_the_card_pages_csp_lets_in_stripe_js_and_nothing_else(stripe_app, jane, fake):
    card_page = jane.get("/payment-methods/new").headers["Content-Security-Policy"]
    assert f"script-src 'self' {fake}" in card_page
    assert f"frame-src {fake} https://hooks.stripe.com" in card_page
    assert f"connect-src 'self' {fake}" in card_page
    assert "unsafe-inline" not in card_page and "unsafe-eval" not in card_page
    other = jane.get("/invoices")
    assert fake not in other.headers["Content-Security-Policy"]
    assert fake not in other.get_data(as_text=True)


def test_requests_to_the_fake_never_leave_loopback(fake):
    assert fake.startswith("http://127.0.0.1:")
    assert requests.get(f"{fake}/js.stripe.com/v3/", timeout=5).status_code == 200


def auto_charging(engine, customer_id: int, status: str, card_id: int) -> tuple[int, str]:
    """Point the customer's first subscription in `status` at the card, auto-charge on."""
    from webapp.models import Subscription
    with Session(engine) as session:
        sub = session.exec(select(Subscription).where(Subscription.customer_id == customer_id,
                                                      Subscription.status == status)).first()
        sub.payment_method_id, sub.autocharge = card_id, True
        session.add(sub)
        session.commit()
        return sub.id, sub.number


@pytest.mark.parametrize("htmx", [False, True])
def test_activating_with_a_3d_secure_card_goes_to_the_payments_own_page(stripe_app, jane, fake,
                                                                         engine, htmx):
    from webapp.models import Subscription
    save_card(jane, fake, THREE_D_SECURE)
    card = stripe_card(engine, stripe_app.config["JANE_ID"])
    sub_id, _ = auto_charging(engine, stripe_app.config["JANE_ID"], "trial", card.id)
    html = jane.get(f"/subscriptions/{sub_id}/activate").get_data(as_text=True)
    form = {name: re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html).group(1)
            for name in ("fingerprint", "idempotency_key", "csrf_token")}
    answer = jane.post(f"/subscriptions/{sub_id}/activate", data=form,
                       headers={"HX-Request": "true"} if htmx else {})
    target = answer.headers["HX-Redirect"] if htmx else answer.headers["Location"]
    assert re.fullmatch(r"/pay/payments/\d+", target)
    page = jane.get(target).get_data(as_text=True)
    assert "Confirm the payment with your bank" in page
    stripe_fake.authenticate_payment(
        fake, PK, re.search(r'data-client-secret="([^"]+)"', page).group(1))
    follow(jane, jane.get(target))
    with Session(engine) as session:
        assert session.get(Subscription, sub_id).status == "live"


def test_a_card_detached_at_stripe_disappears_and_turns_auto_charge_off(stripe_app, jane, fake,
                                                                        engine):
    from webapp.models import OutboxMessage, Subscription
    save_card(jane, fake)
    card = stripe_card(engine, stripe_app.config["JANE_ID"])
    sub_id, number = auto_charging(engine, stripe_app.config["JANE_ID"], "live", card.id)
    detached = stripe_fake.api(fake, SK, "POST", f"payment_methods/{card.gateway_token}/detach")
    assert detached["customer"] is None
    answer = deliver(stripe_app.test_client(), "payment_method.detached", detached)
    assert answer.get_json() == {"received": "recorded"}
    with Session(engine) as session:
        assert session.get(PaymentMethod, card.id).status == "removed"
        sub = session.get(Subscription, sub_id)
        assert (sub.autocharge, sub.payment_method_id) == (False, None)
        mail = session.exec(select(OutboxMessage).where(OutboxMessage.template == "card_removed")
                            ).one()
    assert mail.to_address == demo.JANE[0] and mail.context["subscriptions"] == [number]
    from webapp.models import WebhookEvent
    with Session(engine) as session:  # the business's own systems are told too
        told = session.exec(select(WebhookEvent).where(
            WebhookEvent.type == "payment_method.removed")).all()
        assert [e.payload["data"]["object"]["last4"] for e in told] == ["4242"]
    assert mail.context["page"]["endpoint"] == "payment_methods.add"
    again = deliver(stripe_app.test_client(), "payment_method.detached", detached)
    assert again.get_json() == {"received": "noted"}  # another event about it: nothing left


def test_a_card_updated_at_stripe_shows_its_new_expiry_and_last_four(stripe_app, jane, fake,
                                                                     engine):
    save_card(jane, fake)
    card = stripe_card(engine, stripe_app.config["JANE_ID"])
    updated = stripe_fake.api(fake, SK, "GET", f"payment_methods/{card.gateway_token}")
    updated["card"] |= {"exp_month": 3, "exp_year": 2033, "last4": "1881"}
    assert deliver(stripe_app.test_client(), "payment_method.updated", updated).get_json() \
        == {"received": "recorded"}
    with Session(engine) as session:
        saved = session.get(PaymentMethod, card.id)
        assert (saved.last4, saved.exp_month, saved.exp_year) == ("1881", 3, 2033)
        from webapp.models import WebhookEvent
        told = session.exec(select(WebhookEvent).where(
            WebhookEvent.type == "payment_method.updated")).all()[-1]
        assert told.payload["data"]["previous"]["last4"] == "4242"
    assert "Visa •••• 1881" in jane.get("/payment-methods").get_data(as_text=True)


def test_a_customer_deleted_at_stripe_is_logged_and_the_admins_told(stripe_app, jane, fake,
                                                                    engine, caplog):
    save_card(jane, fake)
    with Session(engine) as session:
        reference = session.get(Customer, stripe_app.config["JANE_ID"]).gateway_customer_id
        cards_before = len(session.exec(select(PaymentMethod)).all())
    deleted = stripe_fake.api(fake, SK, "DELETE", f"customers/{reference}")
    with caplog.at_level(logging.WARNING):
        answer = deliver(stripe_app.test_client(), "customer.deleted",
                         {"id": reference, "object": "customer", "deleted": True, **deleted})
    assert answer.get_json() == {"received": "recorded"}
    assert reference in caplog.text
    with Session(engine) as session:
        notice = NotificationView.of(session.exec(
            select(Notification).order_by(Notification.id.desc())).first())
        assert notice.title == "Jane Cooper was deleted at the payment processor"
        assert len(session.exec(select(PaymentMethod)).all()) == cards_before
        assert session.get(Customer, stripe_app.config["JANE_ID"]) is not None


@pytest.mark.parametrize("htmx", [False, True])
def test_switching_to_stripe_retires_the_test_gateways_cards(stripe_app, jane, fake, engine,
                                                             htmx):
    from webapp.models import AuditEntry, OutboxMessage, Subscription
    jane_id = stripe_app.config["JANE_ID"]
    with Session(engine) as session:
        old_ids = [m.id for m in session.exec(select(PaymentMethod).where(
            PaymentMethod.status == "active"))]
        charging = [s.number for s in session.exec(select(Subscription).where(
            Subscription.customer_id == jane_id, Subscription.autocharge.is_(True),
            Subscription.status.not_in(("cancelled", "expired")))
            .order_by(Subscription.id))]
    assert old_ids and charging
    admin = stripe_app.test_client()
    Auth(admin).login(*demo.ADMIN)
    page = admin.get("/admin/payment-gateway").get_data(as_text=True)
    assert f"{len(old_ids)} saved cards were made with another gateway" in page
    answer = admin.post("/admin/payment-gateway/retire-cards",
                        data={"csrf_token": csrf_token_from(page)},
                        headers={"HX-Request": "true"} if htmx else {})
    assert answer.status_code == (200 if htmx else 303)
    with Session(engine) as session:
        assert {m.status for m in session.exec(select(PaymentMethod).where(
            PaymentMethod.id.in_(old_ids)))} == {"unusable"}
        assert session.exec(select(Subscription).where(
            Subscription.payment_method_id.in_(old_ids))).all() == []
        mails = {m.to_address: m for m in session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "card_readd"))}
        assert mails[demo.JANE[0]].context["subscriptions"] == charging
        assert session.exec(select(AuditEntry).where(
            AuditEntry.action == "gateway.cards_retired")).one().actor_label
        assert session.exec(select(Payment).where(Payment.status == "succeeded")).first()
    pay_page = jane.get(f"/pay?invoice={open_invoice(engine, jane_id).id}").get_data(as_text=True)
    assert "with Visa •••• 4242" not in pay_page  # nothing offered that cannot be charged
    assert "saved cards were made with another gateway" not in \
        admin.get("/admin/payment-gateway").get_data(as_text=True)


def test_the_test_gateway_keeps_its_cards_and_offers_no_retirement(app, seeded):
    admin = app.test_client()
    Auth(admin).login(*demo.ADMIN)
    page = admin.get("/admin/payment-gateway").get_data(as_text=True)
    assert "built-in test gateway" in page and "made with another gateway" not in page


def test_the_command_line_retires_the_old_gateways_cards_too(stripe_app, engine):
    result = stripe_app.test_cli_runner().invoke(args=["retire-old-cards"])
    assert result.exit_code == 0 and "cards marked unusable" in result.output
    with Session(engine) as session:
        assert session.exec(select(PaymentMethod).where(
            PaymentMethod.status == "active")).all() == []
    again = stripe_app.test_cli_runner().invoke(args=["retire-old-cards"])
    assert again.output.startswith("0 cards marked unusable")


def _paid_with_stripe(stripe_app, jane, fake, engine) -> tuple[Invoice, Payment]:
    save_card(jane, fake)
    card = stripe_card(engine, stripe_app.config["JANE_ID"])
    invoice = open_invoice(engine, stripe_app.config["JANE_ID"])
    follow(jane, pay(jane, invoice.id, str(card.id)))
    return invoice, payment_of(engine, invoice.id)


def _refund(admin, payment_id: int, amount: str, reason: str, htmx: bool = False):
    page = admin.get(f"/admin/payments/{payment_id}").get_data(as_text=True)
    return admin.post(f"/admin/payments/{payment_id}/refund",
                      data={"csrf_token": csrf_token_from(page), "amount": amount,
                            "reference": reason},
                      headers={"HX-Request": "true"} if htmx else {})


def _refunds_of(engine, payment_id: int) -> list[Payment]:
    with Session(engine) as session:
        return list(session.exec(select(Payment).where(Payment.refund_of_id == payment_id)
                                 .order_by(Payment.id)))


@pytest.mark.parametrize("htmx", [False, True])
def test_a_partial_then_the_rest_refunded_at_stripe_from_the_back_office(stripe_app, jane,
                                                                         fake, engine, htmx):
    invoice, payment = _paid_with_stripe(stripe_app, jane, fake, engine)
    admin = stripe_app.test_client()
    Auth(admin).login(*demo.ADMIN)
    first = _refund(admin, payment.id, "5.00", "Goodwill for the outage", htmx)
    assert first.status_code == (200 if htmx else 303)
    at_stripe = stripe_fake.api(fake, SK, "GET",
                                f"refunds?payment_intent={payment.gateway_reference}")["data"]
    assert [(r["amount"], r["metadata"]["reason"]) for r in at_stripe] == \
        [(500, "Goodwill for the outage")]
    [partial] = _refunds_of(engine, payment.id)
    assert (partial.amount, partial.gateway_reference) == (500, at_stripe[0]["id"])
    with Session(engine) as session:
        assert session.get(Invoice, invoice.id).status == "open"  # it paid that invoice
    rest = f"{(invoice.total - 500) / 100:.2f}"
    _refund(admin, payment.id, rest, "Cancelled in the first week")
    at_stripe = stripe_fake.api(fake, SK, "GET",
                                f"refunds?payment_intent={payment.gateway_reference}")["data"]
    assert sorted(r["amount"] for r in at_stripe) == sorted([500, invoice.total - 500])
    assert sum(r.amount for r in _refunds_of(engine, payment.id)) == invoice.total


def test_stripe_refusing_a_refund_records_nothing(stripe_app, jane, fake, engine, monkeypatch):
    _, payment = _paid_with_stripe(stripe_app, jane, fake, engine)
    admin = stripe_app.test_client()
    Auth(admin).login(*demo.ADMIN)
    answer = _refund(admin, payment.id, "1.00", "duplicate")  # the fake refuses `reason`
    assert answer.status_code == 422
    assert "Stripe refused the refund" in answer.get_data(as_text=True)
    assert _refunds_of(engine, payment.id) == []


def test_a_refund_webhook_arriving_twice_is_recorded_once(stripe_app, jane, fake, engine):
    invoice, payment = _paid_with_stripe(stripe_app, jane, fake, engine)
    # Refunded at Stripe directly (its dashboard): only the webhook tells the portal.
    made = stripe_fake.api(fake, SK, "POST", "refunds", payment_intent=payment.gateway_reference,
                           amount=300)
    intent = stripe_fake.api(fake, SK, "GET", f"payment_intents/{payment.gateway_reference}")
    charge = stripe_fake.api(fake, SK, "GET", f"charges/{intent['latest_charge']['id']}"
                             if isinstance(intent["latest_charge"], dict)
                             else f"charges/{intent['latest_charge']}")
    assert made["id"] in [r["id"] for r in charge["refunds"]["data"]]
    client = stripe_app.test_client()
    assert deliver(client, "charge.refunded", charge).get_json() == {"received": "recorded"}
    assert deliver(client, "charge.refunded", charge).get_json() == {"received": "noted"}
    [refund] = _refunds_of(engine, payment.id)
    assert (refund.amount, refund.gateway_reference) == (300, made["id"])
    with Session(engine) as session:
        assert session.get(Invoice, invoice.id).status == "open"


def test_a_back_office_refund_is_not_recorded_again_by_its_webhook(stripe_app, jane, fake,
                                                                   engine):
    _, payment = _paid_with_stripe(stripe_app, jane, fake, engine)
    admin = stripe_app.test_client()
    Auth(admin).login(*demo.ADMIN)
    _refund(admin, payment.id, "2.00", "Wrong plan")
    intent = stripe_fake.api(fake, SK, "GET", f"payment_intents/{payment.gateway_reference}")
    charge_id = intent["latest_charge"]["id"] if isinstance(intent["latest_charge"], dict) \
        else intent["latest_charge"]
    charge = stripe_fake.api(fake, SK, "GET", f"charges/{charge_id}")
    assert deliver(stripe_app.test_client(), "charge.refunded", charge).get_json() == \
        {"received": "noted"}
    assert [r.amount for r in _refunds_of(engine, payment.id)] == [200]


def test_a_refund_on_the_test_gateway_is_recorded_in_the_ledger_only(app, seeded):
    from webapp.models import TestGatewayCharge
    with Session(app.extensions["database"]) as session:
        payment = session.exec(select(Payment).where(
            Payment.customer_id == seeded.jane_customer_id, Payment.kind == "payment",
            Payment.status == "succeeded").order_by(Payment.id)).first()
        charges_before = len(session.exec(select(TestGatewayCharge)).all())
    admin = app.test_client()
    Auth(admin).login(*demo.ADMIN)
    assert _refund(admin, payment.id, "1.00", "Goodwill").status_code == 303
    [refund] = _refunds_of(app.extensions["database"], payment.id)
    assert (refund.amount, refund.gateway_reference) == (100, None)
    with Session(app.extensions["database"]) as session:
        assert len(session.exec(select(TestGatewayCharge)).all()) == charges_before


def test_a_full_refund_at_stripe_reopens_the_invoice_it_paid(stripe_app, jane, fake, engine):
    invoice, payment = _paid_with_stripe(stripe_app, jane, fake, engine)
    admin = stripe_app.test_client()
    Auth(admin).login(*demo.ADMIN)
    assert _refund(admin, payment.id, f"{invoice.total / 100:.2f}", "Cancelled").status_code \
        == 303
    at_stripe = stripe_fake.api(fake, SK, "GET",
                                f"refunds?payment_intent={payment.gateway_reference}")["data"]
    assert [r["amount"] for r in at_stripe] == [invoice.total]
    with Session(engine) as session:
        assert session.get(Invoice, invoice.id).status == "open"
        assert allocated_to(session, invoice.id) == 0


def test_the_same_setup_intent_sent_twice_saves_one_card(stripe_app, jane, fake, engine):
    intent = stripe_fake.confirm_card_setup(fake, PK, setup_secret(jane), VISA)
    for _ in range(2):
        html = jane.get("/payment-methods/new").get_data(as_text=True)
        jane.post("/payment-methods/new", data={"csrf_token": csrf_token_from(html),
                                                 "setup_intent": intent["id"]})
    assert stripe_card(engine, stripe_app.config["JANE_ID"]).last4 == "4242"  # .one(): one row
