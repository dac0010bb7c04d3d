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
- Templates: `install_jinja(env)` gives an environment's `{{ _("...") }}` the same language
  (the mail and PDF environments, and the app's, so a `use_locale` block wins there too).

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
from jinja2 import pass_context
from markupsafe import escape

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


def msgid_of(text: str | LazyProxy) -> str:
    """The message id of a lazy `_("...")` without values (to store it, and translate it when
    shown in its reader's language); any other text as it reads now."""
    if isinstance(text, LazyProxy) and text._func is gettext_now and not text._kwargs:
        return text._args[0]
    return str(text)


@pass_context
def template_gettext(context, msgid: str) -> str:
    """A template's `_(text)`: a literal msgid, or a label a service handed over (an `N_`
    constant, or a lazy `_` text, already in the active language and written as text: its
    values may be data); "" and None as they are."""
    if not msgid:
        return msgid
    if not isinstance(msgid, str):  # a lazy text (LazyProxy): translated when made str
        text = str(msgid)
        if context.eval_ctx.autoescape:
            text = escape(text)
        return text.replace("%", "%%")  # Jinja applies % to what gettext returns
    return current_translations().ugettext(msgid)


def template_ngettext(singular: str, plural: str, num: int) -> str:
    return current_translations().ungettext(singular, plural, num)


def template_pgettext(context: str, msgid: str) -> str:
    """`pgettext("subscription", "Cancel")`: one English word with two meanings, each its own
    entry in the catalogs."""
    return current_translations().upgettext(context, msgid)


def install_jinja(env) -> None:
    """A Jinja environment's `_`, `gettext` and `ngettext` (newstyle: named placeholders,
    values escaped where the template autoescapes) in the language active when it renders:
    `use_locale`'s in a worker's mail or PDF, else the provider's (the request's), else
    English. Jinja fills in the values itself."""
    if "jinja2.ext.InternationalizationExtension" not in env.extensions:
        env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(template_gettext, template_ngettext, newstyle=True,
                                  pgettext=template_pgettext)
