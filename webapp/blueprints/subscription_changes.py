"""Manage Subscription: change plan, addons and coupons with an exact proration preview."""

from __future__ import annotations

from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import HiddenField, RadioField, SelectField, StringField
from wtforms.validators import Length, Optional

from webapp.charging import charge_now
from webapp.context import moment
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm
from webapp.htmx import finish, render_page
from webapp.lazy_text import lazy_gettext as _l
from webapp.login import customer_required
from webapp.permissions import action_required
from webapp.services.core.dates import dated
from webapp.services.core.errors import InvalidInput
from webapp.services.core.i18n import N_
from webapp.services.subscriptions import changes
from webapp.services.subscriptions.views import subscription_detail

bp = Blueprint("subscription_changes", __name__, url_prefix="/subscriptions")

TIMING_LABELS = {"immediately": _l("Immediately"), "end_of_term": _l("At the end of the term"),
                 "trial_end": _l("Now, billed when the trial ends")}


class ChangeForm(FlaskForm):
    plan_id = SelectField(_l("Plan"), coerce=int, validate_choice=False)
    coupon_code = StringField(_l("Coupon code"), validators=[Optional(), Length(max=64)])
    timing = RadioField(_l("When"), validate_choice=False)
    fingerprint = HiddenField()


def _setup(subscription_id: int):
    options = changes.choices(db.session, customer_id=current_user.customer_id,
                              subscription_id=subscription_id)
    form = ChangeForm()
    form.plan_id.choices = [(pid, name) for pid, name, *_rest in options.plans]
    form.timing.choices = [(t, TIMING_LABELS[t]) for t in options.timings]
    if not form.is_submitted():
        form.plan_id.data = options.current_plan_id
        form.timing.data = options.timings[0]
    return options, form


def _change_request(form: ChangeForm, options) -> changes.ChangeRequest:
    addons = {}
    for addon_id, _name, _price, current in options.addons:
        raw = (request.form.get(f"addon-{addon_id}") or str(current)).strip()
        if not raw.isdigit():
            raise InvalidInput(_("Quantities are whole numbers from 0 to 999."), field="addons")
        addons[addon_id] = int(raw)
    return changes.ChangeRequest(
        plan_id=form.plan_id.data, addons=addons if options.may_change_addons else None,
        coupon_code=(form.coupon_code.data or "").strip() or None, timing=form.timing.data)


def _render(subscription_id, options, form, *, draft=None, error=None, status=200):
    detail = subscription_detail(db.session, customer_id=current_user.customer_id,
                                 subscription_id=subscription_id, at=moment())
    quantities = {k[6:]: v for k, v in request.form.items() if k.startswith("addon-")}
    context = {"detail": detail, "options": options, "form": form, "draft": draft,
               "error": error, "quantities": quantities}
    if draft is not None:
        form.fingerprint.data = draft.fingerprint()
    # A POST answers with the preview (htmx) or the page; a GET is always the page.
    partial = "subscription_change_preview" if request.method == "POST" else None
    return render_page("subscriptions/change.html", partial, status=status, **context)


@bp.get("/<int:subscription_id>/edit")
@customer_required
@action_required("subscription.edit")
def show(subscription_id: int):
    """Manage Subscription: the change form."""
    options, form = _setup(subscription_id)
    return _render(subscription_id, options, form)


@bp.post("/<int:subscription_id>/edit/preview")
@customer_required
@action_required("subscription.edit")
def preview(subscription_id: int):
    """The exact charges of the change, built by the function that builds the invoice."""
    options, form = _setup(subscription_id)
    if not form.validate_on_submit():
        return _render(subscription_id, options, form, status=422)
    try:
        draft = changes.draft_change(
            db.session, customer_id=current_user.customer_id, subscription_id=subscription_id,
            request=_change_request(form, options), at=moment())
    except InvalidInput as exc:
        return _render(subscription_id, options, form, error=exc, status=422)
    return _render(subscription_id, options, form, draft=draft)


@bp.post("/<int:subscription_id>/edit")
@customer_required
@action_required("subscription.edit")
def confirm(subscription_id: int):
    """Confirm the previewed change; refused, charging nothing, if the figures moved."""
    options, form = _setup(subscription_id)
    if not form.validate_on_submit():
        return _render(subscription_id, options, form, status=422)
    change = _change_request(form, options)
    try:
        applied = changes.confirm_change(
            db.session, customer_id=current_user.customer_id, subscription_id=subscription_id,
            request=change, fingerprint=form.fingerprint.data or "", at=moment())
    except changes.PriceChanged as exc:
        db.session.rollback()
        draft = changes.draft_change(
            db.session, customer_id=current_user.customer_id, subscription_id=subscription_id,
            request=change, at=moment())
        return _render(subscription_id, options, form, draft=draft,
                       error=InvalidInput(exc.message), status=409)
    except InvalidInput as exc:
        return _render(subscription_id, options, form, error=exc, status=422)
    message = _("The change is scheduled for the end of the term.") if applied.scheduled \
        else dated(N_("Your subscription has been changed; it is billed from %(on)s, when the "
                      "trial ends."), on=applied.billed_from) if applied.billed_from \
        else _("Your subscription has been changed.")
    if applied.payment is None:
        commit_and_dispatch()
    else:
        outcome = charge_now(applied.payment.id)
        if outcome is None:  # 3-D Secure, or still processing: the payment's page follows it
            return finish(url_for("pay.status", payment_id=applied.payment.id),
                          _("The change is made once your payment goes through."), "info")
        if not outcome.succeeded:
            return finish(url_for(".show", subscription_id=subscription_id),
                          _("The change was not made: %(reason)s", reason=outcome.message), "error")
    return finish(url_for("subscriptions.detail", subscription_id=subscription_id), message)
