"""The Stripe gateway: PaymentIntents and SetupIntents through Stripe's official SDK.

Card numbers never reach the portal: Stripe.js's Card Element collects a card into a SetupIntent
in the customer's browser (`start_setup`), and the portal keeps only the PaymentMethod id, brand,
last four and expiry (`finish_setup`). A payment is a PaymentIntent made unconfirmed with the
portal's idempotency key as Stripe's `Idempotency-Key` (`prepare`); the caller stores its id on
the pending payment, then confirms it (`charge`). An intent waiting for 3-D Secure raises
AwaitingCustomer: the page hands its client secret to Stripe.js, and the outcome is read back
from the intent (`lookup`) or arrives by webhook (`attempt_of` an event's intent).

Where the fake used by the tests (localstripe 1.15.10) differs from what Stripe documents, this
module follows Stripe (README, "Stripe"): e.g. a SetupIntent made for a customer attaches its
card to that customer on Stripe; the fake leaves it unattached, so `finish_setup` attaches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import stripe

from webapp.services.billing.gateway import (
    FAILED,
    IN_PROGRESS,
    NEEDS_AUTHENTICATION,
    SUCCEEDED,
    UNKNOWN,
    Attempt,
    AwaitingCustomer,
    CardDetails,
    CardToken,
    ChargeResult,
    GatewayNetworkError,
)
from webapp.services.core.dates import Dated, dated
from webapp.services.core.errors import InvalidInput
from webapp.services.core.i18n import N_, _
from webapp.services.core.money import Amount

API_BASE = "https://api.stripe.com"
JS_URL = "https://js.stripe.com/v3/"
HOOKS_ORIGIN = "https://hooks.stripe.com"
# The events the portal reconciles (README: subscribe the endpoint to these).
EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed",
          "payment_intent.requires_action")
CARD_EVENTS = ("charge.refunded", "payment_method.detached", "payment_method.updated",
               "customer.deleted")

# Zero-decimal currencies: Stripe's amount is the ISO amount (docs.stripe.com/currencies).
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF",
                          "UGX", "VND", "VUV", "XAF", "XOF", "XPF"})
# Three-decimal currencies: sent in thousandths, and Stripe requires the last digit to be 0.
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Special cases: zero-decimal in ISO 4217, but Stripe takes them as two-decimal amounts whose
# last two digits are 00 ("ISK", "UGX" and Stripe's currency docs).
TWO_DECIMAL_FROM_ZERO = frozenset({"ISK"})
# Stripe's minimum charge amounts, in Stripe's own units (docs.stripe.com/currencies#minimum-and-
# maximum-charge-amounts). A currency not listed has no minimum here beyond a positive amount.
MINIMUM_CHARGE = {
    "USD": 50, "AED": 200, "AUD": 50, "BGN": 100, "BRL": 50, "CAD": 50, "CHF": 50, "CZK": 1500,
    "DKK": 250, "EUR": 50, "GBP": 30, "HKD": 400, "HUF": 17500, "INR": 50, "JPY": 50,
    "MXN": 1000, "MYR": 200, "NOK": 300, "NZD": 50, "PLN": 200, "RON": 200, "SEK": 300,
    "SGD": 50, "THB": 1000,
}
# Stripe's card error codes, as the customer reads them (the same words as the test gateway's;
# stored in English as the payment's failure reason, translated where they are shown).
CARD_MESSAGES = {
    "card_declined": N_("Your card was declined."),
    "generic_decline": N_("Your card was declined."),
    "insufficient_funds": N_("Your card has insufficient funds."),
    "expired_card": N_("Your card has expired."),
    "incorrect_cvc": N_("Your card's security code is incorrect."),
    "incorrect_number": N_("Your card number is incorrect."),
    "processing_error": N_("An error occurred while processing your card. Try again in a moment."),
    "authentication_required": NEEDS_AUTHENTICATION,
    "payment_intent_authentication_failure": N_("Your bank could not confirm this payment."),
}


def stripe_units(minor: int, currency: str) -> int:
    """Minor units as Stripe counts them (ISK is sent as two-decimal, …00)."""
    return minor * 100 if currency.upper() in TWO_DECIMAL_FROM_ZERO else minor


def from_stripe_units(amount: int, currency: str) -> int:
    return amount // 100 if currency.upper() in TWO_DECIMAL_FROM_ZERO else amount


# Stripe's refund reasons, sent as `reason` only for these exact choices (real Stripe accepts
# no others; the admin's own words always go as metadata).
REFUND_REASONS = {"duplicate": "duplicate", "fraudulent": "fraudulent",
                  "requested by customer": "requested_by_customer",
                  "requested_by_customer": "requested_by_customer"}


def refund_reason_code(reason: str) -> str | None:
    return REFUND_REASONS.get(" ".join((reason or "").lower().split()))


def to_stripe_amount(minor: int, currency: str) -> int:
    """The portal's integer minor units as Stripe's `amount`, or InvalidInput naming what Stripe
    would refuse (three-decimal amounts must end in 0; below Stripe's minimum charge)."""
    code = currency.upper()
    if minor <= 0:
        raise InvalidInput(_("A card payment must be above zero."), field="amount")
    if code in THREE_DECIMAL and minor % 10:
        raise InvalidInput(_("Card payments in %(currency)s must be a whole number of "
                             "hundredths (Stripe needs the last digit to be 0).", currency=code),
                           field="amount")
    amount = stripe_units(minor, code)
    minimum = MINIMUM_CHARGE.get(code)
    if minimum is not None and amount < minimum:
        lowest = minimum // 100 if code in TWO_DECIMAL_FROM_ZERO else minimum
        raise InvalidInput(dated(
            N_("Card payments must be at least %(minimum)s (the payment processor's minimum); "
               "nothing was charged and the invoice stays open."), minimum=Amount(lowest, code)),
            field="amount")
    return amount


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str
    publishable_key: str
    webhook_secret: str
    api_base: str = API_BASE
    js_url: str = JS_URL


_KEY = {"secret_key": re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]+$"),
        "publishable_key": re.compile(r"^pk_(test|live)_[A-Za-z0-9_]+$"),
        "webhook_secret": re.compile(r"^whsec_[A-Za-z0-9+/=_]+$")}


