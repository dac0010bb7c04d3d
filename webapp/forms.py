"""Form pieces shared by several blueprints, and the base of every form: the input filter.

Every form in the portal derives from `FlaskForm` here (Flask-WTF's, plus the rules of
webapp/services/core/text.py on every field it binds), so what a person types is checked once,
centrally, and a refusal is a message next to the field with the form's usual 422:
- text fields: line breaks become LF; control characters are refused (tab and LF are allowed
  in textareas); single-line fields are NFC with no bidi controls and something visible;
- dates lie in the sane range (services.text.DATE_MIN … DATE_MAX);
- whole numbers, and choices coerced to int, fit the database's integer column;
- amounts (`MoneyField`) are at most MONEY_INPUT_MAX whole units of any currency (config).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation

import flask_wtf
import flask_wtf.i18n
import wtforms
from flask import current_app
from flask_babel import gettext as _
from wtforms import (
    DateField,
    DateTimeField,
    Field,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectFieldBase,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from webapp.context import current_org, say
from webapp.lazy_text import lazy_gettext as _l
from webapp.services.accounts.auth import MIN_PASSWORD_LENGTH
from webapp.services.billing.gateway import CardDetails
from webapp.services.core import locales, text
from webapp.services.core.errors import InvalidInput


def _text_rule(field) -> Callable[[str], str] | None:
    if isinstance(field, TextAreaField):
        return text.multi_line
    if isinstance(field, PasswordField):
        return text.secret
    if isinstance(field, StringField):
        return text.single_line
    return None


def _checked_text(rule: Callable[[str], str]):
    def check(_form, field) -> None:
        if isinstance(field.data, str) and field.data:
            try:
                field.data = rule(field.data)
            except text.TextRefused as refused:
                raise StopValidation(refused.message) from None
    return check


def _date_in_range(_form, field) -> None:
    value = field.data.date() if hasattr(field.data, "date") else field.data
    if value is not None and not text.date_in_range(value):
        raise StopValidation(text.DATE_RANGE_MESSAGE)


def _number_in_range(_form, field) -> None:
    values = field.data if isinstance(field.data, list | tuple) else [field.data]
    if any(isinstance(v, int) and abs(v) > text.MAX_ID for v in values):
        raise StopValidation(_("Enter a smaller number."))


def filter_field(field) -> None:
    """Put the input filter first on a bound field (its own validators follow)."""
    rule = _text_rule(field)
    if rule is not None:
        check = _checked_text(rule)
    elif isinstance(field, DateField | DateTimeField):
        check = _date_in_range
    elif isinstance(field, IntegerField | SelectFieldBase):
        check = _number_in_range
    else:
        return
    field.validators = [check, *field.validators]


def _amount_in_range(_form, field) -> None:
    """Only the size is checked here; the service parses the amount in its currency."""
    limit = current_app.config["MONEY_INPUT_MAX"]
    try:
        value = Decimal((field.data or "").strip().replace(",", ""))
    except InvalidOperation:
        return
    if value.is_finite() and value.copy_abs() > limit:
        raise StopValidation(_("Enter an amount of at most %(limit)s.", limit=format(limit, ",")))


class MoneyField(StringField):
    """A typed amount ("12.50"): text the service parses, bounded by MONEY_INPUT_MAX."""

    def __init__(self, label=None, validators=None, **kwargs) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, [*(validators or []), _amount_in_range], **kwargs)


class _FilteredMeta:
    def bind_field(self, form, unbound_field, options):
        field = super().bind_field(form, unbound_field, options)
        filter_field(field)
        return field


# Where `show` puts a message about a field the form does not have (`unplaced_errors`).
ABOVE_FORM = "above the form"  # `form.form_errors` (and `form.extra_errors` by name)
RAISE = "raise"  # the error is raised again: the error page (webapp/errors.py) answers


def _fields(form) -> Iterator[Field]:
    """Every field, those inside FieldLists and FormFields too (named "lines-0-quantity")."""
    for item in form:
        if isinstance(item, FieldList):
            for entry in item:
                yield from (_fields(entry.form) if isinstance(entry, FormField) else [entry])
        elif isinstance(item, FormField):
            yield from _fields(item.form)
        else:
            yield item


class ShowsErrors:
    """`show(error)`: a service's refusal next to the field it is about.

    A form says where a message about a field it does not have goes: `unplaced_errors` is
    one of its fields' names, ABOVE_FORM (the default) or RAISE; `error_fields` maps a
    service's field name to the form's where they differ (``{"tax_rate_bp": "tax_rate"}``).
    """

    unplaced_errors: str = ABOVE_FORM
    error_fields: dict[str, str] = {}

    def show(self, error: InvalidInput) -> None:
        """Show the error's message (or each of its `errors` by field) next to its field; one
        naming a date or an amount (a `Dated`) is written in the request's locale."""
        messages = {name: say(message) for name, message in (
            getattr(error, "errors", None) or {error.field or "": error.message}).items()}
        by_name = {field.name: field for field in _fields(self)} | dict(self._fields)
        self.extra_errors = getattr(self, "extra_errors", {})
        for name, message in messages.items():
            field = by_name.get(self.error_fields.get(name, name)) \
                or by_name.get(self.unplaced_errors)
            if field is not None:
                field.errors = [*field.errors, message]
            elif self.unplaced_errors == RAISE:
                raise error
            else:
                self.form_errors.append(message)
                self.extra_errors[name] = message


