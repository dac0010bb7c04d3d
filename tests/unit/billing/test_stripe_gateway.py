"""The Stripe gateway's own rules, against what Stripe documents (no server needed).

Where localstripe (the fake the web tests use) answers differently from real Stripe, the
documented answer is covered here, and the difference is listed in the README ("Stripe").
"""

from __future__ import annotations

import json
import time

import pytest
import stripe

from tests import stripe_fake
from webapp import config
from webapp.security import build_csp
from webapp.services.billing import stripe_gateway
from webapp.services.billing.gateway import (
    FAILED,
    IN_PROGRESS,
    SUCCEEDED,
    UNKNOWN,
    AwaitingCustomer,
)
from webapp.services.billing.stripe_gateway import (
    StripeGateway,
    StripeSettings,
    attempt_of,
    check_settings,
    csp_sources,
    to_stripe_amount,
)
from webapp.services.core.errors import InvalidInput


def shown(message) -> str:
    """A message as a customer reading en_GB sees it."""
    return message if isinstance(message, str) else message.format("en_GB")


LIVE = StripeSettings("sk_live_abc123", "pk_live_abc123", "whsec_abc123")


# -- amounts -----------------------------------------------------------------------------

@pytest.mark.parametrize(("minor", "currency", "sent"), [
    (1999, "USD", 1999),       # two-decimal: minor units as they are
    (500, "JPY", 500),         # zero-decimal: ¥500 is 500
    (1230, "KWD", 1230),       # three-decimal: thousandths, last digit 0
    (50, "USD", 50),           # exactly Stripe's minimum
    (30, "GBP", 30),
    (1500, "ISK", 150000),     # zero-decimal in ISO 4217, two-decimal for Stripe (…00)
    (1, "KRW", 1),             # no minimum listed here for KRW
])
def test_minor_units_map_to_stripes_amounts(minor, currency, sent):
    assert to_stripe_amount(minor, currency) == sent


@pytest.mark.parametrize(("minor", "currency", "says"), [
    (1235, "KWD", "last digit to be 0"),
    (1001, "BHD", "last digit to be 0"),
    (49, "USD", "at least US$0.50"),
    (49, "JPY", "at least JP¥50"),
    (29, "GBP", "at least £0.30"),
    (0, "USD", "above zero"),
])
def test_what_stripe_would_refuse_is_refused_with_a_clear_message(minor, currency, says):
    with pytest.raises(InvalidInput) as refused:
        to_stripe_amount(minor, currency)
    assert says in shown(refused.value.message) and refused.value.field == "amount"


def test_a_tiny_proration_is_refused_before_anything_is_sent():
    gateway = StripeGateway(StripeSettings("sk_test_x", "pk_test_x", "whsec_x",
                                           api_base="http://127.0.0.1:9"),
                            max_network_retries=0)
    assert "at least US$0.50" in shown(gateway.refusal(12, "USD"))
    assert gateway.refusal(5000, "USD") is None


# -- settings: format and mode only, never a call ------------------------------------------

def test_keys_of_one_mode_pass():
    assert check_settings(LIVE) == "live"
    assert check_settings(StripeSettings("rk_test_1", "pk_test_1", "whsec_1")) == "test"


@pytest.mark.parametrize(("settings", "says"), [
    (StripeSettings("sk_test_1", "pk_live_1", "whsec_1"), "mix test-mode and live-mode"),
    (StripeSettings("pk_test_1", "pk_test_1", "whsec_1"), "STRIPE_SECRET_KEY"),
    (StripeSettings("sk_test_1", "", "whsec_1"), "STRIPE_PUBLISHABLE_KEY"),
    (StripeSettings("sk_test_1", "pk_test_1", "secret"), "STRIPE_WEBHOOK_SECRET"),
])
def test_bad_keys_are_named(settings, says):
    with pytest.raises(ValueError, match=says):
        check_settings(settings)


