"""The words in the reader's language, without Flask: services, mail and PDFs mark their
texts here, and the text is translated when it is written out.

- `_("Not found.")`, `_("Pay %(amount)s", amount=...)` and `ngettext(singular, plural, n)`
  return a lazy string: it is translated when turned into `str` (by a template, a log line or
  `str(error)`), in the language active at that moment, then formatted with its parameters.
- `N_("Trial")` only marks a text for extraction and returns it unchanged (a constant that is
  translated where it is shown: `gettext(label)`).
- The language: `use_locale("de_DE")` for a block (workers writing a customer's mail or PDF),
  else the provider the web layer registered (`set_provider`: Flask-Babel's translations for
  the request), else English.

The catalogs live in webapp/translations/<lang>/LC_MESSAGES/messages.{po,mo}
(`make translations`, README "Languages").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.support import LazyProxy, NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "translations"

_active: ContextVar[NullTranslations | None] = ContextVar("portal_translations", default=None)
_provider: Callable[[], NullTranslations] | None = None


@lru_cache(maxsize=32)
def translations_for(locale: str | None) -> NullTranslations:
    """The compiled catalog for a locale ("de_DE" falls back to "de", "en_XA" is its own);
    English when none."""
    if not locale:
        return NullTranslations()
    # As written, not Locale.parse'd: Babel knows no pseudo-locale ("en_XA").
    return Translations.load(str(TRANSLATIONS_DIR), [locale.replace("-", "_")])


def set_provider(provider: Callable[[], NullTranslations] | None) -> None:
    """Where the translations come from outside `use_locale` (the web layer: the request's)."""
    global _provider
    _provider = provider


def current_translations() -> NullTranslations:
    active = _active.get()
    if active is not None:
        return active
    if _provider is not None:
        try:
            return _provider()
        except RuntimeError:  # outside a request: the provider has nothing to say
            pass
    return NullTranslations()


@contextmanager
def use_locale(locale: str | None) -> Iterator[None]:
    """Write in this locale's language inside the block (a worker's mail or PDF)."""
    token = _active.set(translations_for(locale))
    try:
        yield
    finally:
        _active.reset(token)


def gettext_now(msgid: str, **params: object) -> str:
    text = current_translations().ugettext(msgid)
    return text % params if params else text


def ngettext_now(singular: str, plural: str, num: int, **params: object) -> str:
    text = current_translations().ungettext(singular, plural, num)
    return text % {"num": num, **params}


def _(msgid: str, **params: object) -> LazyProxy:
    return LazyProxy(gettext_now, msgid, enable_cache=False, **params)


gettext = _


def ngettext(singular: str, plural: str, num: int, **params: object) -> LazyProxy:
    return LazyProxy(ngettext_now, singular, plural, num, enable_cache=False, **params)


def N_(msgid: str) -> str:  # noqa: N802  the gettext convention's name
    return msgid
