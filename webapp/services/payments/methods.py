"""Saved payment methods: list, add, set default, remove, and replace a card everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from webapp.models import Customer, PaymentMethod, Subscription
from webapp.services.billing.gateway import CardDetails, CardToken, PaymentGateway
from webapp.services.core import events
from webapp.services.core.errors import DomainError, InvalidInput, NotFound
from webapp.services.core.i18n import _

ACTIVE, REMOVED, SINGLE_USE = "active", "removed", "single_use"


class MethodInUse(DomainError):
    """A card that subscriptions charge cannot simply be removed."""


def active(session: Session, *, customer_id: int) -> list[PaymentMethod]:
    return list(session.exec(select(PaymentMethod).where(
        PaymentMethod.customer_id == customer_id, PaymentMethod.status == ACTIVE)
        .order_by(PaymentMethod.is_default.desc(), PaymentMethod.id)))


def owned(session: Session, customer_id: int, method_id: int) -> PaymentMethod:
    """The customer's active method, or NotFound."""
    method = session.get(PaymentMethod, method_id)
    if method is None or method.customer_id != customer_id or method.status != ACTIVE:
        raise NotFound(_("No such payment method."))
    return method


@dataclass(frozen=True)
class MethodView:
    method: PaymentMethod
    used_by: tuple[str, ...]  # numbers of the subscriptions that charge it

    @property
    def removable(self) -> bool:
        return not self.used_by


def overview(session: Session, *, customer_id: int) -> list[MethodView]:
    """The saved methods with the subscriptions each one pays for (two queries)."""
    methods = active(session, customer_id=customer_id)
    uses: dict[int, list[str]] = {}
    for method_id, number in session.exec(select(Subscription.payment_method_id, Subscription.number)
                                          .where(Subscription.customer_id == customer_id,
                                                 Subscription.payment_method_id.is_not(None),
                                                 Subscription.status.not_in(("cancelled", "expired")))
                                          .order_by(Subscription.id)):
        uses.setdefault(method_id, []).append(number)
    return [MethodView(m, tuple(uses.get(m.id, ()))) for m in methods]


@dataclass(frozen=True)
class Added:
    method: PaymentMethod


def start_setup(session: Session, *, customer_id: int, gateway: PaymentGateway) -> str:
    """Begin collecting a card in the processor's own field (Stripe.js): the client secret
    of a SetupIntent for this customer, whose processor id is made and stored on first need."""
    customer = session.get(Customer, customer_id)
    reference = gateway.ensure_customer(customer.gateway_customer_id, customer_id=customer.id,
                                        email=customer.email, name=customer.display_name)
    if customer.gateway_customer_id != reference:
        customer.gateway_customer_id = reference
        session.flush()
    return gateway.start_setup(reference)


def _token(session: Session, customer_id: int, card: CardDetails | None,
           setup_intent: str | None, gateway: PaymentGateway, now: datetime) -> CardToken:
    """The card to store: typed (the test gateway tokenizes it) or collected by the
    processor's field into a SetupIntent (only its id reaches the portal)."""
    if gateway.collects_cards_in_browser:
        if not setup_intent:
            raise InvalidInput(_("Adding a card needs JavaScript: turn it on for this page, "
                                 "or pay with a saved card."), field="card")
        reference = session.get(Customer, customer_id).gateway_customer_id
        if reference is None:
            raise InvalidInput(_("The card was not confirmed; add it again."), field="card")
        return gateway.finish_setup(setup_intent, reference)
    if card is None:
        raise InvalidInput(_("Required for a new card."), field="card_number")
    return gateway.tokenize(card, now=now)


