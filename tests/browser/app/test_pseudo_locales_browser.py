"""The pseudo-locales in chromium (issue 33): in ar_XB (right to left) the page is mirrored, the
sidebar on the right of the content, and a phone never scrolls sideways; in en_XA (every text
~40% longer) nothing is wider than a phone either.

The pseudo catalogs are compiled from the code as it is (webapp.i18n_tools: the texts marked
today), into webapp/translations like `make compile-translations`, before the pages are opened;
the customer's locale is set in the database, as the language switcher saves it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page
from sqlmodel import Session

from tests.browser.support import login, visit
from webapp import demo
from webapp.i18n_tools import extract, write_pseudo_locales
from webapp.models import Customer

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# The customer's main pages: a path, or (a list, the first link on it matching this).
PAGES: list[str | tuple[str, str]] = [
    "/", "/subscriptions", ("/subscriptions", r"^/subscriptions/\d+$"), "/invoices",
    ("/invoices", r"^/invoices/\d+$"), "/payments", "/payment-methods", "/profile", "/account",
]

_WIDTHS = "() => [document.scrollingElement.scrollWidth, window.innerWidth]"


@pytest.fixture(scope="module", autouse=True)
def pseudo_catalogs() -> None:
    """en_XA's and ar_XB's compiled catalogs, from the texts the code marks today."""
    write_pseudo_locales(extract(strict=True), po=False, compile_mo=True)


def _read_in(browser_engine, customer_id: int, locale: str) -> None:
    with Session(browser_engine) as session:
        customer = session.get(Customer, customer_id)
        customer.locale = locale
        session.commit()


def _first_link(page: Page, pattern: str) -> str:
    hrefs = page.eval_on_selector_all("main a[href]", "links => links.map(a => a.getAttribute('href'))")
    found = next((h for h in hrefs if re.match(pattern, h.split("?")[0])), None)
    assert found, f"no link matching {pattern} on {page.url}"
    return found


def _each_page(page: Page):
    """Visit each of PAGES (axe and CSP checked by `visit`), yielding its path."""
    for where in PAGES:
        if isinstance(where, tuple):
            visit(page, where[0])
            where = _first_link(page, where[1])
        visit(page, where)
        yield where


def _sideways_scroll(page: Page, path: str) -> list[str]:
    scroll_width, window_width = page.evaluate(_WIDTHS)
    if scroll_width > window_width:
        return [f"{path}: the page is {scroll_width} px wide in a {window_width} px window"]
    return []


def test_in_ar_xb_every_page_is_right_to_left_with_the_sidebar_on_the_right(
        open_page, browser_engine, demo_data):
    _read_in(browser_engine, demo_data.jane_customer_id, "ar_XB")
    page = open_page(viewport=DESKTOP)
    login(page, *demo.JANE)

    problems = []
    for path in _each_page(page):
        direction = page.locator("html").get_attribute("dir")
        if direction != "rtl":
            problems.append(f"{path}: <html dir={direction!r}>, not 'rtl'")
        sidebar = page.locator("nav.sidebar").bounding_box()
        content = page.locator("main#main").bounding_box()
        if sidebar is None or content is None:
            problems.append(f"{path}: no sidebar or no main content shown")
        elif sidebar["x"] < content["x"] + content["width"] - 1:
            problems.append(f"{path}: the sidebar ({sidebar['x']:.0f}..."
                            f"{sidebar['x'] + sidebar['width']:.0f} px) is not on the right of "
                            f"the content ({content['x']:.0f}...{content['x'] + content['width']:.0f})")

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", ["ar_XB", "en_XA"])
def test_on_a_phone_no_page_scrolls_sideways(open_page, browser_engine, demo_data, locale):
    _read_in(browser_engine, demo_data.jane_customer_id, locale)
    page = open_page(viewport=PHONE)
    login(page, *demo.JANE)

    problems = []
    for path in _each_page(page):
        problems += _sideways_scroll(page, path)

    assert not problems, "\n".join(problems)
