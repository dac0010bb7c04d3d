"""The organization's legal details in chromium (issue 25): the admin types a tax number the
documents cannot use and is told so next to the field; corrected, the details are saved and
Jane's invoice PDF carries them."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlmodel import Session

from tests.browser.support import check_page, click_through, login, logout, visit
from webapp import demo
from webapp.services.billing import invoices


def test_the_admin_sets_the_legal_details_that_janes_invoice_pdf_shows(
        open_page, browser_engine, demo_data):
    admin = open_page()
    login(admin, *demo.ADMIN)
    visit(admin, "/admin/preferences")
    admin.get_by_label("Legal name").fill("Northwind Cloud Group Limited")
    admin.get_by_label("Tax number").fill("GB <123>")
    admin.get_by_label("Payment instructions").fill(
        "Pay by transfer\nIBAN GB33 BUKB 2020 1555 5555 55")
    click_through(admin, admin.get_by_role("button", name="Save preferences"))
    expect(admin.get_by_role("alert")).to_contain_text("Nothing was saved")
    tax_number = admin.get_by_label("Tax number")
    expect(tax_number).to_have_attribute("aria-invalid", "true")
    expect(admin.locator("#tax_id-errors")).to_contain_text("Enter a tax ID of 4 to 30")

    tax_number.fill("GB 111 2222 33")
    click_through(admin, admin.get_by_role("button", name="Save preferences"))
    expect(admin.locator("#preferences-history")).to_contain_text(
        "Tax number: GB123456789 → GB 111 2222 33")
    check_page(admin)
    logout(admin)

    with Session(browser_engine) as session:
        invoice_id = invoices.payable_invoices(session,
                                               customer_id=demo_data.jane_customer_id)[0].id
    jane = open_page()
    login(jane, *demo.JANE)
    visit(jane, f"/invoices/{invoice_id}")
    with jane.expect_download() as info:
        jane.get_by_role("button", name="Download PDF").click()
    content = Path(info.value.path()).read_bytes()
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(content)).pages)
                    .split())
    assert "Northwind Cloud Group Limited" in text and "VAT number: GB 111 2222 33" in text
    assert "IBAN GB33 BUKB 2020 1555 5555 55" in text
    assert re.search(rf"Pay online: https?://\S+/invoices/{invoice_id}\b", text)
