"""What the back office's blueprints share: who is acting, invitation links, and putting a
service's messages next to the fields they are about."""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app
from flask_login import current_user
from wtforms import Field, FieldList, FormField, SelectChoice

from webapp.forms import MoneyField
from webapp.services.admin import Actor, LinkSettings
from webapp.services.core.errors import InvalidInput
from webapp.services.core.money import SUPPORTED_CURRENCIES


def actor() -> Actor:
    """The signed-in admin, as the audit trail records them."""
    return Actor(current_user.user_id, current_user.email)


def links() -> LinkSettings:
    return LinkSettings(current_app.config["BASE_URL"], current_app.config["SECRET_KEY"])


def _fields(form) -> Iterator[Field]:
    for item in form:
        if isinstance(item, FieldList):
            for entry in item:
                yield from (_fields(entry.form) if isinstance(entry, FormField) else [entry])
        elif isinstance(item, FormField):
            yield from _fields(item.form)
        else:
            yield item


def add_errors(form, error: InvalidInput) -> None:
    """Show the service's messages next to their fields (by field name).

    Messages about inputs the form class does not declare (such as one quantity box per
    addon) are kept in `form.extra_errors` by name, and in `form.form_errors` as well.
    """
    errors = getattr(error, "errors", None) or {error.field or "": error.message}
    by_name = {f.name: f for f in _fields(form)}
    form.extra_errors = getattr(form, "extra_errors", {})
    for name, message in errors.items():
        target = by_name.get(name)
        if target is None:
            form.form_errors.append(message)
            form.extra_errors[name] = message
        else:
            target.errors = [*target.errors, message]


def money_fields(form_class, prefix: str, label: str) -> None:
    """One text field per supported currency, named `<prefix>_<CUR>` (blank: not sold in it)."""
    for currency in SUPPORTED_CURRENCIES:
        setattr(form_class, f"{prefix}_{currency}", MoneyField(f"{label} ({currency})"))


def money_values(form, prefix: str) -> dict[str, str]:
    """{currency: typed text} from the fields `money_fields` made."""
    return {c: (form[f"{prefix}_{c}"].data or "") for c in SUPPORTED_CURRENCIES}


def money_rows(form, *prefixes: str) -> list[tuple[str, list[Field]]]:
    """(currency, [its fields]) for a template's price table."""
    return [(c, [form[f"{p}_{c}"] for p in prefixes]) for c in SUPPORTED_CURRENCIES]


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]