def test_start_up_refuses_mixed_keys_without_calling_stripe(tmp_path):
    env = {"PAYMENT_GATEWAY": "stripe", "STRIPE_SECRET_KEY": "sk_live_1",
           "STRIPE_PUBLISHABLE_KEY": "pk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_1",
           "STRIPE_API_BASE": "http://127.0.0.1:9"}  # nothing listens: no call is made
    with pytest.raises(config.ConfigError, match="mix test-mode and live-mode"):
        config.from_environment(tmp_path, env)
    env["STRIPE_PUBLISHABLE_KEY"] = "pk_live_1"
    started = time.monotonic()
    assert config.from_environment(tmp_path, env)["PAYMENT_GATEWAY"] == "stripe"
    assert time.monotonic() - started < 1


def test_an_unknown_gateway_name_is_refused(tmp_path):
    with pytest.raises(config.ConfigError, match="PAYMENT_GATEWAY"):
        config.from_environment(tmp_path, {"PAYMENT_GATEWAY": "paypal"})
    assert config.from_environment(tmp_path, {})["PAYMENT_GATEWAY"] == "test"


# -- the CSP of a page taking a card -------------------------------------------------------

# Stripe's security guide, "Content Security Policy" (docs.stripe.com/security/guide#content-
# security-policy), lists for Stripe.js (and its 3-D Secure frames):
#   connect-src  https://api.stripe.com  (https://maps.googleapis.com: Address Element only)
#   frame-src    https://*.js.stripe.com  https://js.stripe.com  https://hooks.stripe.com
#   script-src   https://*.js.stripe.com  https://js.stripe.com  (maps.googleapis.com: idem)
DOCUMENTED = {
    "connect-src": {"https://api.stripe.com"},
    "frame-src": {"https://*.js.stripe.com", "https://js.stripe.com", "https://hooks.stripe.com"},
    "script-src": {"https://*.js.stripe.com", "https://js.stripe.com"},
}


def _directives(header: str) -> dict[str, set[str]]:
    return {part.split()[0]: set(part.split()[1:]) for part in header.split("; ")}


def test_the_production_header_adds_exactly_the_documented_stripe_sources():
    header = _directives(build_csp(csp_sources(LIVE)))
    plain = _directives(build_csp())
    for directive, sources in DOCUMENTED.items():
        assert header[directive] - plain.get(directive, set()) == sources, directive
    assert {d for d in header if header[d] != plain.get(d)} == set(DOCUMENTED)
    assert "'unsafe-inline'" not in " ".join(header["script-src"])
    assert "'unsafe-eval'" not in " ".join(header["script-src"])


def test_a_local_fake_gets_only_its_own_origin():
    local = StripeSettings("sk_test_1", "pk_test_1", "whsec_1", api_base="http://127.0.0.1:8420",
                           js_url="http://127.0.0.1:8420/js.stripe.com/v3/")
    assert csp_sources(local) == {"script-src": ("http://127.0.0.1:8420",),
                                  "frame-src": ("http://127.0.0.1:8420", "https://hooks.stripe.com"),
                                  "connect-src": ("http://127.0.0.1:8420",)}


# -- intents as Stripe documents them --------------------------------------------------------

def test_each_documented_intent_status_maps_to_an_attempt():
    assert attempt_of({"id": "pi_1", "status": "succeeded"}).status == SUCCEEDED
    waiting = attempt_of({"id": "pi_1", "status": "requires_action", "client_secret": "pi_1_s"})
    assert (waiting.status, waiting.client_secret) == (IN_PROGRESS, "pi_1_s")
    assert attempt_of({"id": "pi_1", "status": "processing"}).status == IN_PROGRESS
    assert attempt_of({"id": "pi_1", "status": "requires_confirmation"}).status == UNKNOWN
    cancelled = attempt_of({"id": "pi_1", "status": "canceled"})
    assert cancelled.status == FAILED and "nothing was charged" in cancelled.result.decline_message
    # Real Stripe: a declined confirmation leaves the intent in requires_payment_method with
    # last_payment_error carrying code and decline_code.
    declined = attempt_of({"id": "pi_1", "status": "requires_payment_method",
                           "last_payment_error": {"code": "card_declined",
                                                  "decline_code": "insufficient_funds"}})
    assert declined.status == FAILED
    assert declined.result.decline_message == "Your card has insufficient funds."
    failed_3ds = attempt_of({"id": "pi_1", "status": "requires_payment_method",
                             "last_payment_error": {
                                 "code": "payment_intent_authentication_failure"}})
    assert failed_3ds.result.decline_message == "Your bank could not confirm this payment."


