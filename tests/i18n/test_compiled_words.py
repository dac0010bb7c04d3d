"""A template's literal words are translated once, when it is compiled for a catalog
(`i18n.CatalogEnvironment`): what it renders is what the gettext calls rendered, in each
language, while labels that are data are still translated as the page renders."""

from __future__ import annotations

import pytest
from jinja2 import DictLoader, Environment, StrictUndefined, nodes

from webapp.services.core import i18n

TEMPLATES = {
    "page.html": '<h1>{{ _("Invoices") }}</h1>{% include "part.html" %}',
    "part.html": '<p>{{ _("Balance due") }}|{{ _(label) }}|{{ _("Pay %(amount)s", amount=amount) }}'
                 '|{{ _("50%% off") }}|{{ _("") }}</p>',
    "mail.txt": '{{ _("Pay %(amount)s", amount=amount) }}',
    "own_underscore.html": '{% set _ = ["x"].append("y") %}{{ gettext("Invoices") }}',
}


def _env(**options) -> i18n.TranslatedEnvironment:
    env = i18n.TranslatedEnvironment(loader=DictLoader(TEMPLATES), undefined=StrictUndefined,
                                     **options)
    i18n.install_jinja(env)
    return env


def _plain(**options) -> Environment:
    env = Environment(loader=DictLoader(TEMPLATES), undefined=StrictUndefined, **options)
    i18n.install_jinja(env)
    return env


VALUES = {"label": i18n.N_("Date"), "amount": "<b>€5</b>"}


@pytest.mark.parametrize("locale", [None, "de_DE", "fr_FR", "es_ES", "en_XA"])
@pytest.mark.parametrize("name,autoescape", [("page.html", True), ("mail.txt", False)])
def test_a_compiled_template_renders_what_the_calls_rendered(locale, name, autoescape):
    folded, plain = _env(autoescape=autoescape), _plain(autoescape=autoescape)
    with i18n.use_locale(locale):
        assert folded.get_template(name).render(VALUES) == \
            plain.get_template(name).render(VALUES)


def test_each_catalog_has_its_own_compiled_template():
    env = _env(autoescape=True)
    with i18n.use_locale("de_DE"):
        german = env.get_template("page.html").render(VALUES)
    with i18n.use_locale("fr_FR"):
        french = env.get_template("page.html").render(VALUES)
    english = env.get_template("page.html").render(VALUES)

    assert german.startswith("<h1>Rechnungen</h1><p>Offener Betrag|Datum|")
    assert french.startswith("<h1>Factures</h1>")
    assert english == ("<h1>Invoices</h1><p>Balance due|Date|Pay &lt;b&gt;€5&lt;/b&gt;"
                       "|50% off|</p>")


def test_the_literal_calls_are_gone_from_the_compiled_code():
    overlay = _env(autoescape=True)._in_catalog(i18n.translations_for("de_DE"))  # noqa: SLF001
    code = overlay.compile(TEMPLATES["part.html"], raw=True)
    assert "<p>Offener Betrag|" in code  # Jinja even writes it into the output's constant
    assert "Balance due" not in code
    assert "'50% off'" in code or "|50% off|" in code
    assert code.count("context.call(") == 2  # `_(label)` and `_("")`: as they render
    with i18n.use_locale("de_DE"):
        assert "|Datum|" in _env(autoescape=True).get_template("part.html").render(VALUES)


def test_a_template_that_names_its_own_underscore_keeps_its_calls():
    tree = _env().parse(TEMPLATES["own_underscore.html"])
    folded = i18n.fold_literal_words(tree, i18n.translations_for("de_DE"))
    assert list(folded.find_all(nodes.MarkSafeIfAutoescape)) == []
    with i18n.use_locale("de_DE"):
        assert _env().get_template("own_underscore.html").render() == "Rechnungen"


def test_from_string_is_translated_as_it_renders():
    """A template made from a string is not cached per catalog: its words stay calls."""
    template = _env(autoescape=True).from_string('{{ _("Invoices") }}')
    with i18n.use_locale("de_DE"):
        assert template.render() == "Rechnungen"
    assert template.render() == "Invoices"


def test_the_app_and_the_documents_compile_their_words_per_catalog(app):
    from webapp.services.core import mail, pdf

    for env in (app.jinja_env, mail.environment(), pdf.environment()):
        assert isinstance(env, i18n.CatalogEnvironment)
