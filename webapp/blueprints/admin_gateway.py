"""Back office: the payment gateway (Admin → Payment gateway): which one is in use, what to
configure at Stripe (the webhook endpoint and its events), and "Test connection", which calls
the processor once and shows its answer (start-up never calls it)."""

from __future__ import annotations

from flask import Blueprint, current_app, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin_forms import actor
from webapp.charging import gateway
from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm
from webapp.htmx import finish, render_page
from webapp.login import admin_required
from webapp.services.billing import gateway_switch, gateways, stripe_gateway
from webapp.services.core import audit

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
            "webhook_url": url_for("stripe_webhooks.receive", _external=True),
            "foreign_cards": len(gateway_switch.foreign_cards(
                db.session, gateway_name=config["PAYMENT_GATEWAY"]))}


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
        _("The form expired; reload the page and try again.")
    return render_page("admin/gateway/show.html", "admin_gateway_check", **_context(answer))


@bp.post("/retire-cards")
@admin_required
def retire_cards():
    """After moving to another gateway: mark the old gateway's saved cards unusable, turn
    auto-charge off where they paid, and email those customers to add a card (audited)."""
    if not CheckForm().validate_on_submit():
        return finish(url_for(".show"), _("The form expired; try again."), "error")
    name = current_app.config["PAYMENT_GATEWAY"]
    retired = gateway_switch.retire_foreign_cards(db.session, gateway_name=name, now=now())
    who = actor()
    audit.record(db.session, actor_user_id=who.user_id, actor_label=who.label,
                 action="gateway.cards_retired", subject_type="gateway", subject_id=None,
                 before={}, after={"gateway": name, "cards": retired.cards,
                                   "subscriptions": retired.subscriptions}, now=now())
    commit_and_dispatch()
    return finish(url_for(".show"), _("%(cards)s saved cards of the previous gateway were marked "
                                      "unusable; %(customers)s customers were asked to add a "
                                      "card.", cards=retired.cards,
                                      customers=retired.customers_emailed))
