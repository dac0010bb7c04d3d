"""The admin preferences page: labels, validation, saving with an audit trail, history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from sqlalchemy import func
from sqlmodel import Session, select

from webapp.models import Coupon, Organization, Preferences, User
from webapp.services.core import audit, places, text
from webapp.services.core.errors import InvalidInput, NotFound
from webapp.services.core.i18n import _, ngettext
from webapp.services.core.money import SUPPORTED_CURRENCIES
from webapp.services.core.preferences.permissions import ORGANIZATION_ID, load

__all__ = [
    "LABELS", "PREFERENCE_FIELDS", "ORGANIZATION_FIELDS", "SWITCHES", "EDIT_TIMINGS",
    "CANCEL_TIMINGS", "PRORATIONS", "DUNNING_FINAL_ACTIONS", "OVERDUE_ACTIONS", "TWO_FACTOR_POLICIES", "InvalidChanges", "Change", "UpdateResult",
    "HistoryEntry", "SettingsView", "parse_percent", "format_percent", "format_value",
    "current_values", "update", "history", "settings_view", "seed_demo_preferences",
]

EDIT_TIMINGS = {"immediately": _("Immediately"), "end_of_term": _("At the end of the term"),
                "customer_choice": _("Customer's choice")}
PRORATIONS = {"prorate": _("Prorate: charge the days left at the new price, credit the old"),
              "no_proration_upgrade_now": _("No proration: the change takes effect at once, the "
                                          "new price from the next term, nothing charged now"),
              "end_of_term_only": _("Only at the end of the term: changes are scheduled for "
                                  "the term's end")}
CANCEL_TIMINGS = {"immediately": _("Immediately"), "end_of_term": _("At the end of the term"),
                  "both": _("Customer's choice of either")}
DUNNING_FINAL_ACTIONS = {"unpaid": _("Mark the subscription unpaid"),
                         "cancelled": _("Cancel the subscription")}
OVERDUE_ACTIONS = {"nothing": _("Nothing: keep renewing and reminding"),
                   "unpaid": _("Mark the subscription unpaid"),
                   "cancelled": _("Cancel the subscription")}
TWO_FACTOR_POLICIES = {"off": _("Off: nobody uses a second factor"),
                       "optional": _("Optional: each person chooses"),
                       "admins": _("Required for admins, optional for customers"),
                       "everyone": _("Required for everyone")}
_CHOICES = {"edit_timing": EDIT_TIMINGS, "proration": PRORATIONS,
            "cancel_timing": CANCEL_TIMINGS,
            "dunning_final_action": DUNNING_FINAL_ACTIONS, "overdue_action": OVERDUE_ACTIONS,
            "two_factor_policy": TWO_FACTOR_POLICIES}

LABELS: dict[str, str] = {
    "module_subscriptions": _("Subscriptions"), "module_invoices": _("Invoices"),
    "module_payments": _("Payments made"), "module_statements": _("Statements"),
    "module_payment_methods": _("Payment methods"), "module_profile": _("Profile"),
    "module_estimates": _("Estimates"), "module_projects": _("Projects"),
    "module_timesheets": _("Timesheets"),
    "trial_activate": _("Customers may activate a trial now"),
    "trial_extend": _("Customers may extend an expired trial"),
    "trial_max_extensions": _("Most trial extensions per subscription"),
    "trial_cancel": _("Customers may cancel a trial"),
    "edit_subscription": _("Customers may edit their subscriptions"),
    "edit_change_plan": _("They may change the plan"),
    "edit_change_addons": _("They may change addons"),
    "edit_change_coupons": _("They may change coupons"),
    "edit_timing": _("Changes take effect"),
    "proration": _("Billing a change"),
    "autocharge_toggle": _("Customers may turn auto-charge on and off"),
    "pause_resume": _("Customers may pause and resume subscriptions"),
    "pause_max_days": _("Longest pause (days)"),
    "cancel_subscription": _("Customers may cancel subscriptions"),
    "cancel_timing": _("Cancellations take effect"),
    "cancel_credit_unused": _("Credit unused time on immediate cancellation"),
    "cancellation_reasons": _("Cancellation reasons"),
    "retention_coupon_code": _("Retention offer coupon code"),
    "retention_offer_text": _("Retention offer text"),
    "reactivation": _("Customers may reactivate cancelled or expired subscriptions"),
    "forward_documents": _("Customers may forward documents"),
    "forward_max_recipients_per_hour": _("Most forwarding recipients per hour"),
    "update_customer_details": _("Customers may update their details"),
    "reviews": _("Customers may write reviews"),
    "add_payment_methods": _("Customers may add payment methods"),
    "partial_payments": _("Customers may pay part of an invoice"),
    "notify_organization": _("Email the organization about portal activity"),
    "email_customer_on_reply": _("Email the customer when an admin replies"),
    "dunning_retry_days": _("Retry a failed charge after (days)"),
    "dunning_final_action": _("When retries run out"),
    "reminder_trial_ending_days": _("Trial ending reminder (days before)"),
    "reminder_renewal_days": _("Upcoming renewal reminder (days before)"),
    "overdue_reminder_days": _("Remind about an unpaid invoice (days past due)"),
    "overdue_action": _("When an invoice stays unpaid"),
    "overdue_action_days": _("Act this many days past due"),
    "portal_auto_enable": _("Enable the portal for new customers automatically"),
    "session_lifetime_days": _("A sign-in lasts at most (days)"),
    "session_idle_days": _("Sign out after this long without use (days)"),
    "two_factor_policy": _("Two-factor sign-in"),
    "two_factor_new_device_email": _("Email people when their account is signed in to from a "
                                   "new browser"),
    "portal_name": _("Portal name"), "banner_text": _("Banner text"),
    "name": _("Organization name"), "legal_name": _("Legal name"), "address": _("Address"),
    "email": _("Contact email"), "tax_id": _("Tax number"),
    "payment_instructions": _("Payment instructions"),
    "phone": _("Phone"), "timezone": _("Timezone"), "locale": _("Locale"),
    "base_currency": _("Base currency"), "tax_name": _("Tax name"), "tax_rate_bp": _("Tax rate (%)"),
    "country": _("Country"), "tax_inclusive": _("Prices include tax"),
}
ORGANIZATION_FIELDS: tuple[str, ...] = (
    "portal_name", "banner_text", "name", "legal_name", "address", "email", "phone", "timezone",
    "locale", "base_currency", "tax_name", "tax_rate_bp", "tax_id", "payment_instructions",
    "country", "tax_inclusive")
PREFERENCE_FIELDS: tuple[str, ...] = tuple(f for f in LABELS if f not in ORGANIZATION_FIELDS)
# Every on/off switch; the demo organization turns them all on.
SWITCHES: tuple[str, ...] = tuple(
    f for f in PREFERENCE_FIELDS if Preferences.model_fields[f].annotation in (bool, "bool"))

_INT_RANGES = {"trial_max_extensions": (0, 5), "pause_max_days": (1, 365),
               "forward_max_recipients_per_hour": (1, 1000),
               "reminder_trial_ending_days": (1, 60), "reminder_renewal_days": (1, 60),
               "session_lifetime_days": (1, 365), "session_idle_days": (1, 90),
               "overdue_action_days": (1, 365)}
_MAX_LENGTHS = {"retention_offer_text": 500, "portal_name": 200, "banner_text": 500,
                "name": 200, "legal_name": 200, "address": 1000, "email": 254, "phone": 50,
                "tax_name": 50, "tax_id": 50, "payment_instructions": 1000}
_REQUIRED = ("portal_name", "name", "email")
_OPTIONAL = ("retention_coupon_code", "tax_name", "tax_rate_bp")  # blank means none


class InvalidChanges(InvalidInput):
    """Several fields may be wrong at once; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = errors


