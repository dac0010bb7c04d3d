"""The payment gateway interface and the built-in test gateway.

The test gateway behaves like a card processor's test mode. Documented test cards (any future
expiry, any 3-digit CVC):

| number              | brand      | result                                      |
|---------------------|------------|---------------------------------------------|
| 4242 4242 4242 4242 | Visa       | succeeds                                    |
| 5555 5555 5555 4444 | Mastercard | succeeds                                    |
| 4000 0000 0000 0002 | Visa       | declined: "Your card was declined."         |
| 4000 0000 0000 9995 | Visa       | declined: "Your card has insufficient funds."|
| 4000 0000 0000 0069 | Visa       | declined: "Your card has expired."          |
| 4000 0000 0000 0119 | Visa       | network error (nothing charged; retry later)|

Any other number that passes the Luhn check succeeds. Like a processor's test tokens, the
token itself says how the card behaves, so tokenizing stores nothing. Charges are kept through
the gateway's own engine and transactions, apart from the portal's, as a real processor keeps
them on its side: callers must not hold a write transaction open while they charge.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from webapp.models.gateway import TestGatewayCharge
from webapp.services.core import bulk
from webapp.services.core.errors import InvalidInput
from webapp.services.core.i18n import N_, _


@dataclass(frozen=True)
class CardDetails:
    """What a person typed; lives only in memory, never stored or logged."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str

    def __repr__(self) -> str:  # keep the number out of logs and tracebacks
        return f"CardDetails(number=****{self.number[-4:]}, exp={self.exp_month}/{self.exp_year})"


@dataclass(frozen=True)
class CardToken:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    reference: str
    decline_code: str | None = None
    decline_message: str | None = None


class GatewayNetworkError(Exception):
    """The gateway could not be reached or did not answer: nothing is known to be charged."""


class AwaitingCustomer(Exception):
    """The attempt waits for the customer (3-D Secure in their browser) or is processing:
    no final answer yet. `client_secret` is what Stripe.js needs to run the challenge."""

    def __init__(self, reference: str, client_secret: str | None) -> None:
        super().__init__("The payment waits for the customer's confirmation.")
        self.reference = reference
        self.client_secret = client_secret


# Why an engine charge (off-session) failed when the customer's bank asked for 3-D Secure: the
# dunning email's fix link lets the customer complete it (fix_links.needs_authentication).
NEEDS_AUTHENTICATION = N_("Your bank asks you to confirm this payment.")

# What a gateway knows of one charge attempt (`PaymentGateway.lookup`).
SUCCEEDED, FAILED, IN_PROGRESS, UNKNOWN = "succeeded", "failed", "in_progress", "unknown"


@dataclass(frozen=True)
class Attempt:
    """The gateway's account of one attempt: `succeeded` or `failed` (a final answer, with
    its result; a cancelled intent is a failure), `in_progress` (waiting for the customer's
    authentication, or processing), or `unknown` (it has no record of the attempt)."""

    status: str
    result: ChargeResult | None = None
    client_secret: str | None = None  # in progress, waiting for the customer's 3-D Secure

    @property
    def final(self) -> bool:
        return self.status in (SUCCEEDED, FAILED)


