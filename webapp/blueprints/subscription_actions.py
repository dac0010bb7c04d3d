"""Subscription self-service: activate, extend trial, cancel, reactivate, auto-charge, pause.

Flows with a form or a summary (activate, reactivate, cancel, pause) have a page whose
fragment htmx loads into the subscription page's panel; a confirmed flow ends on the
subscription page with a flash (htmx follows with HX-Redirect). One-click actions on the
subscription page (extend trial, remove a scheduled cancellation, delete a pause schedule)
swap the actions section; the auto-charge switch swaps itself.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import DateField, HiddenField, RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from webapp.charging import charge_now
from webapp.context import moment, now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import RAISE, FlaskForm
from webapp.htmx import finish, is_htmx, render_page, swap_or_redirect
from webapp.lazy_text import lazy_gettext as _l
from webapp.login import customer_required
from webapp.permissions import action_required
from webapp.services.core import preferences
from webapp.services.core.dates import Dated, dated
from webapp.services.core.errors import DomainError, InvalidInput
from webapp.services.core.i18n import N_
from webapp.services.payments import pay
from webapp.services.subscriptions import actions as subscription_actions

bp = Blueprint("subscription_actions", __name__, url_prefix="/subscriptions")

TITLES = {"activate": _l("Activate Subscription"), "reactivate": _l("Reactivate Subscription"),
          "cancel": _l("Cancel Subscription"), "pause": _l("Pause & Resume")}
TIMING_LABELS = {subscription_actions.IMMEDIATELY: _l("Immediately"),
                 subscription_actions.END_OF_TERM: _l("At the end of the current term")}
# When a pause starts (issue 30): on a date, or when the current term ends.
PAUSE_WHEN = [SelectChoice(subscription_actions.ON_DATE, _l("On a date")),
              SelectChoice(subscription_actions.AT_TERM_END, _l("At the end of the term"))]


class ConfirmForm(FlaskForm):
    """Confirms exactly the summary shown (fingerprint), once (idempotency key)."""

    fingerprint = HiddenField(validators=[InputRequired(), Length(max=64)])
    idempotency_key = HiddenField(validators=[InputRequired(), Length(min=16, max=64)])


class CancelForm(FlaskForm):
    unplaced_errors = RAISE  # a refusal about no field of the form: the 422 page

    timing = RadioField(_l("When should it end?"), choices=[], validate_choice=False)
    reason = SelectField(_l("Why are you cancelling?"), choices=[], validate_choice=False)
    details = TextAreaField(_l("Anything else you would like to tell us? (optional)"),
                            validators=[Optional(), Length(max=500)])


class PauseForm(FlaskForm):
    unplaced_errors = RAISE

    pause_when = RadioField(_l("Pause"), choices=PAUSE_WHEN, default=subscription_actions.ON_DATE,
                            validate_choice=False)
    pause_on = DateField(_l("Pause on"), validators=[Optional()])
    resume_on = DateField(_l("Resume on"), validators=[Optional()])


class AutochargeForm(FlaskForm):
    enabled = HiddenField(validators=[AnyOf(("on", "off"))])


def _ids(subscription_id: int) -> dict:
    return {"customer_id": current_user.customer_id, "subscription_id": subscription_id}


def refusals_to_subscription(view):
    """A refused action (409) shows its message on the subscription's page, never on a form
    that would only refuse again (or, for a POST-only URL, not exist as a page at all)."""
    @wraps(view)
    def wrapper(subscription_id: int):
        try:
            return view(subscription_id)
        except DomainError as exc:
            if is_htmx() or exc.status != 409:
                raise  # htmx: the 409 fragment; 404 stays 404 (webapp/errors.py)
            return finish(url_for("subscriptions.detail", subscription_id=subscription_id),
                          exc.message, "error")
    return wrapper


def _render(target: str, *, status: int = 200, **context) -> ResponseReturnValue:
    """The flow's page, or only its fragment for htmx."""
    return render_page("subscriptions/action.html", f"subscription_{target}", status=status,
                       target=target, title=TITLES[target], **context)


def _finished(subscription_id: int, message: Dated | str, category: str = "success") -> ResponseReturnValue:
    """The end of a flow: the subscription's page with the message (htmx navigates there)."""
    return finish(url_for("subscriptions.detail", subscription_id=subscription_id), message,
                  category)


def _actions_swapped(subscription_id: int, message: Dated | str) -> ResponseReturnValue:
    """After a one-click action: the actions section for htmx, else a flash and the page."""
    view = subscription_actions.overview(db.session, **_ids(subscription_id), at=moment())
    return swap_or_redirect("subscription_actions", message=message, oob=True,
                            detail=view.detail, actions=view.actions,
                            redirect_to=url_for("subscriptions.detail",
                                                subscription_id=subscription_id))


# -- Activate Subscription / Proceed to Reactivate + Reactivate Subscription ------------------

