"""webapp/i18n_tools.py: the pseudo-locales' texts and catalogs, and the in-process extraction."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from babel.messages import Catalog
from babel.support import Translations

from webapp import i18n_tools
from webapp.i18n_tools import (
    extract,
    pseudo_catalog,
    pseudo_text,
    read_catalog,
    write_pseudo_locales,
)

ASCII_LETTERS = re.compile(r"[A-Za-z]")
RLO, PDF = "\u202e", "\u202c"


def _outside_kept(text: str) -> str:
    """The text without what a pseudo-translation keeps (placeholders, tags, entities)."""
    return i18n_tools._KEPT.sub("", text)


def _template(*messages) -> Catalog:
    catalog = Catalog(project="Customer Portal", version="0.1.0")
    for message in messages:
        if isinstance(message, dict):
            catalog.add(message["id"], context=message["context"])
        else:
            catalog.add(message)
    return catalog


# --- one text ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Download PDF",
    "Pay %(amount)s now",
    "%(num)d invoice",
    'Read the <a href="%(url)s">terms</a>.',
    "Tom &amp; Jerry &#8212; {on}",
    "You paid 100%% of %(total)s.",
    "Your card ending in %(last4)s expires on %(date)s. Update it before your next renewal.",
])
def test_every_letter_is_accented_inside_brackets_and_the_placeholders_are_kept(text):
    pseudo = pseudo_text(text)

    assert pseudo.startswith("[") and pseudo.endswith("]")
    assert not ASCII_LETTERS.search(_outside_kept(pseudo)), pseudo
    assert i18n_tools._KEPT.findall(pseudo) == i18n_tools._KEPT.findall(text)
    assert "~" in pseudo


def test_placeholders_still_format_after_the_pseudo_translation():
    pseudo = pseudo_text("Pay %(amount)s by %(date)s (%(num)d%% done)")

    assert pseudo % {"amount": "US$10.00", "date": "Dec 1, 2026", "num": 50} == \
        "[Þáý US$10.00 ƀý Dec 1, 2026 (50% ðöñë) ~~~~]"


def test_tags_and_their_attributes_are_not_changed():
    pseudo = pseudo_text('Read the <a href="/terms" title="Terms">terms</a> first.')

    assert pseudo.startswith('[Ŕëáð ţĥë <a href="/terms" title="Terms">ţëŕɱš</a> ƒîŕšţ.')


def test_a_long_text_grows_by_about_forty_percent():
    text = "Your subscription renews automatically at the end of each billing period."

    growth = len(pseudo_text(text)) / len(text) - 1

    assert 0.35 <= growth <= 0.45


def test_a_short_text_still_gets_padding():
    assert pseudo_text("OK") == "[ÖĶ ~]"


def test_whitespace_around_a_text_stays_outside_the_brackets():
    assert pseudo_text("  Total:\n") == "  [Ţöţáļ: ~]\n"
    assert pseudo_text("   ") == "   "
    assert pseudo_text("") == ""


def test_right_to_left_wraps_each_run_of_words_in_an_override():
    pseudo = pseudo_text("Pay %(amount)s now", rtl=True)

    assert pseudo == f"[{RLO}Þáý {PDF}%(amount)s{RLO} ñöŵ{PDF} ~]"
    assert pseudo.replace(RLO, "").replace(PDF, "") == pseudo_text("Pay %(amount)s now")


# --- catalogs ---------------------------------------------------------------------------------

def test_the_en_xa_catalog_translates_every_message_and_both_plural_forms():
    template = _template("Invoices", ("%(num)d invoice", "%(num)d invoices"),
                         {"id": "Open", "context": "verb"})

    catalog = pseudo_catalog(template, "en_XA")

    assert catalog.locale_identifier == "en_XA" and not catalog.fuzzy
    assert catalog.get("Invoices").string == "[Îñṽöîçëš ~]"
    assert catalog.get("%(num)d invoice").string == ("[%(num)d îñṽöîçë ~]",
                                                      "[%(num)d îñṽöîçëš ~]")
    assert catalog.get("Open", context="verb").string == "[Öþëñ ~]"
    assert list(catalog.check()) == []


def test_the_ar_xb_catalog_has_the_arabic_plural_forms_with_the_singular_for_one():
    template = _template(("%(num)d invoice", "%(num)d invoices"))

    catalog = pseudo_catalog(template, "ar_XB")

    assert catalog.num_plurals == 6
    forms = catalog.get("%(num)d invoice").string
    # form 0 ("zero") stands beside the msgid, whose placeholders `pybabel compile` checks it
    # against: the singular too.
    assert ["îñṽöîçë" + PDF in form for form in forms] == [True, True, False, False,
                                                                  False, False]
    assert list(catalog.check()) == []


def test_a_pseudo_plural_whose_singular_has_no_number_compiles():
    template = _template(("one device", "%(num)d devices"))

    catalog = pseudo_catalog(template, "ar_XB")

    assert "%(num)d" not in catalog.get("one device").string[0]
    assert list(catalog.check()) == []


def test_written_and_compiled_catalogs_translate_through_gettext(tmp_path):
    template = _template("Download PDF", ("%(num)d invoice", "%(num)d invoices"))

    paths = write_pseudo_locales(template, tmp_path, compile_mo=True)

    assert paths == [tmp_path / "en_XA" / "LC_MESSAGES" / "messages.po",
                     tmp_path / "ar_XB" / "LC_MESSAGES" / "messages.po"]
    en_xa = Translations.load(str(tmp_path), ["en_XA"])
    assert en_xa.gettext("Download PDF") == "[Ðöŵñļöáð ÞÐƑ ~~]"
    assert en_xa.ngettext("%(num)d invoice", "%(num)d invoices", 1) % {"num": 1} == \
        "[1 îñṽöîçë ~]"
    assert en_xa.ngettext("%(num)d invoice", "%(num)d invoices", 3) % {"num": 3} == \
        "[3 îñṽöîçëš ~]"
    ar_xb = Translations.load(str(tmp_path), ["ar_XB"])
    for num, word in [(0, "îñṽöîçë"), (1, "îñṽöîçë"), (2, "îñṽöîçëš"), (11, "îñṽöîçëš")]:
        assert f"{RLO} {word}{PDF}" in ar_xb.ngettext("%(num)d invoice", "%(num)d invoices", num)
    assert read_catalog(paths[0]).get("Download PDF").string == "[Ðöŵñļöáð ÞÐƑ ~~]"
    assert not list(tmp_path.rglob("*.partial"))


def test_the_command_writes_both_catalogs_from_the_template(tmp_path, capsys):
    from babel.messages.pofile import write_po

    with (tmp_path / "messages.pot").open("wb") as file:
        write_po(file, _template("Profile"))

    assert i18n_tools.main(["pseudo", "--directory", str(tmp_path), "--compile"]) == 0

    assert (tmp_path / "en_XA" / "LC_MESSAGES" / "messages.mo").exists()
    assert read_catalog(tmp_path / "ar_XB" / "LC_MESSAGES" / "messages.po").get("Profile")
    assert "wrote" in capsys.readouterr().out


def test_the_command_without_a_template_says_what_to_run(tmp_path, capsys):
    assert i18n_tools.main(["pseudo", "--directory", str(tmp_path)]) == 1
    assert "make translations" in capsys.readouterr().err


# --- extraction -------------------------------------------------------------------------------

def test_extract_finds_the_texts_of_templates_and_python_with_the_makefile_keywords(tmp_path):
    shutil.copy(i18n_tools.BABEL_CFG, tmp_path / "babel.cfg")
    (tmp_path / "webapp" / "templates" / "mail").mkdir(parents=True)
    (tmp_path / "webapp" / "templates" / "page.html").write_text(
        '<h1>{{ _("Invoices") }}</h1>\n'
        '<p>{{ _("Pay %(amount)s now", amount=total) }}</p>\n'
        '<p>{{ ngettext("%(num)d invoice", "%(num)d invoices", count) }}</p>\n')
    (tmp_path / "webapp" / "templates" / "mail" / "note.txt").write_text(
        '{{ _("Hello %(name)s,", name=name) }}\n')
    (tmp_path / "webapp" / "forms.py").write_text(
        "LABEL = _l('Email')\nTITLE = lazy_gettext('Title')\nTRIAL = N_('Trial')\n"
        "# Translators: a count of seats\n"
        "SEATS = lazy_ngettext('%(num)d seat', '%(num)d seats', 2)\n")

    catalog = extract(tmp_path, config=tmp_path / "babel.cfg", strict=True)

    ids = {message.id for message in catalog if message.id}
    assert ids == {"Invoices", "Pay %(amount)s now", ("%(num)d invoice", "%(num)d invoices"),
                   "Hello %(name)s,", "Email", "Title", "Trial",
                   ("%(num)d seat", "%(num)d seats")}
    assert catalog.get("Invoices").locations == [("webapp/templates/page.html", 1)]
    assert catalog.get("%(num)d seat").auto_comments == ["Translators: a count of seats"]


def test_strict_extraction_fails_on_a_template_it_cannot_read(tmp_path):
    shutil.copy(i18n_tools.BABEL_CFG, tmp_path / "babel.cfg")
    (tmp_path / "webapp" / "templates").mkdir(parents=True)
    (tmp_path / "webapp" / "templates" / "broken.html").write_text('{{ _("Open" }}\n')

    assert len(extract(tmp_path, config=tmp_path / "babel.cfg")) == 0
    with pytest.raises(Exception, match="broken.html|expected"):
        extract(tmp_path, config=tmp_path / "babel.cfg", strict=True)


def test_the_makefile_extracts_with_the_same_keywords():
    makefile = (Path(i18n_tools.REPO_ROOT) / "Makefile").read_text()
    extract_command = re.search(r"pybabel extract (.*?) -o ", makefile, re.DOTALL).group(1)

    assert tuple(re.findall(r"-k (\S+)", extract_command)) == i18n_tools.KEYWORDS


def test_only_the_compiled_catalogs_can_be_written(tmp_path):
    write_pseudo_locales(_template("Profile"), tmp_path, po=False, compile_mo=True)

    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.*")) == [
        "ar_XB/LC_MESSAGES/messages.mo", "en_XA/LC_MESSAGES/messages.mo"]
