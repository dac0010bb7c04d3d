"""One payment page for every Pay Now, its outcome, and the dunning email's fix link."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import BooleanField, HiddenField, RadioField
from wtforms.validators import InputRequired, Length, Optional

from webapp.charging import charge_now, collects_cards_in_browser, gateway, takes_card
from webapp.context import moment, now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import CardFields, MoneyField
from webapp.htmx import finish, render_page
from webapp.inputs import arg_id, arg_ids
from webapp.lazy_text import lazy_gettext as _l
from webapp.login import customer_required
from webapp.permissions import can
from webapp.services.billing import charges, fix_links
from webapp.services.billing.gateway import Attempt
from webapp.services.core.errors import InvalidInput
from webapp.services.core.money import parse_money
from webapp.services.payments import methods as payment_methods
from webapp.services.payments import pay
from webapp.units import unit_of_work

bp = Blueprint("pay", __name__)

NEW_CARD = "new"


class PayForm(CardFields):
    idempotency_key = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])
    method = RadioField(_l("Pay with"), validators=[InputRequired(message=_l("Choose how to pay."))],
                        choices=[], validate_choice=True)
    save_card = BooleanField(_l("Save this card for future payments"), default=True)
    amount = MoneyField(_l("Amount to pay"), validators=[Optional(), Length(max=20)])


def _invoice_ids() -> list[int] | None:
    if request.values.get("all"):
        return None
    return arg_ids("invoice")


def _card(method) -> str:
    """"Visa •••• 4242": a saved card as every page names it."""
    return f"{method.brand} •••• {method.last4}"


def _expiry(method) -> str:
    return f"{method.exp_month:02d}/{method.exp_year}"


def _form(summary: pay.PaySummary) -> PayForm:
    form = PayForm()
    form.method.choices = [(str(m.id), _("%(card)s (expires %(expiry)s)", card=_card(m),
                                         expiry=_expiry(m)))
                           for m in summary.methods] + [(NEW_CARD, _("A new card"))]
    if not form.is_submitted():
        form.idempotency_key.data = pay.new_idempotency_key()
        form.method.data = str(summary.default_method_id) if summary.default_method_id else NEW_CARD
    return form


def _page(summary, form, *, status=200, declined=None) -> ResponseReturnValue:
    form.scrub()
    token = request.view_args.get("token")
    return render_template("pay/pay.html", summary=summary, form=form, declined=declined,
                           fix_token=token, stripe_mode=collects_cards_in_browser(),
                           setup_url=url_for("pay.fix_setup", token=token) if token
                           else url_for("payment_methods.setup")), status


def _summary(customer_id: int, invoice_ids) -> pay.PaySummary:
    return pay.summary(db.session, customer_id=customer_id, invoice_ids=invoice_ids,
                       at=moment(), partial_allowed=can("payments.partial"))


@bp.get("/pay")
@customer_required
@takes_card
def new():
    """The payment page for the chosen invoices (?invoice=…, or ?all=1 for everything due)."""
    try:
        summary = _summary(current_user.customer_id, _invoice_ids())
    except pay.NothingToPay as exc:
        flash(str(exc.message), "info")
        return redirect(url_for("invoices.index"))
    declined = None
    if arg_id("declined") is not None:
        declined = pay.declined_reason(db.session, current_user.customer_id, arg_id("declined"))
    return _page(summary, _form(summary), declined=declined)


@bp.post("/pay")
@customer_required
@takes_card
def create():
    """Make Payment: one charge per form, however often it is submitted."""
    return _submit(current_user.customer_id, _invoice_ids(), intent={},
                   status_url=lambda pid: url_for("pay.status", payment_id=pid))


def _submit(customer_id: int, invoice_ids, *, intent: dict, status_url,
            only_new_card: bool = False) -> ResponseReturnValue:
    try:
        summary = _summary(customer_id, invoice_ids)
    except pay.NothingToPay as exc:
        key = request.form.get("idempotency_key", "")
        # Read without its form (there is nothing left to pay): a key we make is printable.
        existing = charges.by_key(db.session, customer_id=customer_id, idempotency_key=key) \
            if key.isprintable() else None
        if existing is not None:
            return redirect(status_url(existing.id), 303)
        return finish(url_for("invoices.index"), exc.message, "info")
    form = _form(summary)
    if not form.validate_on_submit():
        return _page(summary, form, status=422)
    try:
        payment = _begin(customer_id, summary, form, intent, only_new_card)
    except InvalidInput as exc:
        form.show(exc)
        return _page(summary, form, status=422)
    except charges.ChargeInProgress as exc:
        return redirect(status_url(exc.payment_id), 303)
    except charges.InvoicesSettled as exc:  # paid by another payment a moment ago
        return finish(url_for("invoices.index"), exc.message, "info")
    # A gateway that does not answer gets the attempt resolved at once: the status page then
    # says nothing was charged, and the customer can pay again with any card.
    charge_now(payment.id)
    return redirect(status_url(payment.id), 303)


def _begin(customer_id: int, summary: pay.PaySummary, form: PayForm, intent: dict,
           only_new_card: bool):
    """The pending payment for this form. An earlier attempt still holding the invoices is
    resolved first (the customer's next attempt); if it failed, this one goes ahead."""
    choice = _choice(form, summary, only_new_card)

    def begin():
        return pay.begin(db.session, customer_id=customer_id, choice=choice,
                         gateway=gateway(), partial_allowed=summary.partial_allowed,
                         now=now(), intent=intent)
    try:
        return begin()
    except charges.ChargeInProgress as exc:
        db.session.rollback()
        db.session.close()  # nor while the gateway is asked about the earlier attempt
        if not charges.resolve_for_next_attempt(unit_of_work, gateway(),
                                                payment_id=exc.payment_id, now=now()):
            raise
        return begin()


def _choice(form: PayForm, summary: pay.PaySummary, only_new_card: bool) -> pay.PayChoice:
    amount = None
    if form.amount.data:
        try:
            amount = parse_money(form.amount.data, summary.currency)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="amount") from exc
    new_card = form.method.data == NEW_CARD or only_new_card
    in_browser = collects_cards_in_browser()
    if in_browser and form.typed_card():
        # With Stripe no page has card fields: only a hand-made request sends a card number.
        raise InvalidInput(_("Card numbers are not accepted here: enter the card in the secure "
                             "card field. Nothing was charged."), field="card")
    if not new_card and (form.typed_card() or form.setup_intent.data):
        # Only a hand-made request sends both (the page has a form for each): charge nothing.
        raise InvalidInput(_("You chose a saved card and also typed a new card. Nothing was "
                             "charged: pay with one or the other."), field="method")
    return pay.PayChoice(
        invoice_ids=list(summary.invoice_ids), idempotency_key=form.idempotency_key.data,
        payment_method_id=None if new_card else int(form.method.data),
        card=form.card() if new_card and not in_browser else None,
        setup_intent=(form.setup_intent.data or "") if new_card and in_browser else None,
        save_card=bool(form.save_card.data) or only_new_card, amount=amount)


