"""The language of a request's words (Flask-Babel's locale selector), the page's
<html lang dir>, and the footer's language switcher.

The languages, their own names and directions are services/core/languages.py's (PDFs, mail and
workers share them); this module chooses one for the request:

- a signed-in customer: the language of their own locale (customer.locale) when there is a
  catalog for it, else the organization's;
- a signed-in admin: the language of their own locale (user.locale), else the organization's;
- a visitor (before sign-in): the one chosen with the switcher (the COOKIE), else the best
  match of the browser's Accept-Language among the available languages, else the
  organization's;
- English when none of these has a catalog.

It reads only what the request has already read (the login statement's user, customer locale
and organization; a visitor's organization is read on first use, as every page does), so the
choice adds no statement. Dates and amounts follow the reader's own locale too (webapp/context.py
`current_locale`: the customer's, or the admin's, else the organization's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from babel import Locale
from babel.support import NullTranslations
from flask import Flask, Response, current_app, g, has_request_context, request
from flask_login import current_user

from webapp.context import current_locale, current_org
from webapp.services.core.i18n import translations_for
from webapp.services.core.languages import (
    ENGLISH,
    NAMES,
    PSEUDO,
    available,
    for_reader,
    html_lang,
    is_pseudo,
    text_direction,
)

__all__ = ["COOKIE", "ENGLISH", "NAMES", "available", "babel_locale", "page_dir", "page_lang",
           "remember", "switcher", "text_direction", "words_language"]

COOKIE = "portal_language"  # a visitor's choice, kept after sign-out too
COOKIE_MAX_AGE = timedelta(days=365)


def words_language() -> str:
    """The language this request's words are written in ("de", "en_XA"), chosen once."""
    if "words_language" not in g:
        g.words_language = _choose()
    return g.words_language


def _choose() -> str:
    facts = _login_facts()
    if facts is not None:
        org = facts.organization
        own = facts.user.locale if facts.user.role == "admin" else facts.customer_locale
        return for_reader(own, org.locale if org else None)
    if has_request_context():
        chosen = request.cookies.get(COOKIE)
        if chosen in available():
            return chosen
        if request.headers.get("Accept-Language"):
            g.language_from_header = True  # the answer varies by it (`_vary`)
            matched = request.accept_languages.best_match(
                [code for code in available() if not is_pseudo(code)])
            if matched:
                return matched
    org = current_org()  # a visitor's page reads it anyway (its title, its footer)
    return for_reader(None, org.locale if org else None)


def _login_facts():
    """What the login statement read with the signed-in user (None: nobody, or signed in
    during this request)."""
    if not has_request_context():
        return None
    return getattr(current_user._get_current_object(), "facts", None)


def babel_locale() -> Locale:
    """Flask-Babel's locale selector: the words' language as a Babel Locale."""
    return _babel_locale(words_language())


def request_translations() -> NullTranslations:
    """The catalog of the request's words: what Flask-Babel's `get_translations` gives for the
    locale `babel_locale` selects (the same directory), looked up once per request. Flask-Babel
    finds its context, the locale and its cache's key afresh on every call (about 10 µs),
    and a page asks for every `_()` of its templates, its sidebar and its services' texts
    (/invoices: about 230 times). Services and templates take another language for a block
    with `services.core.i18n.use_locale`, as mail and PDFs do; Flask-Babel's `force_locale`
    changes Flask-Babel's own `gettext` only. Outside an app context: no translations."""
    try:
        return g._portal_translations  # noqa: SLF001  the request's own memo
    except AttributeError:
        translations = translations_for(str(babel_locale()))
        g._portal_translations = translations  # noqa: SLF001
        return translations
    except RuntimeError:  # no app context
        return NullTranslations()


@lru_cache(maxsize=16)
def _babel_locale(language: str) -> Locale:
    if not is_pseudo(language):
        return Locale.parse(language)
    # Babel has no data for a pseudo-locale: its stand-in's data (plural forms, direction)
    # under the pseudo-locale's own name, which is the catalog's ("en_XA/LC_MESSAGES").
    locale = Locale(PSEUDO[language])
    locale.territory = language.partition("_")[2]
    return locale


def page_lang() -> str:
    """<html lang>: the words' language in BCP 47, with the region of the page's dates and
    amounts when they are in the same language ("de-DE", "en-US", "fr"; "en-XA")."""
    return html_lang(words_language(), current_locale())


def page_dir() -> str:
    """<html dir>: "rtl" for a right-to-left language, else "ltr"."""
    return text_direction(words_language())


@dataclass(frozen=True)
class Switcher:
    """The footer's language form."""

    current: str
    choices: tuple[tuple[str, str], ...]  # (language, its own name)
    next: str  # where to come back to
    sets_formatting: bool  # a customer: their choice also writes their dates and amounts


def switcher() -> Switcher | None:
    """The language form for this page; None while English is the only language."""
    offered = available()
    if len(offered) < 2:
        return None
    facts = _login_facts()
    customer = facts is not None and facts.user.role != "admin"
    return Switcher(words_language(), tuple((code, NAMES[code]) for code in offered),
                    _here(), customer)


def _here() -> str:
    """This page's address to come back to: a GET's path and query; after a form's POST (a
    page showing its errors), the page it was sent from, which the switcher's view finds in
    the Referer."""
    if request.method != "GET":
        return ""
    here = request.full_path if request.query_string else request.path
    return request.script_root + here  # the portal may be mounted under a path


def remember(response: Response, language: str) -> Response:
    """Keep a visitor's choice in the COOKIE (signed-in readers' too: the sign-in page after
    they sign out stays in their language)."""
    response.set_cookie(COOKIE, language, max_age=int(COOKIE_MAX_AGE.total_seconds()),
                        httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _vary(response: Response) -> Response:
    if g.get("language_from_header"):
        response.vary.add("Accept-Language")
    return response


def register(app: Flask) -> None:
    app.after_request(_vary)
    app.jinja_env.globals.update(page_lang=page_lang, page_dir=page_dir,
                                 language_switcher=switcher)