def parse_percent(text: str) -> int | None:
    """A typed percentage ("20", "7.5") as basis points (2000, 750); blank is None."""
    cleaned = (text or "").strip().rstrip("%").strip()
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise InvalidInput(_("Enter a percentage such as 20 or 7.5."),
                           field="tax_rate_bp") from exc
    if value.is_finite() and value.copy_abs() > 1_000_000:  # far past any rate; no overflow
        raise InvalidInput(_("Enter a percentage such as 20 or 7.5."), field="tax_rate_bp")
    basis_points = value.scaleb(2)
    if not value.is_finite() or basis_points != basis_points.to_integral_value():
        raise InvalidInput(_("Use at most two decimal places."), field="tax_rate_bp")
    return int(basis_points)


def format_percent(basis_points: int | None) -> str:
    """Basis points as the percentage an admin types (750 -> "7.5"); None is empty."""
    if basis_points is None:
        return ""
    return f"{Decimal(basis_points).scaleb(-2).normalize():f}"


def format_value(field: str, value) -> str:
    """A stored value as the admin page and the audit history show it."""
    if value is None or value == "" or value == []:
        return _("(none)")
    if isinstance(value, bool):
        return _("on") if value else _("off")
    if field in _CHOICES:
        return _CHOICES[field].get(value, str(value))
    if field == "tax_rate_bp":
        return f"{format_percent(value)}%"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    old: object
    new: object
    old_text: str
    new_text: str


