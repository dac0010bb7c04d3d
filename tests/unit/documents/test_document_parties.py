"""Documents a business can send (issue 25): every PDF names the seller (legal name, address,
tax number) and the customer (billing address, tax number) and numbers its pages "Page N of
M"; invoices and estimates show each line's rate and net amount and a tax summary; a payable
invoice carries "Pay online" and the payment instructions."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.factories import make_customer, make_invoice, moment_on, pay
from tests.unit.documents.test_documents import pdf_text
from webapp import demo
from webapp.services.admin import estimates as estimate_admin
from webapp.services.billing import ledger
from webapp.services.billing.pricing import Charge, price
from webapp.services.documents import sources, statements

PAGE_URL_BASE = "https://portal.example"


def page_url(endpoint: str, values) -> str:
    """What webapp.links.page_urls builds, without an app: enough to see what was asked."""
    assert endpoint == "invoices.detail"
    return f"{PAGE_URL_BASE}/invoices/{values['invoice_id']}"


@pytest.fixture
def org(session, now):
    org = demo.seed_organization(session, now=now)
    org.name, org.legal_name, org.tax_id = "Northwind", "Northwind Cloud Limited", "GB123456789"
    org.address = "12 Harbour Street\nBristol BS1 4ND"
    org.payment_instructions = "IBAN GB33 BUKB 2020 1555 5555 55\nQuote the invoice number."
    session.flush()
    return org


@pytest.fixture
def customer(session, now):
    customer = make_customer(session, now=now, currency="GBP")
    customer.company = "Kim & Partners GmbH"
    customer.billing_address = "Friedrichstraße 100\n10117 Berlin"
    customer.tax_id = "DE987654321"
    session.flush()
    return customer


def _taxed_invoice(session, customer, now, *, lines=(("Design", 2, 45000), ("Hosting", 1, 999))):
    priced = price([Charge("one_off", d, q, u) for d, q, u in lines], tax_rate_bp=2000)
    return ledger.issue_invoice(session, customer_id=customer.id, currency=customer.currency,
                                kind="one_off", priced=priced, issue_date=now.date(),
                                due_date=now.date() + timedelta(days=14), now=now)


def _invoice_text(session, customer, invoice, now, **kwargs) -> str:
    return pdf_text(sources.invoice_pdf(session, customer_id=customer.id, invoice_id=invoice.id,
                                        at=moment_on(now.date()), **kwargs).content)


def _estimate(session, customer, now):
    data = estimate_admin.EstimateInput(
        "Website", now.date(), now.date() + timedelta(days=30), "",
        (estimate_admin.LineInput("Discovery workshop", "1", "900.00"),
         estimate_admin.LineInput("Design, per page", "8", "450.00")))
    draft = estimate_admin.create_estimate(session, customer_id=customer.id, data=data, now=now)
    return estimate_admin.send_estimate(session, estimate_id=draft.id, now=now)


def _document_text(session, kind, customer, now) -> str:
    """The text of one document of `kind` for `customer`, made for the test."""
    at = moment_on(now.date())
    if kind == "statement":
        _taxed_invoice(session, customer, now)
        period = statements.StatementPeriod("custom", date(2000, 1, 1), now.date())
        return pdf_text(statements.statement_pdf(session, customer_id=customer.id,
                                                 period=period, at=at).content)
    if kind == "credit_note":
        document_id = ledger.create_credit_note(
            session, customer_id=customer.id, currency="GBP", total=5000, reason="Goodwill",
            issue_date=now.date(), now=now).id
    elif kind == "receipt":
        invoice = make_invoice(session, customer=customer, now=now, amount=2500)
        document_id = pay(session, customer=customer, invoices=[invoice], amount=2500,
                          now=now).id
    elif kind == "estimate":
        document_id = _estimate(session, customer, now).id
    else:
        document_id = _taxed_invoice(session, customer, now).id
    return pdf_text(sources.document_pdf(session, kind=kind, customer_id=customer.id,
                                         document_id=document_id, at=at,
                                         page_url=page_url).content)


KINDS = ["invoice", "credit_note", "receipt", "statement", "estimate"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_document_names_the_seller_with_its_legal_name_address_and_vat_number(
        session, now, org, customer, kind):
    text = _document_text(session, kind, customer, now)
    assert "Northwind Cloud Limited 12 Harbour Street Bristol BS1 4ND" in text
    assert "VAT number: GB123456789" in text


@pytest.mark.parametrize("kind", KINDS)
def test_every_document_names_the_customer_with_billing_address_and_tax_number(
        session, now, org, customer, kind):
    text = _document_text(session, kind, customer, now)
    assert "Kim & Partners GmbH" in text
    assert "Friedrichstraße 100 10117 Berlin" in text
    assert "VAT number: DE987654321" in text


@pytest.mark.parametrize("kind", KINDS)
def test_every_document_numbers_its_pages_page_n_of_m(session, now, org, customer, kind):
    assert "Page 1 of 1" in _document_text(session, kind, customer, now)


def test_a_long_invoice_counts_all_its_pages_on_each(session, now, org, customer):
    lines = [(f"Consulting day {n}", 1, 50000) for n in range(1, 91)]
    invoice = _taxed_invoice(session, customer, now, lines=lines)
    text = _invoice_text(session, customer, invoice, now, page_url=page_url)
    pages = int(re.search(r"Page 1 of (\d+)", text).group(1))
    assert pages >= 2
    assert all(f"Page {n} of {pages}" in text for n in range(1, pages + 1))


def test_an_invoice_shows_each_lines_net_amount_rate_and_tax_and_a_tax_summary(
        session, now, org, customer):
    invoice = _taxed_invoice(session, customer, now)
    text = _invoice_text(session, customer, invoice, now, page_url=page_url)
    # Item, quantity, price, net amount (the basis), rate, tax.
    assert "Design 2 £450.00 £900.00 20% £180.00" in text
    assert "Hosting 1 £9.99 £9.99 20% £2.00" in text
    assert "VAT summary Rate Taxable amount VAT 20% £909.99 £182.00" in text


def test_an_estimate_shows_each_lines_rate_and_a_tax_summary(session, now, org, customer):
    text = _document_text(session, "estimate", customer, now)
    # (its lines were taxed with the customer's tax, `tax_for`: the rate and its label)
    assert "Discovery workshop 1 £900.00 £900.00 20% VAT £180.00" in text
    assert "VAT summary Rate Taxable amount VAT 20% VAT £4,500.00 £900.00" in text


def test_an_invoice_keeps_the_rate_it_was_taxed_at_when_the_rate_changes(
        session, now, org, customer):
    invoice = _taxed_invoice(session, customer, now)
    org.tax_rate_bp = 1900
    session.flush()
    text = _invoice_text(session, customer, invoice, now, page_url=page_url)
    assert "20% £180.00" in text and "19%" not in text


def test_an_invoice_without_tax_has_no_rate_and_no_tax_summary(session, now, org, customer):
    invoice = make_invoice(session, customer=customer, now=now, amount=1000)
    text = _invoice_text(session, customer, invoice, now, page_url=page_url)
    assert "Service 1 £10.00 £10.00 — £0.00" in text
    assert "VAT summary" not in text


def test_a_payable_invoice_links_to_its_page_to_pay_online_and_says_how_to_pay_by_transfer(
        session, now, org, customer):
    invoice = _taxed_invoice(session, customer, now)
    text = _invoice_text(session, customer, invoice, now, page_url=page_url)
    assert f"Pay online: {PAGE_URL_BASE}/invoices/{invoice.id}" in text
    assert "IBAN GB33 BUKB 2020 1555 5555 55 Quote the invoice number." in text


def test_a_paid_invoice_asks_for_no_payment(session, now, org, customer):
    invoice = make_invoice(session, customer=customer, now=now, amount=2500)
    pay(session, customer=customer, invoices=[invoice], amount=2500, now=now)
    text = _invoice_text(session, customer, invoice, now, page_url=page_url)
    assert "Pay online" not in text and "IBAN" not in text


def test_without_a_legal_name_documents_name_the_seller_by_its_name(session, now, org, customer):
    org.legal_name = ""
    session.flush()
    invoice = _taxed_invoice(session, customer, now)
    text = _invoice_text(session, customer, invoice, now, page_url=page_url)
    assert text.startswith("Northwind · Invoice")
    assert "Northwind 12 Harbour Street" in text


def test_without_a_tax_name_a_tax_number_is_a_tax_id(session, now, org, customer):
    org.tax_name, org.tax_rate_bp = None, None
    session.flush()
    invoice = make_invoice(session, customer=customer, now=now)
    text = _invoice_text(session, customer, invoice, now, page_url=page_url)
    assert "Tax ID: GB123456789" in text and "Tax ID: DE987654321" in text


def test_an_attached_invoice_carries_the_pay_link_the_sender_builds(session, now, org, customer):
    invoice = _taxed_invoice(session, customer, now)
    document = sources.attachment(session, kind="invoice", document_id=invoice.id,
                                  customer_id=customer.id, now=now, page_url=page_url)
    assert f"Pay online: {PAGE_URL_BASE}/invoices/{invoice.id}" in pdf_text(document.content)
