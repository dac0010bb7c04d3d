"""Texts the web layer marks in Python at import time (form labels, validator messages, the
sidebar's labels, a page's constant titles): `lazy_gettext` (imported as `_l`) translates
them when they are written out, in the request's language.

These texts are plain text, not HTML: Flask-Babel's own LazyString writes itself into a page
unescaped (`__html__`, right for a template's trusted msgid), so "Account & security" would
come out as "Account & security" where every str comes out as "Account &amp; security".
`LazyText` is escaped like any str.

A lazy text is not JSON: turn it into `str` before it is flashed or stored in the session.

`request_translations` is the request's catalog as Flask-Babel chooses it, looked up once per
request and locale: Flask-Babel's own `get_translations` finds its context, the locale and its
cache's key afresh on every call (about 10 µs), and a dashboard asks about 110 times (its
words, the sidebar's, the services' lazy texts). The services' texts and the templates' `_`
read it too (`webapp/__init__.py` hands it to services/core/i18n).
"""

from __future__ import annotations

from babel.support import NullTranslations
from flask import g
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape

_MEMO = "_portal_translations"  # g: (Flask-Babel's locale, its translations)


def request_translations() -> NullTranslations:
    """`flask_babel.get_translations()`, remembered for the request while its locale is the
    same object (`force_locale` and `refresh` give Flask-Babel another: looked up again)."""
    locale = get_locale()
    if locale is None:  # no app context: Flask-Babel's answer (no translations)
        return get_translations()
    memo = g.get(_MEMO)
    if memo is not None and memo[0] is locale:
        return memo[1]
    translations = get_translations()
    setattr(g, _MEMO, (locale, translations))
    return translations


def _gettext(string: str, **variables) -> str:
    """Flask-Babel's `gettext`, from the remembered translations."""
    text = request_translations().ugettext(string)
    return text % variables if variables else text


def _ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """Flask-Babel's `ngettext` (`num` among the values), from the remembered translations."""
    variables.setdefault("num", num)
    return request_translations().ungettext(singular, plural, num) % variables


class LazyText(LazyString):
    """A lazily translated plain text: escaped when a template writes it."""

    def __html__(self) -> Markup:
        return escape(str(self))


def lazy_gettext(string: str, **variables) -> LazyText:
    """`gettext(string, **variables)` when the text is written out."""
    return LazyText(_gettext, string, **variables)


def lazy_ngettext(singular: str, plural: str, num: int, **variables) -> LazyText:
    """`ngettext(singular, plural, num, **variables)` when the text is written out."""
    return LazyText(_ngettext, singular, plural, num, **variables)