def add(session: Session, *, customer_id: int, card: CardDetails | None = None,
        gateway: PaymentGateway, now: datetime, keep: bool = True,
        setup_intent: str | None = None) -> Added:
    """Tokenize a card (InvalidInput names the bad field) and store only token and display data.
    With Stripe the card comes as the SetupIntent that Stripe.js confirmed (`setup_intent`).

    `keep=False` makes a single-use method for one payment, never listed or reused.
    """
    token = _token(session, customer_id, card, setup_intent, gateway, now)
    if keep:  # the same SetupIntent sent twice (a resubmitted form) is the one card
        saved = session.exec(select(PaymentMethod).where(
            PaymentMethod.customer_id == customer_id, PaymentMethod.status == ACTIVE,
            PaymentMethod.gateway_token == token.token)).first()
        if saved is not None:
            return Added(saved)
    first = keep and not active(session, customer_id=customer_id)
    method = PaymentMethod(customer_id=customer_id, gateway_token=token.token, brand=token.brand,
                           last4=token.last4, exp_month=token.exp_month, exp_year=token.exp_year,
                           is_default=first, status=ACTIVE if keep else SINGLE_USE,
                           created_at=now)
    session.add(method)
    session.flush()
    if keep:
        events.emit(session, "payment_method.added", events.public("payment_method", method),
                    now=now)
    return Added(method)


def set_default(session: Session, *, customer_id: int, method_id: int,
                now: datetime) -> PaymentMethod:
    method = owned(session, customer_id, method_id)
    was_default = method.is_default
    session.execute(update(PaymentMethod).where(PaymentMethod.customer_id == customer_id)
                    .values(is_default=PaymentMethod.id == method.id)
                    .execution_options(synchronize_session="fetch"))
    if not was_default:
        events.emit(session, "payment_method.updated", events.public("payment_method", method),
                    now=now, previous={"is_default": False})
    return method


def removal(session: Session, *, customer_id: int, method_id: int) -> MethodView:
    """What the confirmation of removing a card shows: the card and what it pays for."""
    method = owned(session, customer_id, method_id)
    return next(v for v in overview(session, customer_id=customer_id) if v.method.id == method.id)


def remove(session: Session, *, customer_id: int, method_id: int,
           now: datetime) -> PaymentMethod:
    """Remove a card no subscription charges; the default moves to the next card."""
    method = owned(session, customer_id, method_id)
    users = overview(session, customer_id=customer_id)
    used_by = next((v.used_by for v in users if v.method.id == method.id), ())
    if used_by:
        raise MethodInUse(_("This card pays for %(subscriptions)s. Replace it with a new card "
                            "instead, and those subscriptions will use the new one.",
                            subscriptions=", ".join(used_by)))
    method.status, was_default, method.is_default = REMOVED, method.is_default, False
    if was_default:
        rest = [v.method for v in users if v.method.id != method.id]
        if rest:
            rest[0].is_default = True
    events.emit(session, "payment_method.removed", events.public("payment_method", method),
                now=now, previous={"status": ACTIVE})
    return method


@dataclass(frozen=True)
class Replaced:
    old: PaymentMethod
    new: PaymentMethod
    moved: tuple[str, ...]  # subscriptions now charging the new card


def replace(session: Session, *, customer_id: int, method_id: int, card: CardDetails | None,
            gateway: PaymentGateway, now: datetime, setup_intent: str | None = None) -> Replaced:
    """Update a card: every subscription that used the old one moves to the new one, at once."""
    old = owned(session, customer_id, method_id)
    new = add(session, customer_id=customer_id, card=card, gateway=gateway, now=now,
              setup_intent=setup_intent).method
    moved = tuple(session.exec(select(Subscription.number).where(
        Subscription.customer_id == customer_id, Subscription.payment_method_id == old.id)
        .order_by(Subscription.id)))
    session.execute(update(Subscription).where(Subscription.customer_id == customer_id,
                                               Subscription.payment_method_id == old.id)
                    .values(payment_method_id=new.id, updated_at=now)
                    .execution_options(synchronize_session="fetch"))
    new.is_default, old.is_default, old.status = old.is_default or new.is_default, False, REMOVED
    events.emit(session, "payment_method.removed", events.public("payment_method", old),
                now=now, previous={"status": ACTIVE})
    return Replaced(old, new, moved)


