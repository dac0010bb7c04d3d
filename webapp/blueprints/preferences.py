"""The admin preferences page: what customers may do, and the organization's details."""

from __future__ import annotations

from flask import Blueprint, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import Email, InputRequired

from webapp.context import now
from webapp.db import db
from webapp.forms import FlaskForm
from webapp.htmx import finish, render_page
from webapp.lazy_text import lazy_gettext as _l
from webapp.login import admin_required
from webapp.services.core import preferences
from webapp.services.core.errors import InvalidInput
from webapp.services.core.money import SUPPORTED_CURRENCIES

bp = Blueprint("preferences", __name__, url_prefix="/admin/preferences")

LABELS = preferences.LABELS
WHOLE_NUMBER = _l("Enter a whole number.")

# The page's sections, in the order the product's own preferences page groups them.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (_l("Modules"), ("module_subscriptions", "module_invoices", "module_payments",
                 "module_statements", "module_payment_methods", "module_profile",
                 "module_estimates", "module_projects", "module_timesheets")),
    (_l("Trials"), ("trial_activate", "trial_extend", "trial_max_extensions", "trial_cancel")),
    (_l("Edit subscription"), ("edit_subscription", "edit_change_plan", "edit_change_addons",
                           "edit_change_coupons", "edit_timing", "proration")),
    (_l("Auto-charge"), ("autocharge_toggle",)),
    (_l("Pause & resume"), ("pause_resume", "pause_max_days")),
    (_l("Cancellation"), ("cancel_subscription", "cancel_timing", "cancel_credit_unused",
                      "cancellation_reasons", "retention_coupon_code", "retention_offer_text")),
    (_l("Reactivation"), ("reactivation",)),
    (_l("Documents"), ("forward_documents", "forward_max_recipients_per_hour")),
    (_l("Profile"), ("update_customer_details",)),
    (_l("Reviews"), ("reviews",)),
    (_l("Payments"), ("add_payment_methods", "partial_payments")),
    (_l("Notifications"), ("notify_organization", "email_customer_on_reply")),
    (_l("Dunning"), ("dunning_retry_days", "dunning_final_action")),
    (_l("Reminders"), ("reminder_trial_ending_days", "reminder_renewal_days")),
    (_l("Overdue invoices"), ("overdue_reminder_days", "overdue_action", "overdue_action_days")),
    (_l("Portal access"), ("portal_auto_enable",)),
    (_l("Sign-in sessions"), ("session_lifetime_days", "session_idle_days")),
    (_l("Two-factor sign-in"), ("two_factor_policy", "two_factor_new_device_email")),
    (_l("Portal"), ("portal_name", "banner_text")),
    (_l("Organization"), ("name", "legal_name", "address", "email", "phone", "timezone", "locale",
                      "base_currency", "country", "tax_name", "tax_rate", "tax_id",
                      "tax_inclusive", "payment_instructions")),
)
HELP = {
    "trial_max_extensions": _l("From 0 to 5."),
    "pause_max_days": _l("From 1 to 365 days."),
    "proration": _l("For changes made by customers and admins alike; each change's summary says "
                  "which applies. Only at the end of the term overrides when changes take effect."),
    "cancellation_reasons": _l("One reason per line; customers pick one when they cancel."),
    "retention_coupon_code": _l("Optional: an active coupon offered before a customer cancels."),
    "dunning_retry_days": _l("Days after the failed charge, ascending, such as 1, 3, 7."),
    "session_lifetime_days": _l("From 1 to 365 days after signing in, for customers and admins."),
    "session_idle_days": _l("From 1 to 90 days since the session was last used."),
    "two_factor_policy": _l("A code from an authenticator app after the password. Where it is "
                          "required, people set it up right after their next sign-in."),
    "overdue_reminder_days": _l("For invoices not charged automatically: days past the due date, "
                              "ascending, such as 1, 7, 14. Leave empty for no reminders."),
    "overdue_action": _l("What happens to the subscription of an invoice left unpaid, as when "
                       "dunning's retries run out."),
    "overdue_action_days": _l("From 1 to 365 days past the due date."),
    "banner_text": _l("Shown at the top of every portal page; leave empty for none."),
    "email": _l("Shown in the footer; customer messages go here."),
    "timezone": _l("Such as Europe/London or America/New_York."),
    "locale": _l("Such as en_GB, en_US or de_DE: sets how dates and amounts are written."),
    "tax_rate": _l("A percentage such as 20 or 7.5; leave both tax fields empty for no tax. "
                 "The default: the tax rates by place come first."),
    "country": _l("Where the organization is: a two-letter code such as DE (ISO 3166-1). In the "
                "EU, business customers in another EU country with a VAT number pay no VAT "
                "(reverse charge)."),
    "legal_name": _l("The registered name printed on invoices and other documents; leave empty "
                   "to print the organization name."),
    "address": _l("Printed as the seller's address on every document."),
    "tax_id": _l("Your VAT or tax number, printed on every document beside the tax name, such "
               "as GB123456789."),
    "payment_instructions": _l("How to pay by bank transfer (bank, account, reference), printed "
                             "on invoices under the \"Pay online\" link."),
}


def _choices(options: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in options.items()]


def _whole_number(field: str) -> IntegerField:
    return IntegerField(LABELS[field], validators=[InputRequired(WHOLE_NUMBER)])


def _day_list(text: str) -> list[int]:
    parts = [p for p in text.replace(",", " ").split() if p]
    if not all(p.isdigit() for p in parts):
        raise ValueError(_("Enter whole numbers separated by commas, such as 1, 3, 7."))
    return [int(p) for p in parts]