def _change(field: str, old, new) -> Change:
    return Change(field, LABELS.get(field, field), old, new,
                  format_value(field, old), format_value(field, new))


@dataclass(frozen=True)
class UpdateResult:
    changes: tuple[Change, ...]
    preferences: Preferences
    organization: Organization

    @property
    def summary(self) -> str:
        """What changed, in one sentence for the flash message."""
        if not self.changes:
            return _("Nothing changed.")
        return _("Saved: %(changes)s.", changes="; ".join(
            f"{c.label}: {c.old_text} → {c.new_text}" for c in self.changes))


def current_values(prefs: Preferences, org: Organization) -> dict:
    """Every field the admin page edits, keyed by field name, as stored now."""
    values = {f: getattr(prefs, f) for f in PREFERENCE_FIELDS}
    values.update({f: getattr(org, f) for f in ORGANIZATION_FIELDS})
    return values


def _normalize(changes: Mapping) -> dict:
    unknown = set(changes) - set(LABELS)
    if unknown:
        raise ValueError(f"not a preference: {sorted(unknown)}")
    values = {k: v.strip() if isinstance(v, str) else v for k, v in changes.items()}
    for field in _OPTIONAL:
        if values.get(field, None) == "":
            values[field] = None
    if isinstance(values.get("locale"), str):
        values["locale"] = values["locale"].replace("-", "_")
    if isinstance(values.get("tax_id"), str):
        values["tax_id"] = text.tax_id(values["tax_id"])
    if isinstance(values.get("country"), str):
        values["country"] = values["country"].upper()
    if isinstance(values.get("base_currency"), str):
        values["base_currency"] = values["base_currency"].upper()
    if isinstance(values.get("cancellation_reasons"), list | tuple):
        values["cancellation_reasons"] = [
            r.strip() for r in values["cancellation_reasons"] if r and r.strip()]
    for field in ("dunning_retry_days", "overdue_reminder_days"):
        if isinstance(values.get(field), tuple):
            values[field] = list(values[field])
    return values


def _retry_days_error(days) -> str | None:
    if not isinstance(days, list) or not days:
        return _("Enter at least one retry day, such as 1, 3, 7.")
    if any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in days):
        return _("Retry days are whole numbers of days, 1 or more.")
    if any(b <= a for a, b in zip(days, days[1:], strict=False)):
        return _("List the retry days in ascending order, each later than the one before.")
    if len(days) > 10 or days[-1] > 365:
        return _("Use at most 10 retries, all within 365 days.")
    return None


