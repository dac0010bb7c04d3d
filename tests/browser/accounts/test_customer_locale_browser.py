"""The customer's locale in chromium: Jane switches hers on Profile and her amounts change."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import check_page, login, visit
from webapp import demo
from webapp.services.core import languages


def _outstanding(page) -> str:
    main = page.get_by_role("main")
    return main.locator("article", has=page.locator("header", has_text="Outstanding")).first \
        .inner_text()


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
    assert "369,40\xa0$" in _outstanding(page)
    # The words' language (German once its catalog is compiled, else English), her region.
    assert page.locator("html").get_attribute("lang") == (
        "de-DE" if languages.language_of("de_DE") else "en")
    visit(page, "/profile")
    page.get_by_label("Language and region").select_option("")
    page.get_by_role("button", name="Save details").click()
    expect(page.locator("#profile-details [role=status]")).to_have_text(
        "Saved: Language and region.")
    visit(page, "/")
    assert "US$369.40" in _outstanding(page)
