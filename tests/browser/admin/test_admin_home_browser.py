"""The admin home in chromium (issue 31): axe clean, no CSP violation, no sideways scroll at
1366 and 390 px (photographed into screenshots/), the window swapped by htmx or, without
JavaScript, by the form's GET, and a figure opening its filtered list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import REPO_ROOT
from tests.browser.support import check_page, click_through, login, path_of, visit
from webapp import demo

VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
NO_HORIZONTAL_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_admin_home_draws_its_charts_without_sideways_scroll(open_page, viewport):
    page = open_page(viewport=VIEWPORTS[viewport])
    login(page, *demo.ADMIN)
    visit(page, "/admin/")
    expect(page.get_by_role("heading", name="Recurring revenue")).to_be_visible()
    expect(page.locator("figure.chart svg").first).to_be_visible()
    assert page.locator("figure.chart").count() >= 3
    (REPO_ROOT / "screenshots").mkdir(exist_ok=True)
    page.screenshot(path=REPO_ROOT / "screenshots" / f"{viewport}-admin-home.png",
                    full_page=True)
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(
        e => e.getBoundingClientRect().right > window.innerWidth + 0.5).slice(0, 5).map(
        e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert page.evaluate(NO_HORIZONTAL_SCROLL), wide


def test_choosing_a_window_swaps_the_panels_and_a_figure_opens_its_list(page):
    login(page, *demo.ADMIN)
    visit(page, "/admin/")
    page.get_by_label("Date window").select_option("month")
    expect(page).to_have_url(re.compile(r"window=month"))
    check_page(page)
    expect(page.get_by_label("Date window")).to_have_value("month")
    panels = page.locator("#admin-home-panels")
    click_through(page, panels.get_by_role("link", name="Scheduled cancellations").or_(
        panels.locator("a[href*='status=non_renewing']")).first)
    assert path_of(page) == "/admin/subscriptions"
    expect(page.locator("#filter-status")).to_have_value("non_renewing")


def test_without_javascript_the_window_form_reloads_the_page(page_without_js):
    page = page_without_js
    login(page, *demo.ADMIN)
    visit(page, "/admin/")
    page.get_by_label("Date window").select_option("12m")
    click_through(page, page.get_by_role("button", name="Show"))
    assert "window=12m" in page.url
    expect(page.get_by_label("Date window")).to_have_value("12m")
