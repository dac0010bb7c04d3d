"""Which languages the portal's words are written in, and which one a reader gets. No Flask:
pages, PDFs, mail and workers share these rules (the web layer's choice is webapp/languages.py).

A *language* is the code of a compiled catalog: "en" (the source, always there), "de", "fr",
"es", and the pseudo-locales "en_XA" (accented, longer) and "ar_XB" (right to left), which
exist to test the layout. A reader's *locale* ("de_DE", None for the organization's) says how
their dates and amounts are written (services/core/locales.py) and, by its language, which
words they read:

- `language_of("de_DE")` is "de" when the German catalog is compiled, else None;
- `for_reader(own, org)` is the language of the reader's own locale, else the organization's,
  else English: a customer's (customer.locale), an admin's (user.locale), a document's or a
  mail's (its customer's) — the worker writing a customer's mail asks the same question
  (`i18n.use_locale(for_reader(customer.locale, org.locale))`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, pass_context

from webapp.services.core import i18n

ENGLISH = "en"

# Every language the portal may offer, in the switcher's order, with its own name (never
# translated: a reader looks for the name of their language as they write it).
NAMES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "en_XA": "English (pseudo-accents, en-XA)",
    "ar_XB": "Arabic (pseudo-bidi, ar-XB)",
}

# A pseudo-locale has no locale data of its own (Babel does not know "en_XA"): it writes dates
# and amounts, and picks plural forms, as the language it stands in for.
PSEUDO: dict[str, str] = {"en_XA": "en", "ar_XB": "ar"}

# The locale a reader gets when they choose a language their current locale is not in (the
# switcher): the region each catalog is written for. Pseudo-locales are their own locale.
USUAL_LOCALE: dict[str, str] = {"en": "en_US", "de": "de_DE", "fr": "fr_FR", "es": "es_ES",
                                "en_XA": "en_XA", "ar_XB": "ar_XB"}

_RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur"})


def normalize(locale: str | None) -> str:
    """"de-DE", "de_de" and "de_DE" alike: "de_DE" (language lower case, region upper case)."""
    language, _, region = (locale or "").strip().replace("-", "_").partition("_")
    return f"{language.lower()}_{region.upper()}" if region else language.lower()


def available() -> tuple[str, ...]:
    """The languages with a compiled catalog (messages.mo), in NAMES' order; English always.
    Read once per catalog directory and process (`make compile-translations` comes first)."""
    return _available_in(str(i18n.TRANSLATIONS_DIR))


@lru_cache(maxsize=8)
def _available_in(directory: str) -> tuple[str, ...]:
    root = Path(directory)
    return tuple(code for code in NAMES
                 if code == ENGLISH or (root / code / "LC_MESSAGES" / "messages.mo").is_file())


def refresh() -> None:
    """Look for compiled catalogs again (a test that writes one; catalogs compiled while the
    process runs)."""
    _available_in.cache_clear()


def is_pseudo(language: str) -> bool:
    return language in PSEUDO


def language_of(locale: str | None) -> str | None:
    """The available language a locale's words are written in: the locale itself when it is
    one ("en_XA"), else its language part ("de_DE": "de"); None when there is no catalog for
    it (or no locale)."""
    if not locale:
        return None
    code = normalize(locale)
    offered = available()
    if code in offered:
        return code
    language = code.partition("_")[0]
    return language if language in offered else None


def for_reader(own_locale: str | None, org_locale: str | None) -> str:
    """The language a reader reads: their own locale's, else the organization's, else
    English."""
    return language_of(own_locale) or language_of(org_locale) or ENGLISH


def formatting_locale(locale: str) -> str:
    """The locale Babel writes dates and amounts in: a pseudo-locale's stand-in ("ar_XB":
    "ar"), any other as it is."""
    return PSEUDO.get(normalize(locale), locale)


def text_direction(locale: str | None) -> str:
    """"rtl" for a right-to-left language ("ar", "ar_XB", "he_IL"), else "ltr"."""
    return "rtl" if normalize(locale).partition("_")[0] in _RIGHT_TO_LEFT else "ltr"


def html_lang(language: str, formatting: str | None = None) -> str:
    """The BCP 47 tag of a page written in `language` (an <html lang>): with the region of
    the locale its dates and amounts are written in when that is the same language ("de" and
    "de_DE": "de-DE"; "en" and "de_DE": "en"); a pseudo-locale as it is ("en-XA")."""
    code = normalize(language)
    if "_" not in code and formatting:
        same_language, _, region = normalize(formatting).partition("_")
        if same_language == code and region:
            code = f"{code}_{region}"
    return code.replace("_", "-")


def locale_for_choice(language: str, own_locale: str | None, org_locale: str | None
                      ) -> str | None:
    """What a reader's locale becomes when they choose `language` (the switcher): unchanged
    when they already read it (an "en_GB" reader choosing English keeps their British dates);
    None (the organization's) when it is the organization's language; else the language's
    usual locale ("de": "de_DE"), which also changes how their dates and amounts are
    written."""
    if for_reader(own_locale, org_locale) == language:
        return own_locale
    if language_of(org_locale) == language:
        return None
    return USUAL_LOCALE[language]


def reader_language(context: Mapping[str, Any]) -> str:
    """The language of a document or mail rendered from `context`: its `language` when the
    renderer chose one, else its customer's (their locale, else the `locale` its dates and
    amounts are written in), else the organization's."""
    if context.get("language"):
        return context["language"]
    org = context.get("org")
    own = getattr(context.get("customer"), "locale", None) or context.get("locale")
    return for_reader(own, getattr(org, "locale", None))


@pass_context
def _document_lang(context: Mapping[str, Any]) -> str:
    return html_lang(reader_language(context), context.get("locale"))


@pass_context
def _document_dir(context: Mapping[str, Any]) -> str:
    return text_direction(reader_language(context))


def install(env: Environment) -> None:
    """{{ document_lang() }} and {{ document_dir() }} for the <html> of the PDFs' and mails'
    layouts (their environments have no request: the context says whose they are)."""
    env.globals.update(document_lang=_document_lang, document_dir=_document_dir)