def _overdue_days_error(days) -> str | None:
    """Days past due, ascending; none at all sends no reminders."""
    if not isinstance(days, list):
        return _("Enter days past due such as 1, 7, 14, or leave it empty for no reminders.")
    if any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in days):
        return _("Reminder days are whole numbers of days, 1 or more.")
    if any(b <= a for a, b in zip(days, days[1:], strict=False)):
        return _("List the reminder days in ascending order, each later than the one before.")
    if len(days) > 10 or (days and days[-1] > 365):
        return _("Use at most 10 reminders, all within 365 days.")
    return None


def _reasons_error(reasons) -> str | None:
    if not isinstance(reasons, list) or not reasons:
        return _("List at least one reason, one per line.")
    if len(reasons) > 20 or any(len(r) > 100 for r in reasons):
        return _("Use at most 20 reasons of up to 100 characters each.")
    if len({r.casefold() for r in reasons}) != len(reasons):
        return _("Each reason may appear only once.")
    return None


def _locale_error(value) -> str | None:
    try:
        Locale.parse(value)
    except (UnknownLocaleError, ValueError, TypeError):
        return _("Enter a locale such as en_GB or de_DE.")
    return None


def _timezone_error(value) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return _("Enter a timezone such as Europe/London or America/New_York.")
    return None


def _active_coupon_code(session: Session, code: str) -> str | None:
    return session.exec(select(Coupon.code).where(
        func.lower(Coupon.code) == code.lower(), Coupon.status == "active")).first()


def _errors(session: Session, values: dict, changed: Mapping) -> dict[str, str]:
    """Every rule over the values as they would be saved; field -> message."""
    errors: dict[str, str] = {}
    for field in SWITCHES:
        if not isinstance(values[field], bool):
            errors[field] = _("Choose on or off.")
    for field, (low, high) in _INT_RANGES.items():
        value = values[field]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[field] = _("Enter a whole number from %(low)d to %(high)d.", low=low,
                              high=high)
    for field, choices in _CHOICES.items():
        if values[field] not in choices:
            errors[field] = _("Choose one of the options.")
    for field, limit in _MAX_LENGTHS.items():
        if values[field] is not None and len(values[field]) > limit:
            errors[field] = ngettext("Use at most %(num)d character.",
                                     "Use at most %(num)d characters.", limit)
    for field in _REQUIRED:
        if not values[field]:
            errors[field] = _("This is required.")
    if values["email"] and "@" not in values["email"]:
        errors["email"] = _("Enter an email address such as billing@example.com.")
    rules = {"dunning_retry_days": _retry_days_error(values["dunning_retry_days"]),
             "overdue_reminder_days": _overdue_days_error(values["overdue_reminder_days"]),
             "cancellation_reasons": _reasons_error(values["cancellation_reasons"]),
             "locale": _locale_error(values["locale"]),
             "timezone": _timezone_error(values["timezone"])}
    errors.update({f: message for f, message in rules.items() if message})
    if values["base_currency"] not in SUPPORTED_CURRENCIES:
        errors["base_currency"] = _("Choose one of the supported currencies.")
    errors.update(_tax_errors(values["tax_name"], values["tax_rate_bp"]))
    if "tax_id" not in errors and (message := text.tax_id_error(values["tax_id"])):
        errors["tax_id"] = message
    errors.update(_place_errors(values, errors))
    if not isinstance(values["tax_inclusive"], bool):
        errors["tax_inclusive"] = _("Choose on or off.")
    errors.update(_retention_errors(session, values, changed))
    return errors


def _place_errors(values: dict, errors: dict) -> dict[str, str]:
    """The country is an ISO 3166-1 code; in the EU, the tax number is a VAT number of it
    (format and check digits: the reverse charge depends on it)."""
    try:
        places.clean_country(values["country"])
    except ValueError as exc:
        return {"country": str(exc)}
    if values["country"] in places.EU_COUNTRIES and values["tax_id"] and "tax_id" not in errors:
        try:
            places.clean_vat_number(values["tax_id"], values["country"])
        except ValueError as exc:
            return {"tax_id": str(exc)}
    return {}


