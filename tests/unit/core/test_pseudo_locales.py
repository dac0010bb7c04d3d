"""The pseudo-locales en_XA and ar_XB are known to Babel: parsed, formatted, catalogs found."""

from __future__ import annotations

from datetime import date

from babel import Locale, localedata
from babel.messages import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations

from webapp.services.core import pseudo_locales
from webapp.services.core.dates import format_day
from webapp.services.core.money import format_money


def test_babel_parses_both_with_their_direction():
    assert Locale.parse("en_XA").text_direction == "ltr"
    assert Locale.parse("ar_XB").text_direction == "rtl"
    assert Locale.parse("ar_XB").language == "ar"


def test_en_xa_formats_amounts_and_dates_as_english():
    assert format_money(36940, "USD", "en_XA") == format_money(36940, "USD", "en")
    assert format_day(date(2026, 12, 28), "en_XA") == format_day(date(2026, 12, 28), "en")


def test_ar_xb_formats_amounts_and_dates_as_arabic():
    assert format_money(36940, "USD", "ar_XB") == format_money(36940, "USD", "ar")
    assert format_day(date(2026, 12, 28), "ar_XB") == format_day(date(2026, 12, 28), "ar")


def test_registering_again_changes_nothing_and_leaves_the_base_data_alone():
    before = localedata.load("en_XA")

    pseudo_locales.register()

    assert localedata.load("en_XA") is before
    assert localedata.load("en") is not before
    assert localedata.exists("ar_XB")


def test_a_pseudo_locale_catalog_is_found_by_its_locale(tmp_path):
    catalog = Catalog(locale="en_XA", fuzzy=False)
    catalog.add("Invoices", "[Îñṽöîçëš ~]")
    folder = tmp_path / "en_XA" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as file:
        write_mo(file, catalog)

    translations = Translations.load(str(tmp_path), [Locale.parse("en_XA")])

    assert translations.gettext("Invoices") == "[Îñṽöîçëš ~]"
