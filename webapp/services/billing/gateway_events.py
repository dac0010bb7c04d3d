"""A processor's webhook events: each stored once, then reconciled into the payment rows.

Stripe sends an event at least once and may send it again, out of order, before or after the
customer's browser has its answer. The event's id is stored (unique) in the same transaction
as what it changes, so a replayed event changes nothing; a PaymentIntent's outcome goes through
the one charge service (`charges.reconcile` → `record`), which writes a payment's outcome once
whoever answers first, and turns a success after a recorded failure into unused credit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from webapp.models import GatewayEvent
from webapp.services.billing import charges, stripe_gateway

DUPLICATE, RECORDED, NOTED, IGNORED = "duplicate", "recorded", "noted", "ignored"


def receive(session: Session, *, event: dict, now: datetime) -> str:
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
    if event["type"] not in stripe_gateway.EVENTS:
        return IGNORED
    intent = event["data"]["object"]
    outcome = charges.reconcile(session, reference=intent["id"],
                                attempt=stripe_gateway.attempt_of(intent), now=now)
    return RECORDED if outcome is not None and outcome.newly_settled else NOTED
