"""The catalog's intervals in chromium (issue 30): the admin creates a weekly plan billed
every 2 weeks; a count out of range is named next to its field in place (htmx), then the
plan is added and the catalog says "every 2 weeks"."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import check_page, click_through, login, logout, path_of
from webapp import demo


def test_the_admin_creates_a_weekly_plan(page):
    login(page, *demo.ADMIN)
    click_through(page, page.get_by_role("link", name="Catalog"))
    click_through(page, page.get_by_role("button", name="New plan"))
    page.get_by_label(re.compile(r"^Code")).fill("gym-fortnightly")
    page.get_by_label("Name", exact=True).fill("Gym fortnightly")
    page.get_by_label("Billed every").fill("105")
    page.get_by_label("Interval").select_option("week")
    page.get_by_label("Price (USD)").fill("28.00")

    # Refused in place: the form is swapped with its message, the page stays.
    page.get_by_role("button", name="Add plan").click()
    expect(page.locator("#interval_count-errors")).to_have_text(
        "Enter a whole number from 1 to 104.")
    assert path_of(page) == "/admin/catalog/plans/new"
    expect(page.get_by_label("Name", exact=True)).to_have_value("Gym fortnightly")
    check_page(page)

    page.get_by_label("Billed every").fill("2")
    with page.expect_navigation(url=re.compile(r"/admin/catalog")):
        page.get_by_role("button", name="Add plan").click()
    check_page(page)
    expect(page.get_by_text("gym-fortnightly was added.")).to_be_visible()
    row = page.locator("tr", has_text="Gym fortnightly")
    expect(row).to_contain_text("every 2 weeks")
    logout(page)
