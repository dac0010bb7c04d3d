"""`tax.tax_for(session, customer_id)`: the one place that says which tax applies (issue 30),
its order (exempt, reverse charge, region, country, the organization's rate), the VAT number
and country checks, and what the organization snapshot it reads costs (core.organization)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, update

from tests.factories import make_customer
from webapp.demo import seed_organization
from webapp.models import Customer, Organization, TaxRate
from webapp.services.accounts import request_facts
from webapp.services.billing import tax
from webapp.services.core import organization, places

DE_VAT, NL_VAT = "DE136695976", "NL004495445B01"  # valid format and check digits


@contextmanager
def statements(session):
    seen = []

    def before(_conn, _cursor, statement, *_args):
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _rates(session):
    session.add_all([TaxRate(country="US", region="", rate_bp=500, label="Sales tax"),
                     TaxRate(country="US", region="CA", rate_bp=725, label="Sales tax"),
                     TaxRate(country="DE", region="", rate_bp=1900, label="MwSt")])
    session.flush()
    tax.forget_rates(session)


def test_a_customer_without_a_place_pays_the_organizations_rate(session, now):
    seed_organization(session, now=now)  # VAT 20 %
    customer = make_customer(session, now=now)
    assert tax.tax_for(session, customer.id) == tax.Tax(2000, "VAT")
    assert tax.rate_for(session, customer.id) == 2000
    session.get(Organization, 1).tax_rate_bp = 750
    assert tax.rate_for(session, customer.id) == 750


def test_region_beats_country_beats_the_organizations_rate(session, now):
    seed_organization(session, now=now)
    _rates(session)
    customer = make_customer(session, now=now)
    customer.country, customer.region = "US", "ca"
    assert tax.tax_for(session, customer.id) == tax.Tax(725, "Sales tax")
    customer.region = "NY"  # no rate of its own: the country's
    assert tax.tax_for(session, customer.id) == tax.Tax(500, "Sales tax")
    customer.country, customer.region = "JP", ""  # nothing matches: the organization's
    assert tax.tax_for(session, customer.id) == tax.Tax(2000, "VAT")


def test_an_exempt_customer_pays_nothing_and_says_why(session, now):
    seed_organization(session, now=now)
    _rates(session)
    customer = make_customer(session, now=now)
    customer.country, customer.region = "US", "CA"
    customer.tax_exempt, customer.tax_exempt_reason = True, "registered charity"
    assert tax.tax_for(session, customer.id) == tax.Tax(0, "Exempt", False,
                                                        "Exempt: registered charity")


def test_the_reverse_charge_for_an_eu_business_in_another_country(session, now):
    org = seed_organization(session, now=now)
    org.country, org.tax_id = "DE", DE_VAT
    _rates(session)
    customer = make_customer(session, now=now)
    customer.country, customer.tax_id = "NL", NL_VAT
    assert tax.tax_for(session, customer.id) == tax.Tax(0, "VAT", False, tax.REVERSE_CHARGE_NOTE)
    customer.tax_id = ""  # a consumer: the organization's rate
    assert tax.tax_for(session, customer.id).rate_bp == 2000
    customer.country, customer.tax_id = "DE", DE_VAT  # the same country: its rate
    assert tax.tax_for(session, customer.id) == tax.Tax(1900, "MwSt")
    org.country = "US"  # the seller is not in the EU: no reverse charge
    customer.country, customer.tax_id = "NL", NL_VAT
    assert tax.tax_for(session, customer.id).note == ""


def test_inclusive_prices_are_the_organizations_setting(session, now):
    org = seed_organization(session, now=now)
    org.tax_inclusive = True
    customer = make_customer(session, now=now)
    assert tax.tax_for(session, customer.id) == tax.Tax(2000, "VAT", True)
    assert tax.Tax(2000, "VAT", True).of(1000) == 167  # 1000 × 20/120 = 166.67
    assert tax.Tax(2000, "VAT", True).of(999) == 167  # 166.5, half-up
    assert tax.Tax(2000, "VAT").of(1999) == 400  # 399.8


@pytest.mark.parametrize(("typed", "country", "clean"), [
    ("de 136 695 976", "DE", DE_VAT), ("136695976", "DE", DE_VAT),
    ("NL004495445B01", "NL", NL_VAT)])
def test_vat_numbers_are_checked_for_their_format_per_country(typed, country, clean):
    assert places.clean_vat_number(typed, country) == clean


@pytest.mark.parametrize(("typed", "country"), [
    ("DE136695977", "DE"),  # a wrong check digit
    ("DE12", "DE"), (NL_VAT, "DE")])  # too short; another country's number
def test_bad_vat_numbers_are_refused(typed, country):
    with pytest.raises(ValueError, match="not a valid VAT number"):
        places.clean_vat_number(typed, country)


def test_countries_are_iso_3166_codes():
    assert places.clean_country(" de ") == "DE"
    assert places.clean_country("") == ""
    for bad in ("XX", "EU", "ZZ", "Germany", "D"):
        with pytest.raises(ValueError, match="ISO 3166-1"):
            places.clean_country(bad)


def test_no_organization_no_tax(session):
    assert tax.rate_for(session, None) is None
    assert tax.tax_for(session, None) == tax.NO_TAX


def test_an_organization_without_a_rate_charges_no_tax(session, now):
    seed_organization(session, now=now).tax_rate_bp = None
    make_customer(session, now=now)
    assert tax.rate_for(session, 1) is None


def test_the_snapshot_a_session_read_costs_no_organization_statement(session, now):
    seed_organization(session, now=now)
    session.commit()
    session.expunge_all()  # as in a request: the login statement read a snapshot, no ORM row
    request_facts.organization(session)
    with statements(session) as seen:
        assert tax.rate_for(session, None) == 2000
        assert tax.rate_for(session, 1) == 2000  # (no such customer: one look for it)
    assert not [s for s in seen if "organization" in s.lower()]


def test_without_a_snapshot_the_row_is_loaded_once(session, now):
    seed_organization(session, now=now)
    session.commit()
    session.expunge_all()
    with statements(session) as seen:
        assert tax.rate_for(session, None) == 2000
        assert tax.rate_for(session, None) == 2000
    assert len([s for s in seen if "organization" in s.lower()]) == 1


def test_the_rate_table_is_read_once_per_session(session, now):
    seed_organization(session, now=now)
    _rates(session)
    first = make_customer(session, now=now)
    second = make_customer(session, now=now, email="lee@example.com")
    first.country = second.country = "US"
    session.flush()
    with statements(session) as seen:
        assert tax.rate_for(session, first.id) == tax.rate_for(session, second.id) == 500
    assert len([s for s in seen if "from tax_rate" in s.lower()]) == 1
    tax.forget_rates(session)
    with statements(session) as seen:
        assert tax.taxes_for(session, [first.id, second.id])[second.id].rate_bp == 500
    assert len([s for s in seen if "from tax_rate" in s.lower()]) == 1


def test_a_row_the_session_loaded_comes_before_the_snapshot(session, now):
    seed_organization(session, now=now)
    session.commit()
    session.expunge_all()
    organization.remember(session, request_facts.organization(session))
    session.execute(update(Organization).values(tax_rate_bp=500))
    assert tax.rate_for(session, None) == 2000  # the snapshot, as read
    org = session.get(Organization, 1)  # loaded now, to change it, say
    assert tax.rate_for(session, None) == 500 == org.tax_rate_bp


def test_the_customers_facts_the_login_read_cost_no_statement(session, now):
    seed_organization(session, now=now)
    customer = make_customer(session, now=now)
    customer_id = customer.id
    session.commit()
    session.expunge_all()
    request_facts.organization(session)
    tax.remember_customer(session, tax.CustomerFacts(customer_id, "", "", True, "charity", ""))
    with statements(session) as seen:
        assert tax.tax_for(session, customer_id).note == "Exempt: charity"
    assert seen == []
    row = session.get(Customer, customer_id)  # loaded now, to change it, say: it comes first
    assert tax.tax_for(session, customer_id) == tax.Tax(2000, "VAT") and not row.tax_exempt