def _summary_page(summary: subscription_actions.TermSummary, *, error: str | None = None,
                  status: int = 200) -> ResponseReturnValue:
    form = ConfirmForm(formdata=None, fingerprint=summary.fingerprint(),
                       idempotency_key=pay.new_idempotency_key())
    target = "activate" if summary.event == subscription_actions.ACTIVATE else "reactivate"
    return _render(target, status=status, summary=summary, form=form, error=error,
                   subscription=summary.subscription)


def _confirm(start, summarize, subscription_id: int) -> ResponseReturnValue:
    """Confirm a term summary: start the term, or run the charge that decides it."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _summary_page(summarize(db.session, **_ids(subscription_id), now=now()),
                             error=_("Review the summary and confirm again."), status=422)
    try:
        started = start(db.session, **_ids(subscription_id), fingerprint=form.fingerprint.data,
                        idempotency_key=form.idempotency_key.data, now=now())
    except subscription_actions.PriceChanged as exc:
        return _summary_page(summarize(db.session, **_ids(subscription_id), now=now()),
                             error=exc.message, status=409)
    if started.payment_id is None:
        commit_and_dispatch()
        return _finished(subscription_id, started.message)
    return _charge(started, summarize)


def _charge(started: subscription_actions.TermStarted, summarize) -> ResponseReturnValue:
    sub_id, event = started.subscription.id, started.event
    outcome = charge_now(started.payment_id)
    if outcome is None:  # being charged elsewhere, the processor is silent, or 3-D Secure
        # waits for the customer: the payment's own page shows its step and its outcome.
        return finish(url_for("pay.status", payment_id=started.payment_id))
    if outcome.succeeded:
        return _finished(sub_id, subscription_actions.DONE[event])
    return _summary_page(summarize(db.session, **_ids(sub_id), now=now()),
                         error=f"{outcome.message} {subscription_actions.NOT_DONE[event]}",
                         status=409)


@bp.get("/<int:subscription_id>/activate")
@customer_required
@action_required(preferences.TRIAL_ACTIVATE)
@refusals_to_subscription
def activation(subscription_id: int):
    """Activate Subscription: what the first invoice would be if the trial ended today."""
    return _summary_page(subscription_actions.activation_summary(
        db.session, **_ids(subscription_id), now=now()))


@bp.post("/<int:subscription_id>/activate")
@customer_required
@action_required(preferences.TRIAL_ACTIVATE)
@refusals_to_subscription
def activate(subscription_id: int):
    """End the trial now: live, invoiced, charged when auto-charge is on (a decline refuses)."""
    return _confirm(subscription_actions.activate, subscription_actions.activation_summary,
                    subscription_id)


@bp.get("/<int:subscription_id>/reactivate")
@customer_required
@action_required(preferences.SUBSCRIPTION_REACTIVATE)
@refusals_to_subscription
def reactivation(subscription_id: int):
    """Proceed to Reactivate: the summary of the reactivation charges."""
    return _summary_page(subscription_actions.reactivation_summary(
        db.session, **_ids(subscription_id), now=now()))


@bp.post("/<int:subscription_id>/reactivate")
@customer_required
@action_required(preferences.SUBSCRIPTION_REACTIVATE)
@refusals_to_subscription
def reactivate(subscription_id: int):
    """Reactivate Subscription: a new term from today (a declined charge refuses it)."""
    return _confirm(subscription_actions.reactivate, subscription_actions.reactivation_summary,
                    subscription_id)


@bp.post("/<int:subscription_id>/extend-trial")
@customer_required
@action_required(preferences.TRIAL_EXTEND)
@refusals_to_subscription
def extend_trial(subscription_id: int):
    """Extend Trial: another trial period of the plan's length, as often as allowed."""
    sub = subscription_actions.extend_trial(db.session, **_ids(subscription_id), now=now())
    commit_and_dispatch()
    return _actions_swapped(subscription_id, dated(N_("Your trial now runs until %(on)s."),
                                                   on=sub.trial_end))


# -- Cancel, the retention offer, Remove Scheduled Cancellation ---------------------------

def _cancel_form(options: subscription_actions.CancelOptions) -> CancelForm:
    form = CancelForm()
    form.timing.choices = [(t, TIMING_LABELS[t]) for t in options.choices]
    form.reason.choices = [("", _("Choose a reason"))] + [(r, r) for r in options.reasons]
    if not form.is_submitted():
        form.timing.data = options.default_timing
    return form


@bp.get("/<int:subscription_id>/cancel")
@customer_required
@refusals_to_subscription
def cancel_form(subscription_id: int):
    """Cancel: when (as the preferences allow), why, and the retention offer if any."""
    options = subscription_actions.cancel_options(db.session, **_ids(subscription_id),
                                                  now=now())
    return _render("cancel", options=options, form=_cancel_form(options),
                   subscription=options.subscription)