class PaymentGateway(Protocol):
    # True when cards are typed into the processor's own field in the browser (Stripe.js),
    # never into the portal's forms; False for the test gateway's typed test cards.
    collects_cards_in_browser: bool
    # True when a charge is an intent made (and its id stored) before it is confirmed.
    uses_intents: bool

    def tokenize(self, card: CardDetails, *, now: datetime) -> CardToken: ...

    def ensure_customer(self, reference: str | None, *, customer_id: int, email: str,
                        name: str) -> str:
        """The customer's id at the processor: `reference`, or one made now."""
        ...

    def start_setup(self, customer_reference: str) -> str:
        """Begin collecting a card in the browser; the client secret Stripe.js needs."""
        ...

    def finish_setup(self, setup_intent_id: str, customer_reference: str) -> CardToken:
        """The card the browser collected into that setup (InvalidInput if it did not)."""
        ...

    def check_connection(self) -> str:
        """Call the processor once; a sentence saying what answered (the admin's button)."""
        ...

    def refusal(self, amount: int, currency: str) -> object | None:
        """Why the processor would refuse to charge this amount (a message: text, or a Dated
        naming an amount), or None."""
        ...

    def prepare(self, *, token: str, amount: int, currency: str, idempotency_key: str,
                customer: str | None, now: datetime) -> str | None:
        """Make the attempt's intent without charging; its id (None: no intents here)."""
        ...

    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str,
               now: datetime, reference: str | None = None,
               customer: str | None = None) -> ChargeResult:
        """Charge (confirm the prepared intent `reference`). Raises GatewayNetworkError when
        the processor does not answer, AwaitingCustomer while it waits for the customer."""
        ...

    def abandon(self, reference: str) -> Attempt:
        """Cancel an attempt still waiting for the customer; what became of it."""
        ...

    def customer_confirmation(self, reference: str) -> tuple[str, str | None] | None:
        """For an engine charge that needed the customer's bank (3-D Secure): what Stripe.js
        needs to complete it on-session (client secret, payment method), or None."""
        ...

    def refund(self, *, reference: str | None, amount: int, currency: str, reason: str,
               idempotency_key: str) -> str | None:
        """Give `amount` back on the charge `reference`: the processor's refund id, or None
        when the money moves outside the portal (the test gateway, a payment made by hand)."""
        ...

    def charge_many(self, requests: list[dict], *, now: datetime) -> dict[str, ChargeResult]:
        """Many `charge`s (dicts of its keyword arguments), keyed by idempotency key; a key
        the gateway did not answer for is left out. A processor without a batch API loops."""
        ...

    def lookup(self, *, idempotency_key: str, reference: str | None,
               now: datetime) -> Attempt:
        """What became of one attempt, without charging: found by `reference` (the charge or
        intent id the portal stored before confirming it, for a processor such as Stripe)
        or else by the attempt's idempotency key. Raises GatewayNetworkError when the
        gateway does not answer."""
        ...


TEST_CARDS: dict[str, tuple[str, str]] = {
    "4242424242424242": ("Visa", "ok"),
    "5555555555554444": ("Mastercard", "ok"),
    "4000000000000002": ("Visa", "card_declined"),
    "4000000000009995": ("Visa", "insufficient_funds"),
    "4000000000000069": ("Visa", "expired_card"),
    "4000000000000119": ("Visa", "network_error"),
}

# Stored in English as the payment's failure reason (msgids), translated where shown.
DECLINE_MESSAGES = {
    "card_declined": N_("Your card was declined."),
    "insufficient_funds": N_("Your card has insufficient funds."),
    "expired_card": N_("Your card has expired."),
}


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number]
    checksum = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        checksum += digit
    return checksum % 10 == 0


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "Visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "Mastercard"
    if number[:2] in {"34", "37"}:
        return "American Express"
    return "Card"


def validate_card(card: CardDetails, *, today: date) -> str:
    """The digits of a valid card, or InvalidInput naming the field that is wrong."""
    number = "".join(ch for ch in card.number if not ch.isspace() and ch != "-")
    if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_ok(number):
        raise InvalidInput(_("Enter a valid card number."), field="card_number")
    if not 1 <= card.exp_month <= 12:
        raise InvalidInput(_("Enter the expiry month (1–12)."), field="exp_month")
    if (card.exp_year, card.exp_month) < (today.year, today.month) or card.exp_year > today.year + 20:
        raise InvalidInput(_("This card has expired or the year is not valid."), field="exp_year")
    cvc_length = 4 if brand_of(number) == "American Express" else 3
    if not card.cvc.isdigit() or len(card.cvc) != cvc_length:
        raise InvalidInput(_("Enter the %(digits)d-digit security code.", digits=cvc_length),
                           field="cvc")
    return number


