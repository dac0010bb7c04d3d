"""Paying invoices: the one payment page behind every Pay Now (subscription, invoices, home).

`summary` says what would be paid; `begin` validates the customer's choice and starts exactly
one pending charge for the form's idempotency key (charges.start). The caller commits, then
runs the charge (charges.run) and shows its outcome. A new card is single-use until its charge
succeeds; only then is a card the customer asked to save kept (billing.payment_effects), so a
declined card is never saved.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from webapp.models import Invoice, Payment, PaymentMethod, Subscription
from webapp.services.billing import charges
from webapp.services.billing.gateway import CardDetails, PaymentGateway
from webapp.services.billing.invoices import InvoiceRow, payable_invoices
from webapp.services.billing.ledger import balance_due
from webapp.services.core.dates import Moment
from webapp.services.core.errors import DomainError, InvalidInput, NotFound
from webapp.services.core.i18n import _
from webapp.services.payments import methods as payment_methods


class NothingToPay(DomainError):
    """Every invoice asked for is paid (or was never payable)."""


def new_idempotency_key() -> str:
    """Made when the form is rendered; every submission of that form is one payment."""
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class PaySummary:
    invoices: tuple[InvoiceRow, ...]
    total: int
    currency: str
    methods: tuple[PaymentMethod, ...]
    default_method_id: int | None
    partial_allowed: bool

    @property
    def invoice_ids(self) -> tuple[int, ...]:
        return tuple(row.id for row in self.invoices)


def _requested(session: Session, customer_id: int, invoice_ids: list[int] | None) -> list[Invoice]:
    if invoice_ids is not None:
        owned = set(session.exec(select(Invoice.id).where(Invoice.id.in_(invoice_ids),
                                                          Invoice.customer_id == customer_id)))
        if owned != set(invoice_ids):
            raise NotFound(_("No such invoice."))
    return payable_invoices(session, customer_id=customer_id, invoice_ids=invoice_ids)


def summary(session: Session, *, customer_id: int, invoice_ids: list[int] | None, at: Moment,
            partial_allowed: bool) -> PaySummary:
    """What the page offers to pay: the asked-for invoices still open (None: all of them)."""
    invoices = _requested(session, customer_id, invoice_ids)
    if not invoices:
        raise NothingToPay(_("These invoices are already paid; there is nothing left to pay."))
    methods = payment_methods.active(session, customer_id=customer_id)
    default = next((m.id for m in methods if m.is_default), methods[0].id if methods else None)
    rows = tuple(InvoiceRow.of(inv, None, at.today) for inv in invoices)
    return PaySummary(rows, sum(r.balance for r in rows), invoices[0].currency, tuple(methods),
                      default, partial_allowed)


@dataclass(frozen=True)
class PayChoice:
    """What the customer submitted."""

    invoice_ids: list[int]
    idempotency_key: str
    payment_method_id: int | None = None
    card: CardDetails | None = None
    save_card: bool = False
    amount: int | None = None  # None: the full balance
    setup_intent: str | None = None  # a new card collected by Stripe.js


def begin(session: Session, *, customer_id: int, choice: PayChoice, gateway: PaymentGateway,
          partial_allowed: bool, now: datetime, purpose: str = "manual",
          intent: dict | None = None) -> Payment:
    """The one pending (or already settled) payment for this form's key.

    A replayed or doubled submission returns the payment the first one made; a payment for the
    same invoices that is in flight under another key raises ChargeInProgress pointing at it.
    """
    existing = charges.by_key(session, customer_id=customer_id,
                              idempotency_key=choice.idempotency_key)
    if existing is not None:
        return existing
    invoices = _requested(session, customer_id, choice.invoice_ids)
    if not invoices:
        raise NothingToPay(_("These invoices are already paid."))
    in_flight = next((i.pending_payment_id for i in invoices if i.pending_payment_id), None)
    if in_flight:
        raise charges.ChargeInProgress(in_flight)
    total = sum(balance_due(i) for i in invoices)
    amount = _amount(choice.amount, total, partial_allowed)
    refusal = gateway.refusal(amount, invoices[0].currency)
    if refusal:
        raise InvalidInput(refusal, field="amount")
    method = _method(session, customer_id, choice, gateway, now)
    return charges.start(
        session, customer_id=customer_id, amount=amount, currency=invoices[0].currency,
        payment_method_id=method.id, idempotency_key=choice.idempotency_key,
        invoice_ids=[i.id for i in invoices], now=now, purpose=purpose,
        intent={"save_card": choice.save_card and (choice.card is not None
                                                   or choice.setup_intent is not None),
                **(intent or {})})


def _amount(asked: int | None, total: int, partial_allowed: bool) -> int:
    if asked is None or asked == total:
        return total
    if not partial_allowed:
        raise InvalidInput(_("Pay the full balance; partial payments are not accepted."),
                           field="amount")
    if not 0 < asked <= total:
        raise InvalidInput(_("Enter an amount above zero and no more than the balance due."),
                           field="amount")
    return asked


def _method(session: Session, customer_id: int, choice: PayChoice, gateway: PaymentGateway,
            now: datetime) -> PaymentMethod:
    if choice.card is not None or choice.setup_intent is not None:
        # Single-use until the charge succeeds: a card to be saved is kept by the success
        # (payment_effects), so a declined card is never saved, however often it is tried.
        return payment_methods.add(session, customer_id=customer_id, card=choice.card,
                                   setup_intent=choice.setup_intent, gateway=gateway, now=now,
                                   keep=False).method
    if choice.payment_method_id is None:
        raise InvalidInput(_("Choose a saved card or enter a new one."), field="payment_method")
    return payment_methods.owned(session, customer_id, choice.payment_method_id)


def subscriptions_paid_by(session: Session, payment: Payment) -> list[Subscription]:
    """The subscriptions whose invoices this payment covered."""
    ids = payment.intent.get("invoice_ids", [])
    return list(session.exec(select(Subscription).join(
        Invoice, Invoice.subscription_id == Subscription.id).where(Invoice.id.in_(ids)).distinct()))


def owned_payment_attempt(session: Session, customer_id: int, payment_id: int) -> Payment:
    """Any of the customer's payments, pending or failed included (for the status page)."""
    payment = session.get(Payment, payment_id)
    if payment is None or payment.customer_id != customer_id:
        raise NotFound(_("No such payment."))
    return payment


def declined_reason(session: Session, customer_id: int, payment_id: int) -> str | None:
    """Why the customer's payment attempt failed, in their language (None: no reason)."""
    return charges.translated_reason(
        owned_payment_attempt(session, customer_id, payment_id).failure_reason)
