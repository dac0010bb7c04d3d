"""The customer's locale in chromium: Jane switches hers on Profile and her amounts change, and
her words with them (German from the catalog while she is de_DE)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import check_page, login, visit
from tests.i18n.german import german
from webapp import demo
from webapp.services.core import languages


def _english(msgid: str, **params) -> str:
    return msgid % params if params else msgid


def _outstanding(page, words=_english) -> str:
    main = page.get_by_role("main")
    header = page.locator("header", has_text=re.compile(rf"^\s*{re.escape(words('Outstanding'))}\s*$"))
    return main.locator("article", has=header).first.inner_text()


def test_the_customer_switches_her_locale_on_profile_and_sees_amounts_change(page):
    login(page, *demo.JANE)
    visit(page, "/")
    assert "US$369.40" in _outstanding(page)
    visit(page, "/profile")
    page.get_by_label("Language and region").select_option("de_DE")
    page.get_by_role("button", name="Save details").click()
    expect(page.locator("#profile-details [role=status]")).to_have_text(
        "Saved: Language and region.")
    check_page(page)
    visit(page, "/")
    # Her words in German (English while its catalog is not compiled), her amounts de_DE's.
    assert "369,40\xa0$" in _outstanding(page, german)
    assert page.locator("html").get_attribute("lang") == (
        "de-DE" if languages.language_of("de_DE") else "en")
    visit(page, "/profile")
    page.get_by_label(german("Language and region")).select_option("")
    page.get_by_role("button", name=german("Save details")).click()
    # The request that sets it back is still read in German; the next page in English.
    expect(page.locator("#profile-details [role=status]")).to_have_text(
        german("Saved: %(fields)s.", fields=german("Language and region")))
    visit(page, "/")
    assert "US$369.40" in _outstanding(page)
