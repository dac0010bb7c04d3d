"""Saved payment methods: list, add, set default, remove, and replace a card everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from webapp.models import PaymentMethod, Subscription
from webapp.services.billing.gateway import CardDetails, PaymentGateway
from webapp.services.core import events
from webapp.services.core.errors import DomainError, NotFound

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
        raise NotFound("No such payment method.")
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


def add(session: Session, *, customer_id: int, card: CardDetails, gateway: PaymentGateway,
        now: datetime, keep: bool = True) -> Added:
    """Tokenize a card (InvalidInput names the bad field) and store only token and display data.

    `keep=False` makes a single-use method for one payment, never listed or reused.
    """
    token = gateway.tokenize(card, now=now)
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
        raise MethodInUse(f"This card pays for {', '.join(used_by)}. Replace it with a new "
                          "card instead, and those subscriptions will use the new one.")
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


def replace(session: Session, *, customer_id: int, method_id: int, card: CardDetails,
            gateway: PaymentGateway, now: datetime) -> Replaced:
    """Update a card: every subscription that used the old one moves to the new one, at once."""
    old = owned(session, customer_id, method_id)
    new = add(session, customer_id=customer_id, card=card, gateway=gateway, now=now).method
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


