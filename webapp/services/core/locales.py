"""Which locale a customer's dates and amounts are written in: their own, or the organization's.

A customer may choose one of SUPPORTED_LOCALES (None: the organization's). Every layer that
writes for that customer (their pages, the PDFs of their documents, the mail sent to them,
the admin's pages about one of their documents) asks `for_customer` once and formats with
Babel in the answer; nothing else stores formatted text.
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

from webapp.services.core import languages
from webapp.services.core.dates import DEFAULT_LOCALE
from webapp.services.core.i18n import _

# What the customer and the admin may choose, in the order the select offers them.
SUPPORTED_LOCALES: tuple[str, ...] = (
    "en_US", "en_GB", "en_AU", "en_CA", "de_DE", "fr_FR", "es_ES", "nl_NL", "it_IT",
)
SAME_AS_ORGANIZATION = ""  # the select's value for None


def offered() -> tuple[str, ...]:
    """SUPPORTED_LOCALES, then the pseudo-locales whose catalogs are compiled (languages.py:
    they test the layout, with dates and amounts written as the language they stand in for)."""
    return SUPPORTED_LOCALES + tuple(code for code in languages.available()
                                     if languages.is_pseudo(code))


def for_customer(customer_locale: str | None, org_locale: str | None) -> str:
    """The locale a customer's dates and amounts are written in: their own when set, else
    the organization's, else DEFAULT_LOCALE (a pseudo-locale: the language it stands in for)."""
    return languages.formatting_locale(customer_locale or org_locale or DEFAULT_LOCALE)


def label(locale: str) -> str:
    """How a locale is offered in a select: its name in its own language ("Deutsch
    (Deutschland)"), with its code."""
    if languages.is_pseudo(locale):  # Babel knows no name for it
        return f"{languages.NAMES[locale]} ({locale})"
    return f"{Locale.parse(locale).get_display_name(locale)} ({locale})"


def choices(org_locale: str | None) -> list[tuple[str, str]]:
    """(value, label) for a select: "Same as the organization" first, then the supported."""
    same = _("Same as the organization (%(locale)s)", locale=org_locale or DEFAULT_LOCALE)
    return [(SAME_AS_ORGANIZATION, same), *((code, label(code)) for code in offered())]


def parse_choice(value: str | None) -> str | None:
    """A chosen locale as stored (None for the organization's). Raises ValueError with a
    message for the field when Babel does not know it or it is not one the portal offers."""
    if value is None or value.strip() == SAME_AS_ORGANIZATION:
        return None
    value = value.strip()
    if languages.is_pseudo(value) and value in offered():
        return value
    try:
        parsed = Locale.parse(value)
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise ValueError(_("Choose one of the languages and regions offered.")) from exc
    if str(parsed) not in SUPPORTED_LOCALES:
        raise ValueError(_("Choose one of the languages and regions offered."))
    return str(parsed)
