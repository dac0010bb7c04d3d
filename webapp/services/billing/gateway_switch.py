"""Moving an installation from one gateway to another (the test gateway to Stripe) keeps its
history: invoices, payments and receipts stay as they were. Cards saved with the other gateway
cannot be charged through this one (a token belongs to its processor), so they are marked
unusable: they leave Payment Methods and the pay page, subscriptions that auto-charged one turn
auto-charge off, and each customer affected is emailed once to add a card again. Nothing is
ever sent to this gateway with another's token (the gateways refuse them too).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from webapp.models import Customer, PaymentMethod, Subscription
from webapp.services.billing.stripe_gateway import is_stripe_card
from webapp.services.core import events, outbox
from webapp.services.core.i18n import _

UNUSABLE = "unusable"


def belongs_to(gateway_name: str, token: str) -> bool:
    """Whether a saved card's token was made by the named gateway."""
    return is_stripe_card(token) if gateway_name == "stripe" else token.startswith("tok_test_")


def foreign_cards(session: Session, *, gateway_name: str) -> list[PaymentMethod]:
    """Active saved cards made by another gateway than `gateway_name`."""
    return [m for m in session.exec(select(PaymentMethod).where(
        PaymentMethod.status.in_(("active", "single_use"))).order_by(PaymentMethod.id))
        if not belongs_to(gateway_name, m.gateway_token)]


@dataclass(frozen=True)
class Retired:
    cards: int
    subscriptions: int
    customers_emailed: int


def retire_foreign_cards(session: Session, *, gateway_name: str, now: datetime) -> Retired:
    """Mark the other gateway's cards unusable, turn auto-charge off where they paid, and email
    each customer with a saved card once (listing the subscriptions that need a card)."""
    cards = foreign_cards(session, gateway_name=gateway_name)
    if not cards:
        return Retired(0, 0, 0)
    ids = [m.id for m in cards]
    saved = [m for m in cards if m.status != "single_use"]  # a one-payment card is no one's
    subs = list(session.exec(select(Subscription).where(
        Subscription.payment_method_id.in_(ids)).order_by(Subscription.id)))
    needing: dict[int, list[str]] = defaultdict(list)
    for sub in subs:
        if sub.autocharge and sub.status not in ("cancelled", "expired"):
            needing[sub.customer_id].append(sub.number)
    session.execute(update(Subscription).where(Subscription.payment_method_id.in_(ids))
                    .values(autocharge=False, payment_method_id=None, updated_at=now)
                    .execution_options(synchronize_session="fetch"))
    session.execute(update(PaymentMethod).where(PaymentMethod.id.in_(ids))
                    .values(status=UNUSABLE, is_default=False)
                    .execution_options(synchronize_session="fetch"))
    events.emit_many(session, [("payment_method.removed", events.public("payment_method", m),
                                None) for m in saved], now=now)
    owners = {m.customer_id for m in saved}
    for customer_id in sorted(owners):
        customer = session.get(Customer, customer_id)
        outbox.enqueue(session, template="card_readd", to=customer.email,
                       customer_id=customer.id, now=now,
                       subject=_("Please add your card again"),
                       context={"name": customer.display_name,
                                "subscriptions": needing.get(customer_id, []),
                                "page": outbox.page("payment_methods.add")})
    return Retired(len(cards), len(subs), len(owners))
