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

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.support import LazyProxy, NullTranslations, Translations
from jinja2 import Environment, nodes, pass_context
from jinja2.visitor import NodeTransformer
from markupsafe import escape

TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "translations"

_active: ContextVar[NullTranslations | None] = ContextVar("portal_translations", default=None)
_provider: Callable[[], NullTranslations] | None = None
_ENGLISH = NullTranslations()  # one object: a catalog is also a key (`CatalogEnvironment`)


@lru_cache(maxsize=32)
def translations_for(locale: str | None) -> NullTranslations:
    """The compiled catalog for a locale ("de_DE" falls back to "de", "en_XA" is its own);
    English when none."""
    if not locale:
        return _ENGLISH
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
    return _ENGLISH


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


class LazyText(LazyProxy):
    """Babel's lazy text, written into HTML as escaped text: without its own `__html__`,
    `markupsafe.escape` asks the text for one, which translates it (and fails) before the
    text is translated again to be escaped."""

    def __html__(self) -> str:
        return escape(str(self))


def _(msgid: str, **params: object) -> LazyProxy:
    return LazyText(gettext_now, msgid, enable_cache=False, **params)


gettext = _


def ngettext(singular: str, plural: str, num: int, **params: object) -> LazyProxy:
    return LazyText(ngettext_now, singular, plural, num, enable_cache=False, **params)


def translated(labels: Mapping[str, LazyProxy]) -> dict[str, str]:
    """A list's labels (statuses) in the current language, each translated once for the list
    rather than once for each row as the row is written: 25 lazy texts a page, each finding
    the request's catalog again (issue 32: /invoices on SQLite). For rows shown in the
    language of the moment they are made, as a request's lists are."""
    return {key: str(label) for key, label in labels.items()}


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


_GETTEXT_NAMES = frozenset({"_", "gettext"})
_OVERLAYS_KEPT = 16  # catalogs whose compiled templates are kept (the languages, the tests')


class CatalogEnvironment:
    """A Jinja environment whose templates carry their literal words already translated.

    A template's `{{ _("Invoices") }}` cost three Jinja calls and a catalog look-up on every
    render (about 140 of them for `/invoices`: most of what issue 33 added to a page's CPU).
    Here each catalog gets its own overlay environment (its own template cache), and a
    template is compiled in it with every `_("literal")` and `gettext("literal")` replaced by
    its translation: what the newstyle gettext returns, `Markup(text) % values` where the
    template autoescapes, `text % values` where it does not. Anything else (a variable's
    label, `ngettext`, `pgettext`, `{% trans %}`) is still translated as it renders, and a
    template that assigns `_` or `gettext` itself is compiled as written.

    Mix it in before Jinja's (or Flask's) `Environment`. The catalog is the one active when a
    template is asked for (`use_locale`'s, else the request's), as the calls used."""

    catalog: NullTranslations | None = None  # set on the overlays only

    def _in_catalog(self, catalog: NullTranslations):
        overlays = self.__dict__.setdefault("_catalog_overlays", {})
        found = overlays.get(id(catalog))
        if found is None:
            if len(overlays) >= _OVERLAYS_KEPT:
                overlays.pop(next(iter(overlays)))
            overlay = self.overlay(cache_size=self.cache.capacity if self.cache else 400)
            overlay.catalog = catalog
            found = overlays[id(catalog)] = (catalog, overlay)  # the catalog kept: its id stays
        return found[1]

    def _here(self):
        return self if self.catalog is not None else self._in_catalog(current_translations())

    def get_template(self, *args, **kwargs):
        here = self._here()
        return super(CatalogEnvironment, here).get_template(*args, **kwargs)

    def select_template(self, *args, **kwargs):
        here = self._here()
        return super(CatalogEnvironment, here).select_template(*args, **kwargs)

    def _parse(self, source, name, filename):
        tree = super()._parse(source, name, filename)
        if self.catalog is None:  # `from_string` on the environment itself: translated as it renders
            return tree
        return fold_literal_words(tree, self.catalog)


def fold_literal_words(tree: nodes.Template, catalog: NullTranslations) -> nodes.Template:
    """`_("literal", name=value)` → `MarkSafeIfAutoescape("translated") % {"name": value}`,
    unless the template assigns `_` or `gettext` (then its calls are its own)."""
    if any(name.name in _GETTEXT_NAMES and name.ctx != "load"
           for name in tree.find_all(nodes.Name)):
        return tree
    return _Fold(catalog).visit(tree)


class _Fold(NodeTransformer):
    def __init__(self, catalog: NullTranslations) -> None:
        self.catalog = catalog

    def visit_Call(self, call: nodes.Call) -> nodes.Expr:  # noqa: N802  Jinja's visitor names
        call = self.generic_visit(call)  # the values' own words first
        if not (isinstance(call.node, nodes.Name) and call.node.name in _GETTEXT_NAMES
                and len(call.args) == 1 and isinstance(call.args[0], nodes.Const)
                and isinstance(call.args[0].value, str) and call.args[0].value
                and call.dyn_args is None and call.dyn_kwargs is None):
            return call
        text = self.catalog.ugettext(call.args[0].value)
        at = {"lineno": call.lineno}
        if not call.kwargs:
            try:
                text = text % {}  # "50%% off" → "50% off", as the newstyle gettext does
            except (KeyError, TypeError, ValueError):  # a placeholder without a value: as before
                return call
            return nodes.MarkSafeIfAutoescape(nodes.Const(text, **at), **at)
        values = nodes.Dict([nodes.Pair(nodes.Const(kw.key, **at), kw.value, **at)
                             for kw in call.kwargs], **at)
        return nodes.Mod(nodes.MarkSafeIfAutoescape(nodes.Const(text, **at), **at), values, **at)


class TranslatedEnvironment(CatalogEnvironment, Environment):
    """Jinja's environment with `CatalogEnvironment`'s compiled words (mail and documents)."""
