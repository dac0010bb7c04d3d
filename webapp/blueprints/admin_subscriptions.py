"""Back office: create a subscription for a customer; cancel, pause and change one."""

from __future__ import annotations

from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from webapp.blueprints.admin_forms import actor, labelled, options
from webapp.charging import charge_now
from webapp.context import moment, today, use_customer_locale
from webapp.db import db
from webapp.dispatch import CHARGE_PAYMENT, commit_and_dispatch, defer
from webapp.forms import FlaskForm
from webapp.htmx import finish, render_page
from webapp.login import admin_required
from webapp.services.admin import subscriptions
from webapp.services.core.dates import dated
from webapp.services.core.errors import InvalidInput
from webapp.services.core.i18n import N_
from webapp.services.subscriptions import changes
from webapp.services.subscriptions.views import STATUS_LABELS

bp = Blueprint("admin_subscriptions", __name__, url_prefix="/admin")

TIMINGS = {subscriptions.IMMEDIATELY: N_("Immediately"),
           subscriptions.END_OF_TERM: N_("At the end of the current term")}
# When a pause starts: on a date, or when the current term ends.
PAUSE_WHEN = {"on_date": N_("On a date"), "term_end": N_("At the end of the term")}
# A change's timings: the cancellation's, and during a trial "billed when the trial ends".
CHANGE_TIMINGS = {**TIMINGS, changes.TRIAL_END: N_("Now, billed when the trial ends")}


class NewSubscriptionForm(FlaskForm):
    plan_id = SelectField(_l("Plan"), coerce=int, validate_choice=False)
    coupon_code = StringField(_l("Coupon code"))
    start_date = DateField(_l("Start date"), validators=[Optional()])
    trial = BooleanField(_l("Start with the plan's free trial"))
    payment_method_id = SelectField(_l("Payment method"), validate_choice=False)
    autocharge = BooleanField(_l("Charge the payment method automatically (auto-charge)"))

    def values(self) -> subscriptions.NewSubscription:
        method = self.payment_method_id.data
        addons = {int(k[6:]): v for k, v in request.form.items()
                  if k.startswith("addon_") and k[6:].isdigit()}
        return subscriptions.NewSubscription(
            plan_id=self.plan_id.data, addons=addons, coupon_code=self.coupon_code.data or "",
            start_date=self.start_date.data, trial=self.trial.data,
            payment_method_id=int(method) if method and method.isdigit() else None,
            autocharge=self.autocharge.data)


def _new_page(customer_id: int, form: NewSubscriptionForm, status: int = 200):
    offer = subscriptions.choices(db.session, customer_id=customer_id)
    form.plan_id.choices = options((plan.id, plan.name) for plan, _ in offer.plans)
    form.payment_method_id.choices = options([("", _("None"))] + [
        (str(m.id), f"{m.brand} •••• {m.last4}") for m in offer.methods])
    context = {"offer": offer, "form": form, "today": today(),
               "quantities": {k: v for k, v in request.form.items() if k.startswith("addon_")}}
    return render_page("admin/subscriptions/new.html", status=status, **context)


@bp.get("/customers/<int:customer_id>/subscriptions/new")
@admin_required
def new(customer_id: int):
    """The new-subscription form: active plans and addons in the customer's currency."""
    return _new_page(customer_id, NewSubscriptionForm(start_date=today()))


@bp.post("/customers/<int:customer_id>/subscriptions")
@admin_required
def create(customer_id: int):
    """Create the subscription: one that starts today with auto-charge is charged now (and
    shows as "Creation failed" if the charge fails); the scheduler's tick starts the others."""
    form = NewSubscriptionForm()
    if form.validate_on_submit():
        try:
            sub = subscriptions.create_subscription(
                db.session, actor=actor(), customer_id=customer_id, data=form.values(),
                at=moment())
        except InvalidInput as exc:
            form.show(exc)
        else:
            if sub.awaiting_payment_id is not None:
                return _first_charge(sub.id, sub.number, sub.awaiting_payment_id, CREATED)
            db.session.commit()
            return finish(url_for(".detail", subscription_id=sub.id),
                          _("%(number)s was created (%(status)s). Its first invoice is issued on "
                            "its start date by the scheduler.", number=sub.number,
                            status=sub.status))
    return _new_page(customer_id, form, 422)


CREATED, RETRIED = "created", "retried"