@bp.get("/pay/payments/<int:payment_id>")
@customer_required
@takes_card
def status(payment_id: int):
    """Where every submission of a payment ends: in progress, the receipt, or the decline."""
    return _status(pay.owned_payment_attempt(db.session, current_user.customer_id, payment_id))


def _status(payment, fix_token: str | None = None) -> ResponseReturnValue:
    message = None
    attempt = None
    if payment.status == "pending" and gateway().uses_intents:
        # Stripe: read the intent (3-D Secure done in the browser, or a webhook not yet
        # arrived); a final answer is recorded now, through the one charge service.
        db.session.close()
        followed = charges.follow(unit_of_work, gateway(), payment_id=payment.id, now=now())
        if isinstance(followed, Attempt):
            attempt = followed
        else:
            payment = followed.payment
    if payment.status == "succeeded":
        message = _("Payment %(number)s received. Thank you!", number=payment.number)
        target = url_for("payments.receipt", payment_id=payment.id) if fix_token is None \
            else url_for("pay.fix_done", token=fix_token, payment_id=payment.id)
    elif payment.status == "failed":
        ids = payment.intent.get("invoice_ids", [])
        target = url_for("pay.new", invoice=ids, declined=payment.id) if fix_token is None \
            else url_for("pay.fix", token=fix_token, declined=payment.id)
    else:
        return render_page("pay/in_progress.html", "payment_progress", payment=payment,
                           fix_token=fix_token,
                           action_secret=attempt.client_secret if attempt else None)
    return finish(target, message)


