"""Payment Methods: saved cards — add, make default, remove, and update a card."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.charging import collects_cards_in_browser, gateway, takes_card
from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import CardFields
from webapp.htmx import finish, render_page, swap_or_redirect
from webapp.login import customer_required
from webapp.permissions import action_required
from webapp.services.core.errors import InvalidInput
from webapp.services.payments import methods as payment_methods

bp = Blueprint("payment_methods", __name__, url_prefix="/payment-methods")


class CardForm(CardFields):
    """Add or replace a card."""


def _card(method) -> str:
    """"Visa •••• 4242": a saved card as every page names it."""
    return f"{method.brand} •••• {method.last4}"


def typed_card(form: CardFields):
    """The card typed into the portal's own fields (test gateway); None with Stripe, whose
    card arrives as the SetupIntent Stripe.js confirmed (`form.setup_intent`)."""
    return None if collects_cards_in_browser() else form.card()


def card_form_page(form: CardForm, replacing):
    form.scrub()
    status = 422 if form.is_submitted() else 200
    return render_template("payment_methods/card_form.html", form=form, replacing=replacing,
                           stripe_mode=collects_cards_in_browser()), status


def _list_context() -> dict:
    return {"methods": payment_methods.overview(db.session, customer_id=current_user.customer_id)}


@bp.get("")
@customer_required
def index():
    """The saved cards and what each one pays for."""
    return render_page("payment_methods/index.html", "payment_method_list", message=None,
                       **_list_context())


@bp.post("/setup")
@customer_required
def setup():
    """Stripe.js asks for a SetupIntent to confirm the typed card into: its client secret
    (JSON). The customer's Stripe customer is made here on first need."""
    if not collects_cards_in_browser():
        return jsonify(error="Cards are typed into the form with this gateway."), 404
    secret = payment_methods.start_setup(db.session, customer_id=current_user.customer_id,
                                         gateway=gateway())
    commit_and_dispatch()
    return jsonify(client_secret=secret)


@bp.route("/new", methods=["GET", "POST"])
@customer_required
@action_required("payment_methods.add")
@takes_card
def add():
    """Add a card (tokenized by the gateway; only its last four digits are kept)."""
    form = CardForm()
    if form.validate_on_submit():
        try:
            payment_methods.add(db.session, customer_id=current_user.customer_id,
                                card=typed_card(form), setup_intent=form.setup_intent.data,
                                gateway=gateway(), now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return swap_or_redirect("payment_method_list", redirect_to=url_for(".index"),
                                    message=_("Card added."), **_list_context())
    return card_form_page(form, None)


@bp.route("/<int:method_id>/update", methods=["GET", "POST"])
@customer_required
@takes_card
def replace(method_id: int):
    """Update a card: every subscription that used it is moved to the new one."""
    old = payment_methods.owned(db.session, current_user.customer_id, method_id)
    form = CardForm()
    if form.validate_on_submit():
        try:
            result = payment_methods.replace(db.session, customer_id=current_user.customer_id,
                                             method_id=method_id, card=typed_card(form),
                                             setup_intent=form.setup_intent.data,
                                             gateway=gateway(), now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            message = _("Card updated to %(card)s.", card=_card(result.new))
            if result.moved:
                message += " " + _("%(subscriptions)s now use it.",
                                   subscriptions=", ".join(result.moved))
            return swap_or_redirect("payment_method_list", redirect_to=url_for(".index"),
                                    message=message, **_list_context())
    return card_form_page(form, old)


@bp.post("/<int:method_id>/default")
@customer_required
def make_default(method_id: int):
    """Make this card the default for new payments."""
    method = payment_methods.set_default(db.session, customer_id=current_user.customer_id,
                                         method_id=method_id, now=now())
    commit_and_dispatch()
    message = _("%(card)s is now your default card.", card=_card(method))
    return swap_or_redirect("payment_method_list", redirect_to=url_for(".index"),
                            message=message, **_list_context())


@bp.get("/<int:method_id>/remove")
@customer_required
def confirm_remove(method_id: int):
    """Remove Visa •••• 4242? The confirmation step, with and without JavaScript."""
    view = payment_methods.removal(db.session, customer_id=current_user.customer_id,
                                   method_id=method_id)
    return render_template("payment_methods/remove.html", view=view)


@bp.post("/<int:method_id>/remove")
@customer_required
def remove(method_id: int):
    """Remove a card that no subscription charges, once confirmed on its confirmation step."""
    if request.form.get("confirmed") != "yes":
        return finish(url_for(".confirm_remove", method_id=method_id))
    method = payment_methods.remove(db.session, customer_id=current_user.customer_id,
                                    method_id=method_id, now=now())
    commit_and_dispatch()
    message = _("%(card)s was removed.", card=_card(method))
    return swap_or_redirect("payment_method_list", redirect_to=url_for(".index"),
                            message=message, **_list_context())
