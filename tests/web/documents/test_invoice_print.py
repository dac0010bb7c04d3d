"""The web invoice page (issue 25): each line's rate and the tax summary, as on the PDF, and
the seller's legal name, address and VAT number when it is printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp.db import db
from webapp.services.billing import invoices

PORTAL_CSS = Path(__file__).resolve().parents[3] / "webapp" / "static" / "css" / "portal.css"


@pytest.fixture
def invoice_page(app, client, auth, seeded) -> str:
    with app.app_context():
        invoice_id = invoices.payable_invoices(db.session,
                                               customer_id=seeded.jane_customer_id)[0].id
    auth.login()
    return client.get(f"/invoices/{invoice_id}").get_data(as_text=True)


def test_the_invoice_page_names_the_seller_for_print(invoice_page):
    seller = invoice_page.split('<address class="print-only document-seller">')[1]
    seller = seller.split("</address>")[0]
    assert "Northwind Cloud Limited" in seller
    assert "12 Harbour Street, Bristol BS1 4ND, United Kingdom" in seller
    assert "VAT number: GB123456789" in seller


def test_the_seller_block_shows_in_print_only():
    css = PORTAL_CSS.read_text()
    assert ".print-only { display: none; }" in css
    assert ".print-only { display: block; }" in css.split("@media print")[1]


def test_the_invoice_page_shows_each_lines_rate_and_a_tax_summary(invoice_page):
    lines = invoice_page.split('<table class="lines"')[1].split("</table>")[0]
    assert '<th scope="col" class="amount" width="8%">Rate</th>' in lines
    assert ">20% VAT</td>" in lines  # each line: its rate and its label (issue 30)
    assert "<h2>VAT summary</h2>" in invoice_page