def _first_charge(subscription_id: int, number: str, payment_id: int, done: str):
    """Run a new subscription's first charge while the admin waits; say how it went."""
    target = url_for(".detail", subscription_id=subscription_id)
    outcome = charge_now(payment_id)
    if outcome is None:  # the gateway is still silent: the sweep settles it
        return finish(target, _("%(number)s was created; its first charge is still being "
                                "processed.", number=number) if done == CREATED else
                      _("%(number)s was retried; its first charge is still being processed.",
                        number=number), "info")
    if outcome.succeeded:
        return finish(target, _("%(number)s was created and its first charge succeeded: it is "
                                "live.", number=number) if done == CREATED else
                      _("%(number)s was retried and its first charge succeeded: it is live.",
                        number=number))
    return finish(target, _("Creation failed: %(reason)s", reason=str(outcome.message)),
                  "error")


@bp.post("/subscriptions/<int:subscription_id>/retry-creation")
@admin_required
def retry_creation(subscription_id: int):
    """Charge a subscription whose creation failed again (a new first term from today)."""
    sub = subscriptions.retry_creation(db.session, actor=actor(),
                                       subscription_id=subscription_id, at=moment())
    if sub.awaiting_payment_id is None:  # paid by credit: it started
        commit_and_dispatch()
        return finish(url_for(".detail", subscription_id=subscription_id),
                      _("%(number)s started.", number=sub.number))
    return _first_charge(sub.id, sub.number, sub.awaiting_payment_id, RETRIED)


@bp.post("/subscriptions/<int:subscription_id>/discard")
@admin_required
def discard(subscription_id: int):
    """Discard a subscription whose creation failed."""
    sub = subscriptions.discard(db.session, actor=actor(), subscription_id=subscription_id,
                                at=moment())
    commit_and_dispatch()
    return finish(url_for(".detail", subscription_id=subscription_id),
                  _("%(number)s was discarded.", number=sub.number))


class CancelForm(FlaskForm):
    timing = RadioField(_l("When"), choices=labelled(TIMINGS.items()),
                        default=subscriptions.IMMEDIATELY, validate_choice=False)
    reason = TextAreaField(_l("Reason"))
    credit_unused = BooleanField(_l("Credit the unused time"))


class PauseForm(FlaskForm):
    pause_when = RadioField(_l("Pause"), choices=labelled(PAUSE_WHEN.items()),
                            default="on_date", validate_choice=False)
    pause_on = DateField(_l("Pause on"), validators=[Optional()])
    resume_on = DateField(_l("Resume on"), validators=[Optional()])


def _detail_page(subscription_id: int, status: int = 200, **forms):
    view = subscriptions.subscription_view(db.session, subscription_id=subscription_id,
                                           at=moment())
    use_customer_locale(view.customer.locale)
    context = {"view": view, "cancel_form": CancelForm(formdata=None),
               "pause_form": PauseForm(formdata=None)} | forms
    return render_page("admin/subscriptions/detail.html", status=status, **context)


@bp.get("/subscriptions/<int:subscription_id>")
@admin_required
def detail(subscription_id: int):
    """One subscription: items, dates, invoices, and the admin's actions."""
    return _detail_page(subscription_id)


@bp.post("/subscriptions/<int:subscription_id>/cancel")
@admin_required
def cancel(subscription_id: int):
    """Cancel now or at the end of the term (the state machine decides what is allowed)."""
    form = CancelForm()
    if form.validate_on_submit():
        try:
            sub = subscriptions.cancel(db.session, actor=actor(), subscription_id=subscription_id,
                                       timing=form.timing.data, reason=form.reason.data or "",
                                       credit_unused=form.credit_unused.data,
                                       at=moment())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for(".detail", subscription_id=subscription_id),
                          _("%(number)s is %(status)s.", number=sub.number,
                            status=_(str(STATUS_LABELS[sub.status])).lower()))
    return _detail_page(subscription_id, 422, cancel_form=form)


@bp.post("/subscriptions/<int:subscription_id>/pause")
@admin_required
def pause(subscription_id: int):
    """Schedule a pause and its resume date (or a paused one's resume date)."""
    form = PauseForm()
    if form.validate_on_submit():
        try:
            subscriptions.pause(db.session, actor=actor(), subscription_id=subscription_id,
                                pause_on=form.pause_on.data, resume_on=form.resume_on.data,
                                at=moment(), when=form.pause_when.data)
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for(".detail", subscription_id=subscription_id),
                          _("The pause schedule was saved."))
    return _detail_page(subscription_id, 422, pause_form=form)


