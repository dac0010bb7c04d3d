"""Tax rates in chromium (issue 30): the admin adds a rate for California (told next to the
field when the country is not one), edits it, puts Jane in California and issues her an
invoice; Jane sees the rate and its label on each line, and the tax taken at it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import check_page, click_through, login, logout, path_of, visit
from webapp import demo


def test_the_admin_edits_the_rate_table_and_jane_sees_the_rate_per_line(open_page, demo_data):
    admin = open_page()
    login(admin, *demo.ADMIN)
    visit(admin, "/admin/tax-rates")
    table = admin.locator("#admin-tax-rates")
    admin.get_by_label("Country").fill("XX")
    admin.get_by_label("Region").fill("CA")
    admin.get_by_label("Rate (%)").fill("7")
    admin.get_by_label("Label").fill("Sales tax")
    admin.get_by_role("button", name="Add rate").click()  # htmx swaps the table and form
    expect(admin.locator("#country-errors")).to_contain_text("ISO 3166-1")
    expect(admin.get_by_label("Country")).to_have_attribute("aria-invalid", "true")
    check_page(admin)

    admin.get_by_label("Country").fill("US")
    admin.get_by_role("button", name="Add rate").click()
    expect(table.get_by_role("status")).to_contain_text("Tax rate for US CA added.")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr")).to_contain_text("7%")

    table.get_by_role("link", name=re.compile("Edit")).click()  # the form, filled in
    expect(admin.get_by_label("Rate (%)")).to_have_value("7")
    admin.get_by_label("Rate (%)").fill("7.25")
    admin.get_by_role("button", name="Save rate").click()
    expect(table.get_by_role("status")).to_contain_text("Tax rate saved.")
    expect(table.locator("tbody tr")).to_contain_text("7.25%")
    check_page(admin)

    jane_id = demo_data.jane_customer_id
    visit(admin, f"/admin/customers/{jane_id}/edit")
    admin.get_by_label("Country", exact=True).fill("US")
    admin.get_by_label("Region", exact=True).fill("CA")
    click_through(admin, admin.get_by_role("button", name="Save"))
    expect(admin.locator("#customer-tax")).to_have_text("7.25% Sales tax")

    visit(admin, f"/admin/customers/{jane_id}/invoices/new")
    expect(admin.get_by_text("7.25% Sales tax is added to each line")).to_be_visible()
    admin.locator("#lines-0-description").fill("Consulting")
    admin.locator("#lines-0-quantity").fill("2")
    admin.locator("#lines-0-unit_price").fill("100.00")
    click_through(admin, admin.get_by_role("button", name="Issue invoice"))
    invoice_id = int(path_of(admin).rsplit("/", 1)[1])
    logout(admin)

    jane = open_page()
    login(jane, *demo.JANE)
    visit(jane, f"/invoices/{invoice_id}")
    line = jane.locator("table.lines tbody tr").filter(has_text="Consulting")
    expect(line.locator("td.tax-rate")).to_have_text("7.25% Sales tax")
    expect(line).to_contain_text("$14.50")  # 200.00 × 7.25 %
