"""Documents: PDF downloads of invoices, credit notes and receipts."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, send_file
from flask_login import current_user

from webapp.context import today
from webapp.db import db
from webapp.login import customer_required
from webapp.permissions import module_required
from webapp.services import documents

bp = Blueprint("documents", __name__)


def download(document: documents.Document):
    """A rendered document as a download named after its number (INV-000123.pdf)."""
    response = send_file(BytesIO(document.content), mimetype=document.media_type,
                         as_attachment=True, download_name=document.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/invoices/<int:invoice_id>.pdf")
@customer_required
@module_required("invoices")
def invoice_pdf(invoice_id: int):
    """One of the customer's invoices as a PDF."""
    return download(documents.invoice_pdf(db.session, customer_id=current_user.customer_id,
                                          invoice_id=invoice_id, today=today()))


@bp.get("/credits/<int:credit_note_id>.pdf")
@customer_required
@module_required("invoices")
def credit_note_pdf(credit_note_id: int):
    """One of the customer's credit notes as a PDF."""
    return download(documents.credit_note_pdf(db.session, customer_id=current_user.customer_id,
                                              credit_note_id=credit_note_id))


@bp.get("/payments/<int:payment_id>.pdf")
@customer_required
@module_required("payments")
def receipt_pdf(payment_id: int):
    """The receipt of one of the customer's payments as a PDF."""
    return download(documents.receipt_pdf(db.session, customer_id=current_user.customer_id,
                                          payment_id=payment_id))