class _Intents:
    """Stands in for Stripe's intents service where the fake cannot give Stripe's answer."""

    def __init__(self, confirm_raises=None, retrieved=None):
        self.confirm_raises, self.retrieved, self.calls = confirm_raises, retrieved, []

    def confirm(self, intent_id, **kwargs):
        self.calls.append(("confirm", intent_id, kwargs))
        raise self.confirm_raises

    def retrieve(self, intent_id, **kwargs):
        self.calls.append(("retrieve", intent_id))
        return stripe.PaymentIntent.construct_from(self.retrieved, "sk_test_x")


def _gateway(intents: _Intents) -> StripeGateway:
    gateway = StripeGateway(StripeSettings("sk_test_x", "pk_test_x", "whsec_x",
                                           api_base="http://127.0.0.1:9"), max_network_retries=0)
    gateway.client = type("Client", (), {"v1": type("V1", (), {"payment_intents": intents})()})()
    return gateway


def test_a_card_error_on_confirm_becomes_the_customer_facing_message():
    error = stripe.CardError("Your card has insufficient funds.", None, "card_declined",
                             json_body={"error": {"code": "card_declined",
                                                  "decline_code": "insufficient_funds"}})
    result = _gateway(_Intents(confirm_raises=error)).charge(
        token="pm_1", amount=1000, currency="USD", idempotency_key="1:k", now=None,
        reference="pi_1")
    assert (result.succeeded, result.reference, result.decline_message) == \
        (False, "pi_1", "Your card has insufficient funds.")


def test_confirming_an_intent_already_confirmed_reads_the_intent():
    # Real Stripe answers a retried confirm with the stored answer (same Idempotency-Key);
    # a processor that refuses it as "unexpected state" is answered by the intent itself.
    error = stripe.InvalidRequestError("unexpected state", None,
                                       code="payment_intent_unexpected_state")
    intents = _Intents(confirm_raises=error, retrieved={"id": "pi_1", "status": "succeeded"})
    result = _gateway(intents).charge(token="pm_1", amount=1000, currency="USD",
                                      idempotency_key="1:k", now=None, reference="pi_1")
    assert result.succeeded and intents.calls[-1] == ("retrieve", "pi_1")
    assert intents.calls[0][2]["options"] == {"idempotency_key": "1:k:confirm"}


def test_an_intent_waiting_for_3d_secure_raises_awaiting_customer():
    error = stripe.InvalidRequestError("unexpected state", None)
    intents = _Intents(confirm_raises=error, retrieved={
        "id": "pi_1", "status": "requires_action", "client_secret": "pi_1_secret_x"})
    with pytest.raises(AwaitingCustomer) as waiting:
        _gateway(intents).charge(token="pm_1", amount=1000, currency="USD",
                                 idempotency_key="1:k", now=None, reference="pi_1")
    assert waiting.value.client_secret == "pi_1_secret_x"


def test_another_gateways_token_is_never_sent():
    intents = _Intents()
    gateway = _gateway(intents)
    assert gateway.prepare(token="tok_test_ok_ab", amount=1000, currency="USD",
                           idempotency_key="1:k", customer=None, now=None) is None
    result = gateway.charge(token="tok_test_ok_ab", amount=1000, currency="USD",
                            idempotency_key="1:k", now=None)
    assert not result.succeeded and "Add the card again" in result.decline_message
    assert intents.calls == []


