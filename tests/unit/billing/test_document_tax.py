"""What a document shows of its tax (issue 25): the rate its lines were priced at, kept with
the invoice through every path that issues one, and the summary by rate."""

from __future__ import annotations

from datetime import date

from tests.factories import make_customer
from webapp.services.billing import ledger, paid_terms, tax
from webapp.services.billing.pricing import Charge, Line, price, taxed
from webapp.services.billing.terms import InvoiceDraft
from webapp.services.core.money import format_rate


def test_pricing_keeps_the_rate_its_tax_was_computed_at():
    assert price([Charge("plan", "Pro", 1, 5000)], tax_rate_bp=2000).tax_rate_bp == 2000
    assert taxed([Charge("one_off", "Extra", 1, 999)], 750).tax_rate_bp == 750
    assert price([Charge("plan", "Pro", 1, 5000)]).tax_rate_bp is None


def test_an_invoice_keeps_the_rate_it_was_priced_at(session, now):
    customer = make_customer(session, now=now)
    invoice = ledger.issue_invoice(
        session, customer_id=customer.id, currency="USD", kind="one_off",
        priced=price([Charge("one_off", "Setup", 1, 1000)], tax_rate_bp=2000),
        issue_date=now.date(), due_date=now.date(), now=now)
    assert (invoice.tax_rate_bp, invoice.tax_total) == (2000, 200)


def test_a_draft_waiting_for_its_charge_keeps_its_rate():
    draft = InvoiceDraft("first_term", price([Charge("plan", "Pro", 1, 5000)], tax_rate_bp=2000),
                         ledger.Period(date(2026, 11, 1), date(2026, 12, 1)), ())
    assert paid_terms.decode_draft(paid_terms.encode_draft(draft)).priced.tax_rate_bp == 2000


def test_a_draft_encoded_before_rates_were_kept_decodes_without_one():
    encoded = paid_terms.encode_draft(InvoiceDraft(
        "first_term", price([Charge("plan", "Pro", 1, 5000)], tax_rate_bp=2000),
        ledger.Period(date(2026, 11, 1), date(2026, 12, 1)), ()))
    del encoded["tax_rate_bp"]
    assert paid_terms.decode_draft(encoded).priced.tax_rate_bp is None


def test_the_tax_summary_adds_up_the_lines_basis_and_tax_at_their_rate():
    lines = [Line("plan", "Pro", 1, 5000, 5000, 1000), Line("addon", "Seats", 3, 999, 2997, 599),
             Line("discount", "Coupon", 1, -500, -500, -100)]
    assert tax.summary(lines, 2000) == (tax.TaxBand(2000, 7497, 1499),)


def test_a_document_without_tax_has_no_tax_summary():
    assert tax.summary([Line("plan", "Pro", 1, 5000, 5000, 0)], None) == ()


def test_a_rate_is_written_as_a_percentage_in_the_locale():
    assert format_rate(2000, "en_GB") == "20%"
    assert format_rate(750, "en_US") == "7.5%"
    assert format_rate(750, "de_DE") == "7,5%"
    assert format_rate(None) == ""


def test_a_rate_is_written_once_per_rate_and_locale():
    format_rate.cache_clear()
    assert [format_rate(750, "de_DE") for _ in range(5)] == ["7,5%"] * 5
    assert format_rate(2000, "en_GB") == "20%"
    assert (format_rate.cache_info().hits, format_rate.cache_info().misses) == (4, 2)
