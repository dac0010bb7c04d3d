"""Texts the web layer marks in Python at import time (form labels, validator messages, the
sidebar's labels, a page's constant titles): `lazy_gettext` (imported as `_l`) translates
them when they are written out, in the request's language.

These texts are plain text, not HTML: Flask-Babel's own LazyString writes itself into a page
unescaped (`__html__`, right for a template's trusted msgid), so "Account & security" would
come out as "Account & security" where every str comes out as "Account &amp; security".
`LazyText` is escaped like any str.

A lazy text is not JSON: turn it into `str` before it is flashed or stored in the session.

Their words come from `languages.request_translations`, the request's catalog looked up once.
"""

from __future__ import annotations

from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape

from webapp.languages import request_translations


def _gettext(string: str, **variables) -> str:
    """Flask-Babel's `gettext`, in the request's words (`request_translations`)."""
    text = request_translations().ugettext(string)
    return text % variables if variables else text


gettext = _gettext  # the same, now: for what is translated many times a page (a filter's options)


def _ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """Flask-Babel's `ngettext` (`num` among the values), in the request's words."""
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
