"""What the back office's blueprints share: who is acting, invitation links, money fields.
(A service's messages go next to their fields with `form.show(error)`, webapp/forms.py.)"""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import Field, SelectChoice

from webapp.forms import MoneyField
from webapp.lazy_text import gettext as gettext_now  # the request's catalog, looked up once
from webapp.services.admin import Actor, LinkSettings
from webapp.services.core.money import SUPPORTED_CURRENCIES


def actor() -> Actor:
    """The signed-in admin, as the audit trail records them."""
    return Actor(current_user.user_id, current_user.email)


def links() -> LinkSettings:
    return LinkSettings(current_app.config["SECRET_KEY"])


def money_fields(form_class, prefix: str, label: str) -> None:
    """One text field per supported currency, named `<prefix>_<CUR>` (blank: not sold in it).
    `label` is a lazy text (`_l("Price")`), shown in the reader's language."""
    for currency in SUPPORTED_CURRENCIES:
        setattr(form_class, f"{prefix}_{currency}",
                MoneyField(_l("%(label)s (%(currency)s)", label=label, currency=currency)))


def money_values(form, prefix: str) -> dict[str, str]:
    """{currency: typed text} from the fields `money_fields` made."""
    return {c: (form[f"{prefix}_{c}"].data or "") for c in SUPPORTED_CURRENCIES}


def money_rows(form, *prefixes: str) -> list[tuple[str, list[Field]]]:
    """(currency, [its fields]) for a template's price table."""
    return [(c, [form[f"{p}_{c}"] for p in prefixes]) for c in SUPPORTED_CURRENCIES]


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices (labels that are data: names, numbers)."""
    return [SelectChoice(value, label) for value, label in pairs]


def translated(labels: dict) -> dict:
    """{value: label} whose labels are English message ids (constants marked with `N_`),
    each label in the reader's language (a filter's options, a table's status names)."""
    return {value: gettext_now(str(label)) for value, label in labels.items()}


def labelled(pairs) -> list[SelectChoice]:
    """(value, label) pairs whose labels are English message ids (constants marked with `N_`)
    as WTForms choices, each label translated when the form is shown."""
    return [SelectChoice(value, _l(str(label))) for value, label in pairs]