class FlaskForm(ShowsErrors, flask_wtf.FlaskForm):
    """The base of every form in the portal (a test checks that none is missed)."""

    class Meta(_FilteredMeta):
        pass


class Form(ShowsErrors, wtforms.Form):
    """A form inside another (a FormField's rows): no CSRF token of its own, same filter,
    and WTForms' own messages in the request's language as FlaskForm's (Flask-WTF's)."""

    class Meta(_FilteredMeta):
        def get_translations(self, form):
            if current_app.config.get("WTF_I18N_ENABLED", True):
                return flask_wtf.i18n.translations
            return super().get_translations(form)


class CardFields(FlaskForm):
    """A new card: validated for shape here, for Luhn and expiry by the gateway service."""

    unplaced_errors = "card_number"
    error_fields = {"card": "setup_intent"}

    # With Stripe: the SetupIntent Stripe.js confirmed the card into (the only card data sent).
    setup_intent = HiddenField(validators=[Optional(), Length(max=255)])
    card_number = StringField(_l("Card number"), validators=[Optional(), Length(max=23)],
                              render_kw={"inputmode": "numeric", "autocomplete": "cc-number"})
    exp_month = IntegerField(_l("Expiry month"), validators=[Optional(), NumberRange(1, 12)],
                             render_kw={"autocomplete": "cc-exp-month", "placeholder": _l("MM")})
    exp_year = IntegerField(_l("Expiry year"), validators=[Optional(), NumberRange(2000, 2100)],
                            render_kw={"autocomplete": "cc-exp-year", "placeholder": _l("YYYY")})
    cvc = StringField(_l("Security code (CVC)"), validators=[Optional(), Length(max=4)],
                      render_kw={"inputmode": "numeric", "autocomplete": "cc-csc"})

    def card(self) -> CardDetails:
        """The typed card; a missing part is reported next to its field."""
        for name in ("card_number", "exp_month", "exp_year", "cvc"):
            if getattr(self, name).data in (None, ""):
                raise InvalidInput(_("Required for a new card."), field=name)
        return CardDetails(self.card_number.data, self.exp_month.data, self.exp_year.data,
                           self.cvc.data.strip())

    def typed_card(self) -> bool:
        """Any part of a new card was typed."""
        return any(getattr(self, name).data not in (None, "")
                   for name in ("card_number", "exp_month", "exp_year", "cvc"))

    def scrub(self) -> None:
        """Never send a typed card number or CVC back to the browser."""
        self.card_number.data = self.card_number.raw_data = None
        self.cvc.data = self.cvc.raw_data = None


class NewPasswordForm(FlaskForm):
    """A new password typed twice (setting one from a link, or changing it)."""

    unplaced_errors = "new_password"

    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200,
                               message=_l("Use at least %(min)d characters."))])
    confirm_password = PasswordField(_l("Confirm new password"), validators=[DataRequired()])

    def validate_confirm_password(self, field) -> None:
        if field.data != self.new_password.data:
            raise ValidationError(_("The two new passwords do not match."))


class LocaleField(wtforms.SelectField):
    """A customer's language and region: "Same as the organization" (stored as None) or one
    of the supported locales. The service checks the choice (a message next to the field)."""

    def __init__(self, label: str | None = _l("Language and region"), validators=None,
                 **kwargs):
        org = current_org()
        super().__init__(label, validators, validate_choice=False,
                         choices=[wtforms.fields.choices.SelectChoice(value, text_)
                                  for value, text_ in locales.choices(org.locale if org
                                                                      else None)],
                         **kwargs)

    def process_data(self, value: str | None) -> None:
        """A stored None (the organization's locale) is the select's empty choice."""
        self.data = value or ""
