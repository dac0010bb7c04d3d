"""Back office: the payment gateway (Admin → Payment gateway): which one is in use, what to
configure at Stripe (the webhook endpoint and its events), and "Test connection", which calls
the processor once and shows its answer (start-up never calls it)."""

from __future__ import annotations

from flask import Blueprint, current_app, url_for

from webapp.charging import gateway
from webapp.forms import FlaskForm
from webapp.htmx import render_page
from webapp.login import admin_required
from webapp.services.billing import gateways, stripe_gateway

bp = Blueprint("admin_gateway", __name__, url_prefix="/admin/payment-gateway")


class CheckForm(FlaskForm):
    pass


def _context(answer: str | None = None) -> dict:
    config = current_app.config
    stripe_mode = config["PAYMENT_GATEWAY"] == "stripe"
    settings = gateways.stripe_settings(config) if stripe_mode else None
    return {"form": CheckForm(), "answer": answer, "stripe_mode": stripe_mode,
            "key_mode": stripe_gateway.check_settings(settings) if settings else None,
            "settings": settings,
            "events": stripe_gateway.EVENTS + stripe_gateway.CARD_EVENTS,
            "webhook_url": url_for("stripe_webhooks.receive", _external=True)}


@bp.get("")
@admin_required
def show():
    """The gateway in use and its settings (never the secret keys)."""
    return render_page("admin/gateway/show.html", **_context())


@bp.post("/test")
@admin_required
def check():
    """Call the processor once and show what answered."""
    form = CheckForm()
    answer = gateway().check_connection() if form.validate_on_submit() else \
        "The form expired; reload the page and try again."
    return render_page("admin/gateway/show.html", "admin_gateway_check", **_context(answer))
