"""Each tax mode in exact figures (issue 30), in JPY (no minor digits), USD (two) and KWD
(three): a line's tax is computed on that line, half-up, its rate, label and basis are kept on
the invoice line, and the invoice (page and PDF) says what it must."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.factories import make_customer, moment_on
from tests.unit.documents.test_documents import pdf_text
from webapp.demo import seed_organization
from webapp.models import InvoiceLine, TaxRate
from webapp.services.billing import ledger, tax
from webapp.services.billing.pricing import Charge, price
from webapp.services.documents import sources

CURRENCIES = ("JPY", "USD", "KWD")
DE_VAT, NL_VAT = "DE136695976", "NL004495445B01"


@pytest.fixture
def org(session, now):
    org = seed_organization(session, now=now)  # VAT 20 %
    session.add_all([TaxRate(country="US", region="", rate_bp=500, label="Sales tax"),
                     TaxRate(country="US", region="CA", rate_bp=725, label="Sales tax"),
                     TaxRate(country="DE", region="", rate_bp=1900, label="MwSt"),
                     TaxRate(country="FR", region="", rate_bp=2000, label="TVA")])
    session.flush()
    return org


def _invoice(session, customer, now, lines):
    """A one-off invoice priced with the customer's tax, as every invoice is."""
    priced = price([Charge("one_off", d, q, u) for d, q, u in lines],
                   tax=tax.tax_for(session, customer.id))
    return ledger.issue_invoice(session, customer_id=customer.id, currency=customer.currency,
                                kind="one_off", priced=priced, issue_date=now.date(),
                                due_date=now.date() + timedelta(days=14), now=now)


def _lines(session, invoice):
    return [(x.amount, x.tax_amount, x.tax_rate_bp, x.tax_label, x.tax_basis)
            for x in session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                                  .order_by(InvoiceLine.position))]


def _pdf(session, customer, invoice, now) -> str:
    return pdf_text(sources.invoice_pdf(session, customer_id=customer.id, invoice_id=invoice.id,
                                        at=moment_on(now.date())).content)


@pytest.mark.parametrize("currency", CURRENCIES)
def test_exempt(session, now, org, currency):
    customer = make_customer(session, now=now, currency=currency)
    customer.country = "US"
    customer.tax_exempt, customer.tax_exempt_reason = True, "registered charity"
    invoice = _invoice(session, customer, now, [("Plan", 1, 12345), ("Seat", 3, 999)])
    assert _lines(session, invoice) == [(12345, 0, 0, "Exempt", 12345),
                                        (2997, 0, 0, "Exempt", 2997)]
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (15342, 0, 15342)
    assert invoice.tax_note == "Exempt: registered charity"
    assert "Exempt: registered charity" in _pdf(session, customer, invoice, now)


@pytest.mark.parametrize("currency", CURRENCIES)
def test_reverse_charge_with_the_note_on_the_pdf(session, now, org, currency):
    org.country, org.tax_id = "DE", DE_VAT
    customer = make_customer(session, now=now, currency=currency)
    customer.company, customer.country, customer.tax_id = "Kim BV", "NL", NL_VAT
    invoice = _invoice(session, customer, now, [("Plan", 1, 50000)])
    assert _lines(session, invoice) == [(50000, 0, 0, "VAT", 50000)]
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (50000, 0, 50000)
    text = _pdf(session, customer, invoice, now)
    assert "Reverse charge: VAT to be accounted for by the recipient" in text
    assert "0% VAT" in text


@pytest.mark.parametrize(("currency", "amounts", "taxes"), [
    # 725 bp: 1234 → 89.465 → 89; 200 → 14.5 → 15 (half-up)
    ("JPY", (1234, 200), (89, 15)),
    # 1999 → 144.93 → 145; 2 → 0.145 → 0
    ("USD", (1999, 2), (145, 0)),
    # 12345 → 895.01 → 895; 10 → 0.725 → 1
    ("KWD", (12345, 10), (895, 1)),
])
def test_a_region_rate(session, now, org, currency, amounts, taxes):
    customer = make_customer(session, now=now, currency=currency)
    customer.country, customer.region = "US", "CA"
    invoice = _invoice(session, customer, now, [("Plan", 1, amounts[0]), ("Extra", 1, amounts[1])])
    assert _lines(session, invoice) == [(amounts[0], taxes[0], 725, "Sales tax", amounts[0]),
                                        (amounts[1], taxes[1], 725, "Sales tax", amounts[1])]
    assert invoice.tax_total == sum(taxes)
    assert invoice.total == sum(amounts) + sum(taxes)
    assert "7.25% Sales tax" in _pdf(session, customer, invoice, now)


@pytest.mark.parametrize(("currency", "prices", "taxes"), [
    # 20 % inside the price: 1000 → 166.67 → 167; 999 → 166.5 → 167 (half-up)
    ("JPY", (1000, 999), (167, 167)),
    # 1999 → 333.17 → 333; 5 → 0.83 → 1
    ("USD", (1999, 5), (333, 1)),
    # 120000 → 20000 exactly; 7 → 1.17 → 1
    ("KWD", (120000, 7), (20000, 1)),
])
def test_an_inclusive_price(session, now, org, currency, prices, taxes):
    org.tax_inclusive = True
    customer = make_customer(session, now=now, currency=currency)
    invoice = _invoice(session, customer, now, [("Plan", 1, prices[0]), ("Extra", 1, prices[1])])
    assert _lines(session, invoice) == [
        (p - t, t, 2000, "VAT", p - t) for p, t in zip(prices, taxes, strict=True)]
    # The totals stay the sum of the prices.
    assert invoice.total == sum(prices)
    assert (invoice.subtotal, invoice.tax_total) == (sum(prices) - sum(taxes), sum(taxes))


@pytest.mark.parametrize(("currency", "amount", "before", "after"), [
    ("JPY", 9999, 1900, 2000),  # 1899.81 → 1900; 1999.8 → 2000
    ("USD", 10001, 1900, 2000),  # 1900.19 → 1900; 2000.2 → 2000
    ("KWD", 2500, 475, 500),
])
def test_a_customer_moving_country_mid_term(session, now, org, currency, amount, before, after):
    customer = make_customer(session, now=now, currency=currency)
    customer.country = "DE"
    first = _invoice(session, customer, now, [("Plan", 1, amount)])
    customer.country = "FR"  # moved: the next invoice uses the new rate
    second = _invoice(session, customer, now, [("Plan", 1, amount)])
    assert _lines(session, first) == [(amount, before, 1900, "MwSt", amount)]
    assert _lines(session, second) == [(amount, after, 2000, "TVA", amount)]
    assert "19% MwSt" in _pdf(session, customer, first, now)  # the issued one keeps its rate
    assert "20% TVA" in _pdf(session, customer, second, now)
