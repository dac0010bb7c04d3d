"""A processor's webhook events: each stored once, then reconciled into the payment rows.

Stripe sends an event at least once and may send it again, out of order, before or after the
customer's browser has its answer. The event's id is stored (unique) in the same transaction
as what it changes, so a replayed event changes nothing; a PaymentIntent's outcome goes through
the one charge service (`charges.reconcile` → `record`), which writes a payment's outcome once
whoever answers first, and turns a success after a recorded failure into unused credit.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from webapp.models import Customer, GatewayEvent, Organization, PaymentMethod, Subscription
from webapp.services.billing import charges, refunds, stripe_gateway
from webapp.services.core import events, notifications, outbox
from webapp.services.core.dates import Moment
from webapp.services.core.i18n import N_, _

log = logging.getLogger(__name__)
# The card lifecycle at the processor, and a customer deleted there.
CARD_DETACHED, CARD_UPDATED = "payment_method.detached", "payment_method.updated"
CUSTOMER_DELETED = "customer.deleted"
CHARGE_REFUNDED = "charge.refunded"
PROCESSOR_CUSTOMER_DELETED = "processor_customer_deleted"  # the admins' notification event

DUPLICATE, RECORDED, NOTED, IGNORED = "duplicate", "recorded", "noted", "ignored"


def receive(session: Session, *, event: dict, now: datetime, gateway=None) -> str:
    """Store a verified event once and reconcile it: DUPLICATE (seen before: nothing
    changes), RECORDED (a payment's outcome was written), NOTED (nothing left to write: the
    payment already has it, or the intent still waits) or IGNORED (a type the portal does not
    act on)."""
    try:
        with session.begin_nested():
            session.add(GatewayEvent(id=str(event["id"])[:255], type=str(event["type"])[:100],
                                     received_at=now))
            session.flush()
    except IntegrityError:
        return DUPLICATE
    obj = event["data"]["object"]
    if event["type"] == CARD_DETACHED:
        return RECORDED if card_detached(session, method_ref=obj["id"], now=now) else NOTED
    if event["type"] == CARD_UPDATED:
        return RECORDED if card_updated(session, method=obj, now=now) else NOTED
    if event["type"] == CHARGE_REFUNDED:
        return RECORDED if charge_refunded(session, charge=obj, now=now, gateway=gateway) \
            else NOTED
    if event["type"] == CUSTOMER_DELETED:
        return RECORDED if customer_deleted(session, customer_ref=obj["id"], now=now) \
            else NOTED
    if event["type"] not in stripe_gateway.EVENTS:
        return IGNORED
    intent = obj
    outcome = charges.reconcile(session, reference=intent["id"],
                                attempt=stripe_gateway.attempt_of(intent), now=now)
    return RECORDED if outcome is not None and outcome.newly_settled else NOTED


def card_detached(session: Session, *, method_ref: str, now: datetime) -> bool:
    """A card removed at the processor disappears from Payment Methods; the subscriptions that
    auto-charged it turn auto-charge off, and the customer is emailed a link to add a card.
    False when no saved card has that id (or it was already removed)."""
    method = session.exec(select(PaymentMethod).where(
        PaymentMethod.gateway_token == method_ref, PaymentMethod.status == "active")).first()
    if method is None:
        return False
    method.status, was_default, method.is_default = "removed", method.is_default, False
    if was_default:
        following = session.exec(select(PaymentMethod).where(
            PaymentMethod.customer_id == method.customer_id, PaymentMethod.status == "active",
            PaymentMethod.id != method.id).order_by(PaymentMethod.id)).first()
        if following is not None:
            following.is_default = True
    numbers = list(session.exec(select(Subscription.number).where(
        Subscription.payment_method_id == method.id, Subscription.autocharge.is_(True))
        .order_by(Subscription.id)))
    session.execute(update(Subscription).where(Subscription.payment_method_id == method.id)
                    .values(autocharge=False, payment_method_id=None, updated_at=now)
                    .execution_options(synchronize_session="fetch"))
    events.emit(session, "payment_method.removed", events.public("payment_method", method),
                now=now)
    customer = session.get(Customer, method.customer_id)
    outbox.enqueue(session, template="card_removed", to=customer.email, customer_id=customer.id,
                   subject=_("Your %(brand)s •••• %(last4)s was removed", brand=method.brand,
                             last4=method.last4), now=now,
                   context={"name": customer.display_name, "brand": method.brand,
                            "last4": method.last4, "subscriptions": numbers,
                            "page": outbox.page("payment_methods.add")})
    return True


def card_updated(session: Session, *, method: dict, now: datetime) -> bool:
    """The processor's new expiry and last four (a card updated by the bank) are shown."""
    saved = session.exec(select(PaymentMethod).where(
        PaymentMethod.gateway_token == method["id"], PaymentMethod.status == "active")).first()
    card = method.get("card") or {}
    if saved is None or not card:
        return False
    before = events.public("payment_method", saved)
    saved.last4 = str(card.get("last4") or saved.last4)[-4:]
    saved.exp_month = int(card.get("exp_month") or saved.exp_month)
    saved.exp_year = int(card.get("exp_year") or saved.exp_year)
    after = events.public("payment_method", saved)
    events.emit(session, "payment_method.updated", after, now=now,
                previous={k: v for k, v in before.items() if after.get(k) != v})
    return True


def customer_deleted(session: Session, *, customer_ref: str, now: datetime) -> bool:
    """A customer deleted at the processor: logged and the admins told; the portal deletes
    nothing (its invoices, payments and cards stay; charging a card of theirs will fail)."""
    customer = session.exec(select(Customer).where(
        Customer.gateway_customer_id == customer_ref)).first()
    log.warning("The payment processor reports its customer %s deleted (portal customer %s)",
                customer_ref, customer.id if customer else "unknown")
    if customer is None:
        return False
    notifications.notify_org(
        session, event=PROCESSOR_CUSTOMER_DELETED, customer_id=customer.id, now=now,
        title=N_("%(customer)s was deleted at the payment processor"),
        body=N_("The payment processor deleted its customer %(reference)s. Nothing was deleted "
                "in the portal; their saved cards can no longer be charged until they add one "
                "again."), params={"customer": customer.display_name, "reference": customer_ref})
    return True


def charge_refunded(session: Session, *, charge: dict, now: datetime, gateway=None) -> bool:
    """Refunds made at the processor (its dashboard, or the back office's own) recorded once
    each, by their ids; the invoices they come out of reopen as the ledger rules say. A charge
    whose event lists no refunds (Stripe no longer expands them) is asked for its list."""
    intent = charge.get("payment_intent")
    if not intent:
        return False
    currency = (charge.get("currency") or "").upper()
    listed = (charge.get("refunds") or {}).get("data")
    if listed is None and gateway is not None:
        made = gateway.refunds_of(intent, currency)
    else:
        made = [(r["id"], stripe_gateway.from_stripe_units(r["amount"], currency))
                for r in listed or () if r.get("status", "succeeded") in ("succeeded", "pending")]
    org = session.get(Organization, 1)
    return bool(refunds.from_gateway(session, intent_reference=intent, refunds=made,
                                     at=Moment.at(now, org.timezone)))
