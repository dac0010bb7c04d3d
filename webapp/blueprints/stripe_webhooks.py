"""Stripe's webhooks: POST /webhooks/stripe (no login, no CSRF token: Stripe signs them)."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, jsonify, request

from webapp.charging import gateway
from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.extensions import csrf
from webapp.services.billing import gateway_events, stripe_gateway

bp = Blueprint("stripe_webhooks", __name__)
log = logging.getLogger(__name__)


@bp.post("/webhooks/stripe")
@csrf.exempt
def receive():
    """Verify the signature with Stripe's SDK (with its tolerance), store the event once and
    reconcile it. A bad signature gets 400 and a log line without the body."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if current_app.config.get("PAYMENT_GATEWAY") != "stripe" or not secret:
        abort(404)
    payload = request.get_data(cache=False)
    try:
        event = stripe_gateway.verify_event(payload, request.headers.get("Stripe-Signature"),
                                            secret)
    except ValueError:
        log.warning("Stripe webhook refused: bad signature (%d bytes, from %s)",
                    len(payload), request.remote_addr)
        return jsonify(error="bad signature"), 400
    result = gateway_events.receive(db.session, event=event, now=now(), gateway=gateway())
    commit_and_dispatch()
    return jsonify(received=result)