def check_settings(settings: StripeSettings) -> str:
    """The keys' format only, and that they are all test-mode or all live-mode; returns "test"
    or "live". Never calls Stripe: an outage must not stop a restart. ValueError names what
    is wrong."""
    for name, pattern in _KEY.items():
        if not pattern.match(getattr(settings, name) or ""):
            raise ValueError(f"STRIPE_{name.upper()} is missing or not a Stripe key of the "
                             f"right kind.")
    modes = {settings.secret_key.split("_")[1], settings.publishable_key.split("_")[1]}
    if len(modes) != 1:
        raise ValueError("STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY mix test-mode and "
                         "live-mode keys; use both from the same mode.")
    return modes.pop()


def origin(url: str) -> str:
    match = re.match(r"^(https?://[^/]+)", url)
    return match.group(1) if match else url


def csp_sources(settings: StripeSettings) -> dict[str, tuple[str, ...]]:
    """What a page taking a card adds to the CSP, built from the settings: Stripe's security
    guide (docs.stripe.com/security/guide#content-security-policy) lists script-src and
    frame-src js.stripe.com and *.js.stripe.com, frame-src hooks.stripe.com (3-D Secure) and
    connect-src api.stripe.com. (Its maps.googleapis.com entries serve the Address Element's
    autocomplete, which the portal does not use.)"""
    js = origin(settings.js_url)
    js_sources = (js, "https://*.js.stripe.com") if js == origin(JS_URL) else (js,)
    return {"script-src": js_sources, "frame-src": (*js_sources, HOOKS_ORIGIN),
            "connect-src": (origin(settings.api_base),)}


UNUSABLE_CARD = N_("This card was saved before payments moved to Stripe and cannot be charged. "
                   "Add the card again.")


def is_stripe_card(token: str) -> bool:
    """A Stripe PaymentMethod (or a legacy card or source) id, not another gateway's token."""
    return token.startswith(("pm_", "card_", "src_"))


def _message(error: dict | None) -> tuple[str, str]:
    error = error or {}
    code = error.get("decline_code") or error.get("code") or "card_declined"
    return code, CARD_MESSAGES.get(code) or CARD_MESSAGES.get(error.get("code") or "") \
        or N_("Your card was declined.")


