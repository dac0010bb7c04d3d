"""The rate table (issue 30): added, changed and deleted with an audit entry each; bad input
refused with a message per field and nothing written; `tax_for` sees the change at once."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.factories import make_customer
from webapp.demo import seed_organization
from webapp.models import AuditEntry, TaxRate
from webapp.services.admin import Actor, tax_rates
from webapp.services.billing import tax
from webapp.services.core.errors import NotFound
from webapp.services.core.preferences import InvalidChanges

ADMIN = Actor(None, "admin@example.com")


def _input(country="us", region=" ca ", rate="7.25", label=" Sales  tax "):
    return tax_rates.RateInput(country, region, rate, label)


def test_a_rate_is_added_cleaned_and_audited_and_tax_for_uses_it(session, now):
    seed_organization(session, now=now)
    customer = make_customer(session, now=now)
    customer.country, customer.region = "US", "CA"
    assert tax.rate_for(session, customer.id) == 2000  # the organization's, read once
    row = tax_rates.add_rate(session, actor=ADMIN, data=_input(), now=now)
    assert (row.country, row.region, row.rate_bp, row.label) == ("US", "CA", 725, "Sales tax")
    assert tax.tax_for(session, customer.id) == tax.Tax(725, "Sales tax")
    (entry,) = session.exec(select(AuditEntry).where(AuditEntry.action == "tax_rate.create"))
    assert entry.after == {"country": "US", "region": "CA", "rate_bp": 725, "label": "Sales tax"}


def test_a_rate_is_changed_and_deleted(session, now):
    seed_organization(session, now=now)
    row = tax_rates.add_rate(session, actor=ADMIN, data=_input(), now=now)
    tax_rates.update_rate(session, actor=ADMIN, rate_id=row.id, data=_input(rate="8"), now=now)
    assert session.get(TaxRate, row.id).rate_bp == 800
    (entry,) = session.exec(select(AuditEntry).where(AuditEntry.action == "tax_rate.update"))
    assert (entry.before["rate_bp"], entry.after["rate_bp"]) == (725, 800)
    tax_rates.delete_rate(session, actor=ADMIN, rate_id=row.id, now=now)
    assert tax_rates.list_rates(session) == ()
    with pytest.raises(NotFound):
        tax_rates.delete_rate(session, actor=ADMIN, rate_id=row.id, now=now)


def test_bad_input_is_refused_field_by_field_and_nothing_is_written(session, now):
    seed_organization(session, now=now)
    with pytest.raises(InvalidChanges) as refused:
        tax_rates.add_rate(session, actor=ADMIN, data=_input(country="USA", rate="1.234",
                                                             label=""), now=now)
    assert set(refused.value.errors) == {"country", "rate", "label"}
    assert "ISO 3166-1" in refused.value.errors["country"]
    assert refused.value.errors["rate"] == "Use at most two decimal places."
    assert tax_rates.list_rates(session) == ()


def test_one_rate_per_place(session, now):
    seed_organization(session, now=now)
    tax_rates.add_rate(session, actor=ADMIN, data=_input(), now=now)
    country = tax_rates.add_rate(session, actor=ADMIN, data=_input(region=""), now=now)
    with pytest.raises(InvalidChanges) as refused:
        tax_rates.add_rate(session, actor=ADMIN, data=_input(region="CA"), now=now)
    assert refused.value.errors == {"region": "This place has a rate already: edit that one."}
    with pytest.raises(InvalidChanges):
        tax_rates.update_rate(session, actor=ADMIN, rate_id=country.id, data=_input(), now=now)
    tax_rates.update_rate(session, actor=ADMIN, rate_id=country.id,
                          data=_input(region="", rate="6"), now=now)  # its own place: fine
    assert [r.rate_bp for r in tax_rates.list_rates(session)] == [600, 725]