# -- the dunning email's link: no login, one invoice, one subscription -----------------------

@bp.route("/fix/<token>", methods=["GET", "POST"])
@takes_card
def fix(token: str):
    """Pay the failed invoice and update the subscription's card, from the email's link."""
    try:
        link = fix_links.resolve(db.session, token=token, now=now())
    except fix_links.LinkRefused as exc:
        return render_template("pay/link_refused.html", reason=exc.reason), 410
    if request.method == "POST":
        return _submit(link.customer_id, [link.invoice_id], intent={"fix_link_id": link.id},
                       status_url=lambda pid: url_for("pay.fix_status", token=token,
                                                      payment_id=pid))
    waiting = fix_links.needs_authentication(db.session, link=link) \
        if gateway().uses_intents else None
    confirmation = gateway().customer_confirmation(waiting.gateway_reference) if waiting \
        else None
    if confirmation:  # a renewal the bank wanted to confirm: the customer does it here
        return render_page("pay/in_progress.html", "payment_progress", payment=waiting,
                           fix_token=token, action_secret=confirmation[0],
                           action_method=confirmation[1],
                           return_url=url_for("pay.fix_authenticated", token=token,
                                              payment_id=waiting.id))
    summary = pay.summary(db.session, customer_id=link.customer_id, invoice_ids=[link.invoice_id],
                          at=moment(), partial_allowed=False)
    declined = None
    if arg_id("declined") is not None:
        declined = pay.declined_reason(db.session, link.customer_id, arg_id("declined"))
    return _page(summary, _form(summary), declined=declined)


@bp.post("/fix/<token>/setup")
def fix_setup(token: str):
    """Stripe.js's SetupIntent for a new card on the dunning email's page (no login)."""
    try:
        link = fix_links.resolve(db.session, token=token, now=now())
    except fix_links.LinkRefused as exc:
        return jsonify(error=exc.reason), 410
    if not collects_cards_in_browser():
        return jsonify(error="Cards are typed into the form with this gateway."), 404
    secret = payment_methods.start_setup(db.session, customer_id=link.customer_id,
                                         gateway=gateway())
    commit_and_dispatch()
    return jsonify(client_secret=secret)


@bp.get("/fix/<token>/authenticated/<int:payment_id>")
@takes_card
def fix_authenticated(token: str, payment_id: int):
    """Back from the bank's 3-D Secure on a renewal the email's link offered to complete: the
    intent is read, and its success recorded (the invoice paid, dunning over)."""
    try:
        link = fix_links.resolve(db.session, token=token, now=now())
    except fix_links.LinkRefused as exc:
        return render_template("pay/link_refused.html", reason=exc.reason), 410
    waiting = fix_links.needs_authentication(db.session, link=link)
    if waiting is None or waiting.id != payment_id:
        return redirect(url_for("pay.fix", token=token), 303)
    db.session.close()
    outcome = charges.settle_authenticated(unit_of_work, gateway(), payment_id=payment_id,
                                           now=now())
    if outcome is None or not outcome.succeeded:
        return finish(url_for("pay.fix", token=token),
                      _("Your bank did not confirm the payment; nothing was charged."), "error")
    with unit_of_work() as session:
        fix_links.settled_through(session, link_id=link.id, payment_id=payment_id, now=now())
    return redirect(url_for("pay.fix_done", token=token, payment_id=payment_id), 303)


@bp.get("/fix/<token>/payments/<int:payment_id>")
@takes_card
def fix_status(token: str, payment_id: int):
    """A fix-link payment's outcome (the link itself may be used up by now)."""
    payment = fix_links.payment_for(db.session, token=token, payment_id=payment_id)
    return _status(payment, fix_token=token)


@bp.get("/fix/<token>/done/<int:payment_id>")
def fix_done(token: str, payment_id: int):
    """The end of a fix-link payment: a thank-you without the logged-in receipt pages."""
    payment = fix_links.payment_for(db.session, token=token, payment_id=payment_id)
    return render_template("pay/fix_done.html", payment=payment)