def attempt_of(intent) -> Attempt:
    """A PaymentIntent (the API's answer or a webhook's object) as the portal's Attempt."""
    if hasattr(intent, "to_dict"):
        intent = intent.to_dict()
    status, reference = intent["status"], intent["id"]
    if status == "succeeded":
        return Attempt(SUCCEEDED, ChargeResult(True, reference))
    if status in ("requires_action", "processing", "requires_capture"):
        return Attempt(IN_PROGRESS, client_secret=intent.get("client_secret")
                       if status == "requires_action" else None)
    if status == "requires_confirmation":
        return Attempt(UNKNOWN)  # never confirmed: nothing was charged
    if status == "canceled":
        return Attempt(FAILED, ChargeResult(False, reference, "canceled",
                                            N_("The payment was cancelled; nothing was "
                                               "charged.")))
    code, message = _message(intent.get("last_payment_error"))  # requires_payment_method
    return Attempt(FAILED, ChargeResult(False, reference, code, message))


class StripeGateway:
    """The `stripe` gateway (PAYMENT_GATEWAY=stripe)."""

    collects_cards_in_browser = True
    uses_intents = True

    def __init__(self, settings: StripeSettings, *, max_network_retries: int = 2,
                 timeout: float = 30) -> None:
        self.settings = settings
        self.mode = check_settings(settings)
        self.client = stripe.StripeClient(
            settings.secret_key, base_addresses={"api": settings.api_base},
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout))

    # -- customers and cards -------------------------------------------------------------

    def ensure_customer(self, reference: str | None, *, customer_id: int, email: str,
                        name: str) -> str:
        """The Stripe customer of a portal customer: `reference` if it has one, else a new
        one (keyed by the portal's id, so two racing requests make one on Stripe)."""
        if reference:
            return reference
        customer = self._call(self.client.v1.customers.create, params={
            "email": email, "name": name, "metadata": {"portal_customer_id": str(customer_id)}},
            options={"idempotency_key": f"portal-customer-{customer_id}"})
        return customer.id

    def start_setup(self, customer_reference: str) -> str:
        """A SetupIntent for the customer's browser to collect a card into: its client secret."""
        intent = self._call(self.client.v1.setup_intents.create, params={
            "customer": customer_reference, "usage": "off_session"})
        return intent.client_secret

    def finish_setup(self, setup_intent_id: str, customer_reference: str) -> CardToken:
        """The card a succeeded SetupIntent of this customer collected; InvalidInput otherwise."""
        if not re.fullmatch(r"seti_[A-Za-z0-9]+", setup_intent_id or ""):
            raise InvalidInput(_("The card could not be read; add it again."), field="card")
        try:
            intent = self._call(self.client.v1.setup_intents.retrieve, setup_intent_id)
        except stripe.InvalidRequestError as exc:
            raise InvalidInput(_("The card could not be read; add it again."), field="card") from exc
        if intent.customer != customer_reference or intent.status != "succeeded" \
                or not intent.payment_method:
            raise InvalidInput(_("The card was not confirmed; add it again."), field="card")
        method = self._call(self.client.v1.payment_methods.retrieve, intent.payment_method)
        if method.customer is None:  # localstripe does not attach it (module docstring)
            method = self._call(self.client.v1.payment_methods.attach, method.id,
                                params={"customer": customer_reference})
        card = method.card
        return CardToken(method.id, (card.brand or "card").replace("_", " ").title()
                         .replace("Amex", "American Express"), card.last4,
                         int(card.exp_month), int(card.exp_year))

    def tokenize(self, card: CardDetails, *, now: datetime) -> CardToken:
        raise InvalidInput(_("Card numbers are entered in Stripe's card field, never here."),
                           field="card_number")

    # -- charging ------------------------------------------------------------------------

    def refusal(self, amount: int, currency: str) -> str | Dated | None:
        """Why Stripe would refuse this amount (a Dated when it names an amount), or None."""
        try:
            to_stripe_amount(amount, currency)
        except InvalidInput as exc:
            return exc.message
        return None

    def prepare(self, *, token: str, amount: int, currency: str, idempotency_key: str,
                customer: str | None, now: datetime) -> str | None:
        """An unconfirmed PaymentIntent for this attempt; its id (None for a card saved with
        another gateway: `charge` refuses it). Stripe returns the same intent for the same
        `Idempotency-Key`, so a lost answer is asked for again safely."""
        if not is_stripe_card(token):
            return None
        params = {"amount": to_stripe_amount(amount, currency), "currency": currency.lower(),
                  "payment_method": token, "metadata": {"portal_key": idempotency_key}}
        if customer:
            params["customer"] = customer
        intent = self._call(self.client.v1.payment_intents.create, params=params,
                            options={"idempotency_key": idempotency_key})
        return intent.id

    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str,
               now: datetime, reference: str | None = None,
               customer: str | None = None) -> ChargeResult:
        """Confirm the prepared intent `reference`. AwaitingCustomer while it waits for 3-D
        Secure or is processing; GatewayNetworkError when Stripe did not answer."""
        if not is_stripe_card(token):
            return ChargeResult(False, reference or "", "card_unusable", UNUSABLE_CARD)
        if reference is None:
            reference = self.prepare(token=token, amount=amount, currency=currency,
                                     idempotency_key=idempotency_key, customer=customer,
                                     now=now)
        try:
            intent = self._call(self.client.v1.payment_intents.confirm, reference,
                                options={"idempotency_key": f"{idempotency_key}:confirm"})
        except stripe.CardError as exc:
            code, message = _message({"code": exc.code, "decline_code": getattr(
                exc.error, "decline_code", None)})
            return ChargeResult(False, reference, code, message)
        except stripe.InvalidRequestError:
            # Already confirmed (a retry after a lost answer on a processor without stored
            # idempotent answers): the intent itself says what became of it.
            intent = self._call(self.client.v1.payment_intents.retrieve, reference)
        attempt = attempt_of(intent)
        if attempt.status == IN_PROGRESS:
            raise AwaitingCustomer(reference, attempt.client_secret)
        if attempt.status == UNKNOWN:
            raise GatewayNetworkError("The payment processor did not confirm the payment.")
        return attempt.result

    def charge_many(self, requests: list[dict], *, now: datetime) -> dict[str, ChargeResult]:
        """The engine's charges, off-session, one intent each (Stripe has no batch API). A
        charge that needs the customer (3-D Secure) is a failure the dunning emails follow."""
        answers: dict[str, ChargeResult] = {}
        for request in requests:
            key = request["idempotency_key"]
            if not is_stripe_card(request["token"]):
                answers[key] = ChargeResult(False, "", "card_unusable", UNUSABLE_CARD)
                continue
            params = {"amount": to_stripe_amount(request["amount"], request["currency"]),
                      "currency": request["currency"].lower(),
                      "payment_method": request["token"], "off_session": True, "confirm": True,
                      "metadata": {"portal_key": key}}
            if request.get("customer"):
                params["customer"] = request["customer"]
            try:
                intent = self._call(self.client.v1.payment_intents.create, params=params,
                                    options={"idempotency_key": key})
            except GatewayNetworkError:
                continue
            except stripe.CardError as exc:
                # Real Stripe answers an off-session charge that needs 3-D Secure with 402
                # authentication_required; the intent (kept for the fix link) is in the error.
                code, message = _message({"code": exc.code, "decline_code": getattr(
                    exc.error, "decline_code", None)})
                intent = getattr(exc.error, "payment_intent", None)
                answers[key] = ChargeResult(False, getattr(intent, "id", None) or "", code,
                                            message)
                continue
            except (stripe.InvalidRequestError, InvalidInput) as exc:
                answers[key] = ChargeResult(False, "", "invalid_request",
                                            getattr(exc, "message", None) or str(exc))
                continue
            attempt = attempt_of(intent)
            answers[key] = attempt.result if attempt.final else ChargeResult(
                False, intent.id, "authentication_required",
                CARD_MESSAGES["authentication_required"])
        return answers

    def abandon(self, reference: str) -> Attempt:
        """Cancel an intent still waiting for the customer (they started another payment), so
        it can never succeed later; what became of it (it may have succeeded meanwhile)."""
        try:
            intent = self._call(self.client.v1.payment_intents.cancel, reference)
        except stripe.InvalidRequestError:
            intent = self._call(self.client.v1.payment_intents.retrieve, reference)
        return attempt_of(intent)

    def customer_confirmation(self, reference: str) -> tuple[str, str | None] | None:
        """An intent the customer can still complete on-session (an off-session charge that
        needed 3-D Secure): its client secret and payment method, else None. Real Stripe
        leaves it in requires_payment_method with authentication_required (HTTP 402 at
        the charge); localstripe leaves it in requires_action."""
        try:
            intent = self._call(self.client.v1.payment_intents.retrieve, reference).to_dict()
        except stripe.InvalidRequestError:
            return None
        error = intent.get("last_payment_error") or {}
        waiting = intent["status"] == "requires_action" or (
            intent["status"] == "requires_payment_method"
            and "authentication_required" in (error.get("code"), error.get("decline_code")))
        if not waiting:
            return None
        method = intent.get("payment_method")
        return intent["client_secret"], method.get("id") if isinstance(method, dict) else method

    def lookup(self, *, idempotency_key: str, reference: str | None,
               now: datetime) -> Attempt:
        """What became of an attempt, read from its intent. No stored reference means the
        intent was never confirmed (the portal stores it before confirming): unknown."""
        if reference is None:
            return Attempt(UNKNOWN)
        try:
            intent = self._call(self.client.v1.payment_intents.retrieve, reference)
        except stripe.InvalidRequestError:
            return Attempt(UNKNOWN)
        return attempt_of(intent)

    def refund(self, *, reference: str | None, amount: int, currency: str, reason: str,
               idempotency_key: str, send_reason_code: bool = True) -> str | None:
        """Refund `amount` of the payment whose intent is `reference` at Stripe; the refund's
        id. None for a payment Stripe never took (another gateway's, or recorded by hand): its
        money moves outside the portal. InvalidInput when Stripe refuses it."""
        if not reference or not reference.startswith("pi_"):
            return None
        params = {"payment_intent": reference, "amount": stripe_units(amount, currency),
                  "metadata": {"reason": (reason or "")[:500]}}
        code = refund_reason_code(reason) if send_reason_code else None
        if code:
            params["reason"] = code
        try:
            refund = self._call(self.client.v1.refunds.create, params=params,
                                options={"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError as exc:
            raise InvalidInput(_("Stripe refused the refund: %(reason)s",
                                 reason=exc.user_message or str(exc)), field="amount") from exc
        return refund.id

    def refunds_of(self, reference: str, currency: str) -> list[tuple[str, int]]:
        """The refunds Stripe made on an intent: (refund id, amount in minor units)."""
        found = self._call(self.client.v1.refunds.list,
                           params={"payment_intent": reference, "limit": 100})
        return [(r.id, from_stripe_units(r.amount, currency)) for r in found.data
                if r.status in ("succeeded", "pending")]

    def check_connection(self) -> str:
        """Call Stripe once (the admin's "Test connection"); a sentence saying what answered."""
        try:
            balance = self._call(self.client.v1.balance.retrieve)
        except stripe.AuthenticationError:
            return _("Stripe refused the secret key (authentication failed).")
        except GatewayNetworkError as exc:
            return _("Stripe did not answer: %(reason)s", reason=str(exc))
        except stripe.StripeError as exc:
            return _("Stripe answered with an error: %(reason)s",
                     reason=exc.user_message or str(exc))
        if balance.to_dict().get("livemode"):
            return _("Connected to Stripe (live mode) at %(url)s.", url=self.settings.api_base)
        return _("Connected to Stripe (test mode) at %(url)s.", url=self.settings.api_base)

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise GatewayNetworkError("The payment processor did not answer.") from exc
        except stripe.APIError as exc:  # Stripe's own 5xx: nothing is known to be charged
            raise GatewayNetworkError("The payment processor had an error.") from exc


def verify_event(payload: bytes, signature: str | None, secret: str) -> dict:
    """A webhook's event after checking its signature with the SDK (with its tolerance);
    ValueError when the signature or the payload is bad."""
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise ValueError("bad Stripe signature or payload") from exc
    return event.to_dict() if hasattr(event, "to_dict") else dict(event)