def _tax_errors(name, rate) -> dict[str, str]:
    if rate is not None and (not isinstance(rate, int) or not 0 <= rate <= 10_000):
        return {"tax_rate_bp": _("Enter a rate from 0 to 100 %.")}
    if name and rate is None:
        return {"tax_rate_bp": _("Enter the tax rate, or clear the tax name.")}
    if rate is not None and not name:
        return {"tax_name": _("Name the tax (for example VAT), or clear the rate.")}
    return {}


def _retention_errors(session: Session, values: dict, changed: Mapping) -> dict[str, str]:
    code, text = values["retention_coupon_code"], values["retention_offer_text"]
    if code and "retention_coupon_code" in changed and not _active_coupon_code(session, code):
        return {"retention_coupon_code": _("No active coupon has this code.")}
    if code and not text:
        return {"retention_offer_text": _("Describe the offer customers will see.")}
    if text and not code:
        return {"retention_coupon_code": _("Choose the coupon the offer gives, or clear the text.")}
    return {}


def _actor_label(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id is not None else None
    return user.email if user else "system"


def update(session: Session, *, actor_user_id: int | None, changes: Mapping,
           now: datetime) -> UpdateResult:
    """Save the admin page: validate every field, change nothing on error, audit each change."""
    org = session.get(Organization, ORGANIZATION_ID)
    if org is None:
        raise NotFound(_("The organization has not been set up."))
    prefs = load(session)
    current = current_values(prefs, org)
    values = {**current, **_normalize(changes)}
    changed = {f: values[f] for f in values if values[f] != current[f]}
    errors = _errors(session, values, changed)
    if errors:
        raise InvalidChanges(errors)
    if "retention_coupon_code" in changed and changed["retention_coupon_code"]:
        changed["retention_coupon_code"] = _active_coupon_code(
            session, changed["retention_coupon_code"])
    label = _actor_label(session, actor_user_id)
    for subject, row, fields in (("preferences", prefs, PREFERENCE_FIELDS),
                                 ("organization", org, ORGANIZATION_FIELDS)):
        after = {f: changed[f] for f in fields if f in changed}
        if not after:
            continue
        before = {f: current[f] for f in after}
        for field, value in after.items():
            setattr(row, field, value)
        if subject == "preferences":
            prefs.updated_at = now
        session.add(row)
        audit.record(session, actor_user_id=actor_user_id, actor_label=label,
                     action=f"{subject}.update", subject_type=subject,
                     subject_id=ORGANIZATION_ID, before=before, after=after, now=now)
    session.flush()
    return UpdateResult(tuple(_change(f, current[f], changed[f]) for f in changed), prefs, org)


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    changes: tuple[Change, ...]


def history(session: Session, *, limit: int = 10) -> list[HistoryEntry]:
    """The latest changes to preferences and the organization's details, newest first."""
    entries = audit.recent(session, subject_type=("preferences", "organization"), limit=limit)
    return [HistoryEntry(e.created_at, e.actor_label,
                         tuple(_change(f, e.before.get(f), v) for f, v in e.after.items()))
            for e in entries]


@dataclass(frozen=True)
class SettingsView:
    values: dict
    history: list[HistoryEntry]


def settings_view(session: Session, *, history_limit: int = 10) -> SettingsView:
    """What the admin preferences page shows: the current values and the recent history."""
    org = session.get(Organization, ORGANIZATION_ID)
    if org is None:
        raise NotFound(_("The organization has not been set up."))
    return SettingsView(current_values(load(session), org),
                        history(session, limit=history_limit))


def seed_demo_preferences(session: Session, *, now: datetime) -> Preferences:
    """The demo organization turns every switch on (once; later admin edits are kept), but
    the mail about sign-ins from a new browser: every first demo login would send one."""
    prefs = session.get(Preferences, ORGANIZATION_ID)
    if prefs is None:
        prefs = Preferences(organization_id=ORGANIZATION_ID, updated_at=now,
                            **{**dict.fromkeys(SWITCHES, True),
                               "two_factor_new_device_email": False})
        session.add(prefs)
        session.flush()
    return prefs
