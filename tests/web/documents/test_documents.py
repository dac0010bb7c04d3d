"""Downloading and printing documents from their pages."""

from __future__ import annotations

from sqlmodel import select

from tests.web.routes import first_id
from webapp.db import db
from webapp.models import CreditNote, Invoice, Payment


def janes(app, seeded, model) -> int:
    with app.app_context():
        return first_id(db.session, model, seeded.jane_customer_id)


def test_an_invoice_downloads_as_a_pdf_named_after_its_number(app, client, auth, seeded):
    invoice_id = janes(app, seeded, Invoice)
    with app.app_context():
        number = db.session.exec(select(Invoice.number).where(Invoice.id == invoice_id)).one()
    auth.login()
    response = client.get(f"/invoices/{invoice_id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f"attachment; filename={number}.pdf"
    assert response.data.startswith(b"%PDF")


def test_a_credit_note_and_a_receipt_download_as_pdfs(app, client, auth, seeded):
    note_id, payment_id = janes(app, seeded, CreditNote), janes(app, seeded, Payment)
    auth.login()
    for path in (f"/credits/{note_id}.pdf", f"/payments/{payment_id}.pdf"):
        response = client.get(path)
        assert response.status_code == 200 and response.data.startswith(b"%PDF")


def test_document_pages_offer_download_and_print(app, client, auth, seeded):
    ids = {"invoices": janes(app, seeded, Invoice), "credits": janes(app, seeded, CreditNote),
           "payments": janes(app, seeded, Payment)}
    auth.login()
    for prefix, document_id in ids.items():
        page = client.get(f"/{prefix}/{document_id}").get_data(as_text=True)
        assert f'href="/{prefix}/{document_id}.pdf"' in page
        assert "data-print" in page


def test_pdfs_need_a_login(app, client, seeded):
    response = client.get(f"/invoices/{janes(app, seeded, Invoice)}.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