class PreferencesForm(FlaskForm):
    error_fields = {"tax_rate_bp": "tax_rate"}

    trial_max_extensions = _whole_number("trial_max_extensions")
    edit_timing = SelectField(LABELS["edit_timing"], choices=_choices(preferences.EDIT_TIMINGS))
    proration = SelectField(LABELS["proration"], choices=_choices(preferences.PRORATIONS))
    pause_max_days = _whole_number("pause_max_days")
    cancel_timing = SelectField(LABELS["cancel_timing"],
                                choices=_choices(preferences.CANCEL_TIMINGS))
    cancellation_reasons = TextAreaField(LABELS["cancellation_reasons"])
    retention_coupon_code = StringField(LABELS["retention_coupon_code"])
    retention_offer_text = TextAreaField(LABELS["retention_offer_text"])
    forward_max_recipients_per_hour = _whole_number("forward_max_recipients_per_hour")
    dunning_retry_days = StringField(LABELS["dunning_retry_days"])
    dunning_final_action = SelectField(LABELS["dunning_final_action"],
                                       choices=_choices(preferences.DUNNING_FINAL_ACTIONS))
    reminder_trial_ending_days = _whole_number("reminder_trial_ending_days")
    reminder_renewal_days = _whole_number("reminder_renewal_days")
    session_lifetime_days = _whole_number("session_lifetime_days")
    session_idle_days = _whole_number("session_idle_days")
    two_factor_policy = SelectField(LABELS["two_factor_policy"],
                                    choices=_choices(preferences.TWO_FACTOR_POLICIES))
    overdue_reminder_days = StringField(LABELS["overdue_reminder_days"])
    overdue_action = SelectField(LABELS["overdue_action"],
                                 choices=_choices(preferences.OVERDUE_ACTIONS))
    overdue_action_days = _whole_number("overdue_action_days")
    portal_name = StringField(LABELS["portal_name"])
    banner_text = TextAreaField(LABELS["banner_text"])
    name = StringField(LABELS["name"])
    legal_name = StringField(LABELS["legal_name"])
    address = TextAreaField(LABELS["address"])
    email = EmailField(LABELS["email"], validators=[
        Email(_l("Enter an email address such as billing@example.com."))])
    phone = StringField(LABELS["phone"])
    timezone = StringField(LABELS["timezone"])
    locale = StringField(LABELS["locale"])
    base_currency = SelectField(LABELS["base_currency"],
                                choices=[SelectChoice(c, c) for c in SUPPORTED_CURRENCIES])
    tax_name = StringField(LABELS["tax_name"])
    tax_rate = StringField(LABELS["tax_rate_bp"])
    tax_id = StringField(LABELS["tax_id"])
    country = StringField(LABELS["country"])
    tax_inclusive = BooleanField(LABELS["tax_inclusive"])
    payment_instructions = TextAreaField(LABELS["payment_instructions"])

    @classmethod
    def from_values(cls, values: dict) -> PreferencesForm:
        """The form filled in with the saved values (lists and the tax rate as typed text)."""
        data = {**values, "dunning_retry_days": ", ".join(map(str, values["dunning_retry_days"])),
                "overdue_reminder_days": ", ".join(map(str, values["overdue_reminder_days"])),
                "cancellation_reasons": "\n".join(values["cancellation_reasons"]),
                "tax_rate": preferences.format_percent(values["tax_rate_bp"])}
        return cls(data=data)

    def validate_dunning_retry_days(self, field) -> None:
        try:
            _day_list(field.data or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def validate_overdue_reminder_days(self, field) -> None:
        try:
            _day_list(field.data or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def validate_tax_rate(self, field) -> None:
        try:
            preferences.parse_percent(field.data)
        except InvalidInput as exc:
            raise ValidationError(exc.message) from exc

    def changes(self) -> dict:
        """Every field as the preferences service takes it."""
        values = {f: self[f].data for f in preferences.LABELS if f in self}
        values["dunning_retry_days"] = _day_list(self.dunning_retry_days.data or "")
        values["overdue_reminder_days"] = _day_list(self.overdue_reminder_days.data or "")
        values["cancellation_reasons"] = (self.cancellation_reasons.data or "").splitlines()
        values["tax_rate_bp"] = preferences.parse_percent(self.tax_rate.data)
        return values

    def groups(self):
        """(legend, fields) per section, for the template to lay out."""
        return [(legend, [self[f] for f in fields]) for legend, fields in GROUPS]


# One on/off switch per preference the service knows (FormMeta binds fields set this way).
for _switch in preferences.SWITCHES:
    setattr(PreferencesForm, _switch, BooleanField(LABELS[_switch]))


def _page(form: PreferencesForm, status: int = 200):
    history = preferences.history(db.session)
    return render_page("preferences/edit.html", status=status, form=form, history=history, help=HELP)


@bp.get("")
@admin_required
def show():
    """The preferences page, filled in with what is saved now."""
    view = preferences.settings_view(db.session)
    return _page(PreferencesForm.from_values(view.values))


@bp.post("")
@admin_required
def update():
    """Save the whole page; show what changed, or the messages next to the fields (422)."""
    form = PreferencesForm()
    if form.validate_on_submit():
        try:
            result = preferences.update(db.session, actor_user_id=current_user.user_id,
                                        changes=form.changes(), now=now())
        except preferences.InvalidChanges as exc:
            form.show(exc)
        else:
            db.session.commit()
            return finish(url_for(".show"), result.summary)
    return _page(form, 422)
