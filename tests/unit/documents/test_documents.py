"""PDF documents: what the text says, which glyphs render, and what a document may load."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from pypdf import PdfReader

from tests.factories import make_customer, make_invoice, moment_on, pay
from webapp import demo
from webapp.services.billing import ledger
from webapp.services.billing.pricing import Charge, price
from webapp.services.core import pdf
from webapp.services.core.dates import format_day
from webapp.services.core.errors import NotFound
from webapp.services.documents import sources


def pdf_text(content: bytes) -> str:
    """The PDF's text with runs of whitespace (line wraps) as one space."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)
                    .split())


@pytest.fixture
def org(session, now):
    return demo.seed_organization(session, now=now)


def test_an_invoice_pdf_shows_its_number_and_total_with_the_rupee_sign(session, now, org):
    customer = make_customer(session, now=now, currency="INR")
    invoice = make_invoice(session, customer=customer, now=now, amount=123456)
    document = sources.invoice_pdf(session, customer_id=customer.id, invoice_id=invoice.id,
                                   at=moment_on(now.date()))
    text = pdf_text(document.content)
    assert invoice.number in text
    assert "₹1,234.56" in text


def test_an_invoice_pdf_in_euros_shows_the_euro_sign(session, now, org):
    customer = make_customer(session, now=now, currency="EUR")
    invoice = make_invoice(session, customer=customer, now=now, amount=4200)
    document = sources.invoice_pdf(session, customer_id=customer.id, invoice_id=invoice.id,
                                   at=moment_on(now.date()))
    assert "€42.00" in pdf_text(document.content)


def test_a_document_is_named_after_its_number(session, now, org):
    customer = make_customer(session, now=now)
    invoice = make_invoice(session, customer=customer, now=now)
    document = sources.invoice_pdf(session, customer_id=customer.id, invoice_id=invoice.id,
                                   at=moment_on(now.date()))
    assert document.filename == f"{invoice.number}.pdf"
    assert document.content.startswith(b"%PDF")


def test_customer_text_in_a_document_is_shown_as_text_not_markup(session, now, org):
    customer = make_customer(session, now=now)
    priced = price([Charge("one_off", "<b>Setup</b> & <img src='/etc/passwd'>", 1, 500)],
                   tax_rate_bp=None)
    invoice = ledger.issue_invoice(session, customer_id=customer.id, currency="USD",
                                   kind="one_off", priced=priced, issue_date=now.date(),
                                   due_date=now.date(), now=now)
    document = sources.invoice_pdf(session, customer_id=customer.id, invoice_id=invoice.id,
                                   at=moment_on(now.date()))
    assert "<b>Setup</b> & <img src='/etc/passwd'>" in pdf_text(document.content)


def test_a_receipt_pdf_lists_the_invoices_the_payment_paid(session, now, org):
    customer = make_customer(session, now=now, currency="EUR")
    invoice = make_invoice(session, customer=customer, now=now, amount=2500)
    payment = pay(session, customer=customer, invoices=[invoice], amount=2500, now=now)
    text = pdf_text(sources.receipt_pdf(session, customer_id=customer.id,
                                        payment_id=payment.id).content)
    assert payment.number in text and invoice.number in text and "€25.00" in text


def test_a_credit_note_pdf_shows_its_number_reason_and_amount(session, now, org):
    customer = make_customer(session, now=now, currency="INR")
    note = ledger.create_credit_note(session, customer_id=customer.id, currency="INR",
                                     total=99900, reason="Goodwill", issue_date=now.date(),
                                     now=now)
    text = pdf_text(sources.credit_note_pdf(session, customer_id=customer.id,
                                            credit_note_id=note.id).content)
    assert note.number in text and "Goodwill" in text and "₹999.00" in text


def test_another_customers_document_is_not_found(session, now, org):
    jane = make_customer(session, now=now, email="jane@example.com")
    omar = make_customer(session, now=now, email="omar@example.com")
    invoice = make_invoice(session, customer=jane, now=now)
    with pytest.raises(NotFound):
        sources.document_pdf(session, kind="invoice", customer_id=omar.id,
                             document_id=invoice.id, at=moment_on(now.date()))


def test_a_document_may_load_files_from_static():
    path = pdf.resolve_resource("fonts/DejaVuSans.ttf")
    assert path == str(pdf.STATIC_DIR / "fonts" / "DejaVuSans.ttf")
    assert pdf.resolve_resource("/static/fonts/DejaVuSans.ttf") == path


@pytest.mark.parametrize("uri", [
    "/etc/passwd",
    "../services/documents.py",
    "fonts/../../__init__.py",
    "fonts/%2e%2e/%2e%2e/config.py",
    "css/missing.css",
])
def test_a_document_may_not_load_a_path_outside_static(uri):
    with pytest.raises(pdf.ResourceRefused):
        pdf.resolve_resource(uri)


@pytest.mark.parametrize("uri", [
    "http://example.com/logo.png",
    "https://169.254.169.254/latest/meta-data/",
    "file:///etc/passwd",
    "data:image/png;base64,iVBORw0KGgo=",
    "//example.com/logo.png",
    "ftp://example.com/x",
])
def test_a_document_may_not_load_any_url(uri):
    with pytest.raises(pdf.ResourceRefused):
        pdf.resolve_resource(uri)


def test_markup_asking_for_a_file_outside_static_is_not_rendered():
    with pytest.raises(pdf.ResourceRefused):
        pdf.html_to_pdf('<html><body><img src="/etc/passwd"></body></html>')


def test_an_invoice_pdf_shows_its_dates_in_the_portals_format(session, now, org):
    customer = make_customer(session, now=now)
    invoice = make_invoice(session, customer=customer, now=now)
    text = pdf_text(sources.invoice_pdf(session, customer_id=customer.id, invoice_id=invoice.id,
                                        at=moment_on(now.date())).content)
    assert format_day(invoice.issue_date, org.locale) in text
    assert format_day(invoice.due_date, org.locale) in text
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text)


def test_a_receipt_pdf_is_received_from_the_company_with_the_portals_date(session, now, org):
    customer = make_customer(session, now=now)
    customer.company = "Kim & Partners GmbH"
    invoice = make_invoice(session, customer=customer, now=now, amount=2500)
    payment = pay(session, customer=customer, invoices=[invoice], amount=2500, now=now)
    text = pdf_text(sources.receipt_pdf(session, customer_id=customer.id,
                                        payment_id=payment.id).content)
    assert "Received from Kim & Partners GmbH" in text
    assert format_day(payment.paid_on, org.locale) in text
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text)


def test_without_a_company_a_receipt_pdf_is_received_from_the_customers_name(session, now, org):
    customer = make_customer(session, now=now)
    invoice = make_invoice(session, customer=customer, now=now, amount=2500)
    payment = pay(session, customer=customer, invoices=[invoice], amount=2500, now=now)
    text = pdf_text(sources.receipt_pdf(session, customer_id=customer.id,
                                        payment_id=payment.id).content)
    assert "Received from Kim Test" in text