class TestGateway:
    """A processor's test mode, persisted so every web and worker process sees one state."""

    __test__ = False
    collects_cards_in_browser = False
    uses_intents = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def refusal(self, amount: int, currency: str) -> str | None:
        return None

    def prepare(self, **request) -> None:
        return None

    def check_connection(self) -> str:
        return _("The built-in test gateway is in use: there is nothing to connect to.")

    def tokenize(self, card: CardDetails, *, now: datetime) -> CardToken:
        number = validate_card(card, today=now.date())
        brand, behaviour = TEST_CARDS.get(number, (brand_of(number), "ok"))
        token = f"tok_test_{behaviour}_{secrets.token_hex(8)}"
        return CardToken(token, brand, number[-4:], card.exp_month, card.exp_year)

    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str,
               now: datetime, reference: str | None = None,
               customer: str | None = None) -> ChargeResult:
        """Charge once per key: the same key returns the first result, charging nothing more."""
        if _behaviour(token) == "network_error":
            raise GatewayNetworkError("The payment processor did not answer.")
        return self.charge_many([{"token": token, "amount": amount, "currency": currency,
                                  "idempotency_key": idempotency_key}], now=now)[idempotency_key]

    def charge_many(self, requests: list[dict], *, now: datetime) -> dict[str, ChargeResult]:
        """`charge` for many requests (dicts of charge's arguments) in one transaction, keyed
        by idempotency key; keys whose card has a network error are left out."""
        table = TestGatewayCharge.__table__
        rows, keys = [], []
        for request in requests:
            behaviour = _behaviour(request["token"])
            if behaviour == "network_error":
                continue
            keys.append(request["idempotency_key"])
            if behaviour is not None:
                code = None if behaviour == "ok" else behaviour
                rows.append({**request, "succeeded": code is None,
                             "reference": "ch_test_" + secrets.token_hex(10),
                             "decline_code": code,
                             "decline_message": DECLINE_MESSAGES.get(code) if code else None,
                             "created_at": now})
        with self.engine.begin() as conn:
            bulk.insert(conn, table, rows, skip_conflicts_on=["idempotency_key"])
            found = {row.idempotency_key: _result(row) for row in conn.execute(
                select(table).where(bulk.among(conn, table.c.idempotency_key, keys)))
            } if keys else {}
        invalid = ChargeResult(False, "", "invalid_token", N_("This card is no longer valid."))
        return {key: found.get(key, invalid) for key in keys}

    def lookup(self, *, idempotency_key: str, reference: str | None,
               now: datetime) -> Attempt:
        """The charge made under this key (or with this reference), if any. Test charges are
        final at once, so an attempt here is succeeded, failed or unknown."""
        table = TestGatewayCharge.__table__
        found = table.c.reference == reference if reference else \
            table.c.idempotency_key == idempotency_key
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(found)).first()
        if row is None:
            return Attempt(UNKNOWN)
        return Attempt(SUCCEEDED if row.succeeded else FAILED, _result(row))

    def customer_confirmation(self, reference: str) -> None:
        """Test charges never wait for the customer's bank."""
        return None

    def refund(self, **request) -> None:
        """The test gateway keeps no balance: a refund is recorded in the ledger only."""
        return None

    def abandon(self, reference: str) -> Attempt:
        """Test charges never wait for the customer: nothing to cancel."""
        return self.lookup(idempotency_key="", reference=reference, now=None)

    def charges_for(self, idempotency_key_prefix: str = "") -> int:
        """How many charges the gateway made (tests count them to prove exactly-once)."""
        with Session(self.engine) as session:
            query = select(func.count()).select_from(TestGatewayCharge).where(
                TestGatewayCharge.succeeded.is_(True),
                TestGatewayCharge.idempotency_key.startswith(idempotency_key_prefix))
            return session.exec(query).one()


def _behaviour(token: str) -> str | None:
    if not token.startswith("tok_test_"):
        return None
    behaviour = token.removeprefix("tok_test_").rsplit("_", 1)[0]
    return behaviour if behaviour in {"ok", "network_error", *DECLINE_MESSAGES} else None


def _result(row) -> ChargeResult:
    return ChargeResult(row.succeeded, row.reference, row.decline_code, row.decline_message)
