"""The logo in the masthead of every PDF, embedded as an image (read once per document); a
document still loads nothing else."""

from __future__ import annotations

from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlmodel import select

from tests.factories import moment_on
from webapp import demo
from webapp.models import CreditNote, Estimate, Invoice, Payment
from webapp.services.admin import brand
from webapp.services.core import pdf
from webapp.services.documents import sources, statements
from webapp.services.engagement import estimates

KINDS = ["invoice", "credit note", "receipt", "statement", "estimate"]


def image_xobjects(content: bytes) -> list:
    """The image XObjects drawn on the PDF's first page."""
    resources = PdfReader(BytesIO(content)).pages[0]["/Resources"]
    xobjects = resources.get("/XObject") or {}
    return [x.get_object() for x in xobjects.values()
            if x.get_object().get("/Subtype") == "/Image"]


@pytest.fixture
def seeded(session, now):
    result = demo.seed_demo(session, now=now)  # the demo draws and stores its logo
    session.commit()
    return result


def _first(session, model, customer_id: int, *where):
    return session.exec(select(model).where(model.customer_id == customer_id, *where)
                        .order_by(model.id)).first()


def document(session, now, customer_id: int, kind: str) -> bytes:
    """One of the customer's documents of that kind, as its PDF."""
    at = moment_on(now.date())
    if kind == "invoice":
        invoice = _first(session, Invoice, customer_id)
        return sources.invoice_pdf(session, customer_id=customer_id, invoice_id=invoice.id,
                                   at=at).content
    if kind == "credit note":
        note = _first(session, CreditNote, customer_id)
        return sources.credit_note_pdf(session, customer_id=customer_id,
                                       credit_note_id=note.id).content
    if kind == "receipt":
        payment = _first(session, Payment, customer_id, Payment.status == "succeeded")
        return sources.receipt_pdf(session, customer_id=customer_id,
                                   payment_id=payment.id).content
    if kind == "statement":
        period = statements.StatementPeriod("custom", now.date().replace(day=1), now.date())
        return statements.statement_pdf(session, customer_id=customer_id, period=period,
                                        at=at).content
    estimate = _first(session, Estimate, customer_id)
    return estimates.estimate_pdf(session, customer_id=customer_id, estimate_id=estimate.id,
                                  at=at).content


@pytest.mark.parametrize("kind", KINDS)
def test_the_logo_is_embedded_in_the_masthead_of_every_document(session, now, seeded, kind):
    (image,) = image_xobjects(document(session, now, seeded.jane_customer_id, kind))
    assert (image["/Width"], image["/Height"]) == (192, 192)  # the demo's logo, as stored


def test_without_a_logo_a_document_has_no_image(session, now, seeded):
    brand.apply_logo(session, prepared=None, now=now)
    assert image_xobjects(document(session, now, seeded.jane_customer_id, "invoice")) == []


def test_a_data_uri_the_renderer_was_not_given_is_still_refused():
    other = "data:image/png;base64,iVBORw0KGgo="
    with pytest.raises(pdf.ResourceRefused):
        pdf.html_to_pdf(f'<html><body><img src="{other}"></body></html>',
                        images=("data:image/png;base64,AAAA",))


def test_only_png_or_jpeg_data_uris_may_be_given_as_images():
    svg = "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="
    with pytest.raises(pdf.ResourceRefused):
        pdf.html_to_pdf(f'<html><body><img src="{svg}"></body></html>', images=(svg,))