@bp.post("/<int:subscription_id>/cancel")
@customer_required
@refusals_to_subscription
def cancel(subscription_id: int):
    """Cancel now (crediting unused paid time) or at the end of the current term."""
    options = subscription_actions.cancel_options(db.session, **_ids(subscription_id),
                                                  now=now())
    form = _cancel_form(options)
    if form.validate_on_submit():
        try:
            result = subscription_actions.cancel(
                db.session, **_ids(subscription_id), timing=form.timing.data or "",
                reason=form.reason.data or "", details=form.details.data or "", now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return _finished(subscription_id, result.message)
    return _render("cancel", status=422, options=options, form=form,
                   subscription=options.subscription)


@bp.post("/<int:subscription_id>/retention-offer")
@customer_required
@refusals_to_subscription
def accept_offer(subscription_id: int):
    """Take the retention offer instead of cancelling: its coupon goes on the subscription."""
    offer = subscription_actions.accept_retention_offer(db.session, **_ids(subscription_id),
                                                        now=now())
    commit_and_dispatch()
    return _finished(subscription_id, _("Thank you for staying: %(name)s (%(code)s) is now on "
                                        "your subscription.", name=offer.name, code=offer.code))


@bp.post("/<int:subscription_id>/remove-cancellation")
@customer_required
@refusals_to_subscription
def remove_cancellation(subscription_id: int):
    """Remove Scheduled Cancellation: the subscription continues as before."""
    sub = subscription_actions.remove_cancellation(db.session, **_ids(subscription_id),
                                                   now=now())
    commit_and_dispatch()
    return _actions_swapped(subscription_id, _("The scheduled cancellation of %(number)s was "
                                               "removed.", number=sub.number))


# -- Auto-charge --------------------------------------------------------------------------

@bp.post("/<int:subscription_id>/autocharge")
@customer_required
@action_required(preferences.SUBSCRIPTION_AUTOCHARGE)
@refusals_to_subscription
def autocharge(subscription_id: int):
    """Turn auto-charge on or off; htmx swaps the switch and its note."""
    form = AutochargeForm()
    if not form.validate_on_submit():
        abort(400)  # only a hand-made request lacks the switch's own value
    result = subscription_actions.set_autocharge(
        db.session, **_ids(subscription_id), enabled=form.enabled.data == "on", now=now())
    commit_and_dispatch()
    return swap_or_redirect("subscription_autocharge", autocharge=result.view,
                            message=result.message,
                            redirect_to=url_for("subscriptions.detail",
                                                subscription_id=subscription_id))


@bp.post("/<int:subscription_id>/use-default-card")
@customer_required
@action_required(preferences.SUBSCRIPTION_AUTOCHARGE)
@refusals_to_subscription
def use_default_card(subscription_id: int):
    """Use the customer's default card for a subscription without one; htmx swaps the switch."""
    result = subscription_actions.use_default_card(db.session, **_ids(subscription_id),
                                                   now=now())
    commit_and_dispatch()
    return swap_or_redirect("subscription_autocharge", autocharge=result.view,
                            message=result.message,
                            redirect_to=url_for("subscriptions.detail",
                                                subscription_id=subscription_id))


# -- Pause & Resume -----------------------------------------------------------------------

@bp.get("/<int:subscription_id>/pause")
@customer_required
@action_required(preferences.SUBSCRIPTION_PAUSE)
@refusals_to_subscription
def pause_form(subscription_id: int):
    """Pause & Resume (Change Schedule): the pause date and the resume date."""
    options = subscription_actions.pause_options(db.session, **_ids(subscription_id),
                                                 now=now())
    form = PauseForm(formdata=None, pause_on=options.pause_on, resume_on=options.resume_on)
    return _render("pause", options=options, form=form, subscription=options.subscription)


@bp.post("/<int:subscription_id>/pause")
@customer_required
@action_required(preferences.SUBSCRIPTION_PAUSE)
@refusals_to_subscription
def pause(subscription_id: int):
    """Save the pause schedule; the subscription pauses and resumes on those dates."""
    options = subscription_actions.pause_options(db.session, **_ids(subscription_id),
                                                 now=now())
    form = PauseForm()
    if form.validate_on_submit():
        try:
            result = subscription_actions.schedule_pause(
                db.session, **_ids(subscription_id), pause_on=form.pause_on.data,
                resume_on=form.resume_on.data, now=now(), when=form.pause_when.data)
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return _finished(subscription_id, result.message)
    return _render("pause", status=422, options=options, form=form,
                   subscription=options.subscription)


@bp.post("/<int:subscription_id>/pause/delete")
@customer_required
@action_required(preferences.SUBSCRIPTION_PAUSE)
@refusals_to_subscription
def delete_pause(subscription_id: int):
    """Delete Schedule: the scheduled pause and resume are removed."""
    sub = subscription_actions.delete_pause_schedule(db.session, **_ids(subscription_id),
                                                     now=now())
    commit_and_dispatch()
    return _actions_swapped(subscription_id, _("The pause schedule of %(number)s was deleted.",
                                               number=sub.number))
