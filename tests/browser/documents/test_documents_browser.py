"""Documents in chromium: a statement as a PDF, and an invoice forwarded to a contact person."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect
from sqlmodel import Session, select

from tests.browser.support import check_page, click_through, login, path_of, visit
from webapp import demo
from webapp.models import ContactPerson, Invoice


def test_jane_downloads_last_quarters_statement_as_a_pdf(page):
    login(page, *demo.JANE)
    click_through(page, page.get_by_role("link", name="Statements"))
    page.get_by_role("combobox", name=re.compile(r"^Range")).select_option("last_quarter")
    page.get_by_role("button", name="Show statement").click()
    page.wait_for_url(re.compile(r"/statements\?.*preset=last_quarter"))  # htmx pushed it
    expect(page.get_by_role("heading", name=re.compile("^Last quarter"))).to_be_visible()
    check_page(page)

    with page.expect_download() as info:
        page.get_by_role("button", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename == "statement-2026-07-01-to-2026-09-30.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")


def test_jane_forwards_an_invoice_to_a_contact_person_and_sees_it_sent(page, browser_engine,
                                                                       demo_data):
    with Session(browser_engine) as session:
        invoice = session.exec(select(Invoice).where(
            Invoice.customer_id == demo_data.jane_customer_id).order_by(Invoice.id)).first()
        contact = session.exec(select(ContactPerson).where(
            ContactPerson.customer_id == demo_data.jane_customer_id)
            .order_by(ContactPerson.id)).first()
    login(page, *demo.JANE)
    visit(page, f"/invoices/{invoice.id}")
    click_through(page, page.get_by_role("button", name="Forward"))
    page.get_by_label(re.compile(re.escape(contact.name))).check()
    page.get_by_label("Message (optional)").fill("For the books, thanks!")
    click_through(page, page.get_by_role("button", name="Forward"))

    assert re.fullmatch(r"/documents/forwards/\d+", path_of(page))
    row = page.get_by_role("row", name=re.compile(re.escape(contact.email)))
    expect(row).to_contain_text("Sent")