# --- Change plan and addons (the customer's preview, with the admin's choices) ----------------

class ChangeForm(FlaskForm):
    plan_id = SelectField(_l("Plan"), coerce=int, validate_choice=False)
    coupon_code = StringField(_l("Add a coupon"))
    timing = RadioField(_l("When"), validate_choice=False)
    fingerprint = HiddenField()


def _change_setup(subscription_id: int):
    offer = subscriptions.change_choices(db.session, subscription_id=subscription_id)
    form = ChangeForm()
    form.plan_id.choices = options((pid, name) for pid, name, *_ in offer.plans)
    # The timings the proration setting (and a trial) leave.
    form.timing.choices = labelled((t, CHANGE_TIMINGS[t]) for t in offer.timings)
    if not form.is_submitted():
        form.plan_id.data = offer.current_plan_id
        form.timing.data = offer.timings[0]
    return offer, form


def _change_request(form: ChangeForm, offer) -> changes.ChangeRequest:
    addons = {}
    for addon_id, _name, _price, current in offer.addons:
        raw = (request.form.get(f"addon-{addon_id}") or str(current)).strip()
        if not raw.isdigit():
            raise InvalidInput(_("Quantities are whole numbers from 0 to 999."), field="addons")
        addons[addon_id] = int(raw)
    return changes.ChangeRequest(
        plan_id=form.plan_id.data, addons=addons,
        coupon_code=(form.coupon_code.data or "").strip() or None, timing=form.timing.data)


def _change_page(subscription_id, offer, form, *, draft=None, error=None, status=200):
    if draft is not None:
        form.fingerprint.data = draft.fingerprint()
    view = subscriptions.subscription_view(db.session, subscription_id=subscription_id,
                                           at=moment())
    use_customer_locale(view.customer.locale)
    context = {"view": view, "detail": view.detail, "as_admin": True, "options": offer,
               "form": form, "draft": draft, "error": error,
               "quantities": {k[6:]: v for k, v in request.form.items()
                              if k.startswith("addon-")}}
    partial = "subscription_change_preview" if request.method == "POST" else None
    return render_page("admin/subscriptions/change.html", partial, status=status, **context)


@bp.get("/subscriptions/<int:subscription_id>/change")
@admin_required
def change(subscription_id: int):
    """Change plan, addons or coupon: the form."""
    offer, form = _change_setup(subscription_id)
    return _change_page(subscription_id, offer, form)


@bp.post("/subscriptions/<int:subscription_id>/change/preview")
@admin_required
def preview(subscription_id: int):
    """The exact proration, from the function that writes the invoice."""
    offer, form = _change_setup(subscription_id)
    form.validate_on_submit()
    try:
        draft = subscriptions.draft_change(db.session, subscription_id=subscription_id,
                                           request=_change_request(form, offer),
                                           at=moment())
    except InvalidInput as exc:
        return _change_page(subscription_id, offer, form, error=exc, status=422)
    return _change_page(subscription_id, offer, form, draft=draft)


@bp.post("/subscriptions/<int:subscription_id>/change")
@admin_required
def confirm_change(subscription_id: int):
    """Make the previewed change; refused if its figures moved since the preview."""
    offer, form = _change_setup(subscription_id)
    if not form.validate_on_submit():
        return _change_page(subscription_id, offer, form, status=422)
    try:
        made = subscriptions.confirm_change(
            db.session, actor=actor(), subscription_id=subscription_id,
            request=_change_request(form, offer), fingerprint=form.fingerprint.data or "",
            at=moment())
    except InvalidInput as exc:
        return _change_page(subscription_id, offer, form, error=exc, status=422)
    if made.payment_id is not None:
        defer(db.session, CHARGE_PAYMENT, made.payment_id)
    commit_and_dispatch()
    return finish(url_for(".detail", subscription_id=subscription_id),
                  _("The change is scheduled for the end of the term.") if made.scheduled else
                  dated(N_("The subscription was changed; it is billed from %(on)s, when the "
                           "trial ends."), on=made.subscription.trial_end)
                  if made.subscription.status == "trial" else
                  dated(N_("The subscription was changed. Invoice %(number)s was issued."),
                        number=made.invoice.number) if made.invoice else
                  _("The subscription was changed."))
