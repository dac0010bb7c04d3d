"""Preferences in chromium: the admin turns Invoices off, Jane no longer sees it, and back on."""

from __future__ import annotations

from tests.browser.support import click_through, login, logout, visit
from webapp import demo


def _set_invoices_module(page, on: bool) -> None:
    visit(page, "/admin/preferences")
    box = page.get_by_label("Invoices", exact=True)
    box.check() if on else box.uncheck()
    click_through(page, page.get_by_role("button", name="Save preferences"))


def test_the_admin_turns_invoices_off_and_jane_no_longer_sees_it(open_page):
    admin, jane = open_page(), open_page()
    login(admin, *demo.ADMIN)
    login(jane, *demo.JANE)
    assert jane.get_by_role("navigation").get_by_role("link", name="Invoices").count() == 1

    _set_invoices_module(admin, on=False)
    visit(jane, "/")
    assert jane.get_by_role("navigation").get_by_role("link", name="Invoices").count() == 0
    visit(jane, "/invoices", status=404)

    _set_invoices_module(admin, on=True)
    visit(jane, "/invoices")
    assert jane.get_by_role("navigation").get_by_role("link", name="Invoices").count() == 1
    logout(admin)