# -- webhooks -----------------------------------------------------------------------------

def test_a_signed_event_verifies_and_a_tampered_one_does_not():
    payload, signature = stripe_fake.signed_event("whsec_x", "payment_intent.succeeded",
                                                  {"id": "pi_1", "status": "succeeded"})
    event = stripe_gateway.verify_event(payload, signature, "whsec_x")
    assert event["type"] == "payment_intent.succeeded"
    assert event["data"]["object"]["id"] == "pi_1"
    tampered = json.loads(payload)
    tampered["data"]["object"]["id"] = "pi_2"
    with pytest.raises(ValueError):
        stripe_gateway.verify_event(json.dumps(tampered).encode(), signature, "whsec_x")
    with pytest.raises(ValueError):
        stripe_gateway.verify_event(payload, None, "whsec_x")


@pytest.mark.parametrize(("reason", "code"), [
    ("duplicate", "duplicate"), ("Fraudulent", "fraudulent"),
    ("requested by  customer", "requested_by_customer"),
    ("Goodwill for the outage", None), ("", None),
])
def test_only_stripes_own_refund_reasons_are_sent_as_reason(reason, code):
    # Real Stripe accepts `reason` only as duplicate, fraudulent or requested_by_customer;
    # anything else the admin writes goes as metadata (localstripe refuses `reason` at all).
    assert stripe_gateway.refund_reason_code(reason) == code


class _Creating(_Intents):
    def __init__(self, create_raises=None, retrieved=None):
        super().__init__(retrieved=retrieved)
        self.create_raises = create_raises

    def create(self, **kwargs):
        self.calls.append(("create", kwargs))
        raise self.create_raises


def test_real_stripes_402_authentication_required_keeps_the_intent_for_the_fix_link():
    # Stripe documents an off-session charge needing 3-D Secure as HTTP 402 with code
    # authentication_required, the PaymentIntent (left in requires_payment_method) in the error.
    body = {"error": {"type": "card_error", "code": "authentication_required",
                      "decline_code": "authentication_required",
                      "message": "Your card was declined. This transaction requires "
                                 "authentication.",
                      "payment_intent": {"id": "pi_sca", "object": "payment_intent",
                                         "status": "requires_payment_method"}}}
    error = stripe.CardError(body["error"]["message"], None, "authentication_required",
                             http_status=402, json_body=body)
    intents = _Creating(create_raises=error)
    answers = _gateway(intents).charge_many([{
        "token": "pm_1", "amount": 3000, "currency": "USD", "idempotency_key": "7:renewal-1",
        "customer": "cus_1"}], now=None)
    result = answers["7:renewal-1"]
    assert (result.succeeded, result.reference, result.decline_message) == \
        (False, "pi_sca", "Your bank asks you to confirm this payment.")
    params, options = intents.calls[0][1]["params"], intents.calls[0][1]["options"]
    assert (params["off_session"], params["confirm"]) == (True, True)
    assert options == {"idempotency_key": "7:renewal-1"}


def test_an_intent_left_for_authentication_can_be_confirmed_by_the_customer():
    documented = {"id": "pi_sca", "status": "requires_payment_method",
                  "client_secret": "pi_sca_secret_1", "payment_method": "pm_1",
                  "last_payment_error": {"code": "authentication_required"}}
    assert _gateway(_Intents(retrieved=documented)).customer_confirmation("pi_sca") == \
        ("pi_sca_secret_1", "pm_1")
    declined = documented | {"last_payment_error": {"code": "card_declined"}}
    assert _gateway(_Intents(retrieved=declined)).customer_confirmation("pi_sca") is None
    paid = documented | {"status": "succeeded", "last_payment_error": None}
    assert _gateway(_Intents(retrieved=paid)).customer_confirmation("pi_sca") is None
