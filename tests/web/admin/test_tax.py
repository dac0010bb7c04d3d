"""Tax on the web (issue 30): the admin edits the rate table (add, edit, delete, messages next
to the fields), a customer's country, region and exemption, and the organization's country
and inclusive prices; each with and without HX-Request. The customer sees each line's rate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.conftest import FIXED_NOW, post_form
from tests.web.admin.test_preferences import PAGE as PREFERENCES
from tests.web.admin.test_preferences import _saved_form
from webapp import demo
from webapp.db import db
from webapp.models import Customer, Organization, TaxRate
from webapp.services.billing import ledger, tax
from webapp.services.billing.pricing import Charge, price

RATES = "/admin/tax-rates"


@pytest.fixture
def admin(client, auth, seeded):
    auth.login(*demo.ADMIN)
    return client


def _rates(app) -> list[tuple]:
    with app.app_context():
        return [(r.country, r.region, r.rate_bp, r.label) for r in
                db.session.exec(select(TaxRate).order_by(TaxRate.country, TaxRate.region))]


def _add(app, country="US", region="CA", rate_bp=725, label="Sales tax") -> int:
    with app.app_context():
        row = TaxRate(country=country, region=region, rate_bp=rate_bp, label=label)
        db.session.add(row)
        db.session.commit()
        return row.id


def _rate_form(country="US", region="CA", rate="7.25", label="Sales tax") -> dict:
    return {"country": country, "region": region, "rate": rate, "label": label}


# -- The rate table ---------------------------------------------------------------------------

def test_the_rate_table_is_the_admins_only(client, auth, seeded):
    auth.login()  # Jane, a customer
    assert client.get(RATES).status_code == 404


def test_the_page_lists_the_rates_and_offers_to_add_one(admin, app):
    _add(app)
    page = admin.get(RATES).get_data(as_text=True)
    assert 'id="admin-tax-rates"' in page and "<h1>Tax rates</h1>" in page
    assert "7.25%" in page and "Sales tax" in page and "Add a rate" in page
    fragment = admin.get(RATES, headers={"HX-Request": "true"})
    assert "<h1>" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


def test_adding_a_rate_with_htmx_swaps_the_table(admin, app):
    response = post_form(admin, RATES, _rate_form(country="us", region="ca"), htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.startswith('<section id="admin-tax-rates"') or 'id="admin-tax-rates"' in body
    assert "<h1>" not in body and "Tax rate for US CA added." in body
    assert _rates(app) == [("US", "CA", 725, "Sales tax")]


def test_adding_a_rate_without_htmx_redirects_to_the_page(admin, app):
    response = post_form(admin, RATES, _rate_form(region=""))
    assert response.status_code == 303 and response.headers["Location"].endswith(RATES)
    assert "Tax rate for US added." in admin.get(RATES).get_data(as_text=True)
    assert _rates(app) == [("US", "", 725, "Sales tax")]


@pytest.mark.parametrize("htmx", [True, False])
@pytest.mark.parametrize(("field", "typed", "message"), [
    ("country", "XX", "ISO 3166-1"),
    ("country", "", "Enter the country"),
    ("rate", "abc", "Enter a percentage such as 20 or 7.5."),
    ("rate", "101", "Enter a rate from 0 to 100 %."),
    ("rate", "", "Enter the rate"),
    ("label", "", "Name the tax"),
])
def test_a_bad_rate_is_refused_next_to_its_field_and_nothing_is_saved(admin, app, htmx, field,
                                                                     typed, message):
    response = post_form(admin, RATES, {**_rate_form(), field: typed}, htmx=htmx)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-errors"' in body
    assert message in body.split(f'id="{field}-errors"')[1].split("</small>")[0]
    assert ("<h1>" in body) is not htmx
    assert _rates(app) == []


def test_a_place_has_one_rate(admin, app):
    _add(app)
    response = post_form(admin, RATES, _rate_form(rate="8"), htmx=True)
    assert response.status_code == 422
    assert "This place has a rate already" in response.get_data(as_text=True)
    assert _rates(app) == [("US", "CA", 725, "Sales tax")]


@pytest.mark.parametrize("htmx", [True, False])
def test_editing_a_rate(admin, app, htmx):
    rate_id = _add(app)
    form = admin.get(f"{RATES}/{rate_id}/edit").get_data(as_text=True)
    assert 'value="7.25"' in form and "Edit the rate" in form
    response = post_form(admin, f"{RATES}/{rate_id}", _rate_form(rate="7.5"), htmx=htmx,
                         token_from=f"{RATES}/{rate_id}/edit")
    assert response.status_code == (200 if htmx else 303)
    if htmx:
        assert "Tax rate saved." in response.get_data(as_text=True)
    assert _rates(app) == [("US", "CA", 750, "Sales tax")]
    refused = post_form(admin, f"{RATES}/{rate_id}", _rate_form(rate="x"), htmx=htmx,
                        token_from=f"{RATES}/{rate_id}/edit")
    assert refused.status_code == 422 and 'id="rate-errors"' in refused.get_data(as_text=True)
    assert _rates(app) == [("US", "CA", 750, "Sales tax")]


@pytest.mark.parametrize("htmx", [True, False])
def test_deleting_a_rate(admin, app, htmx):
    rate_id = _add(app)
    response = post_form(admin, f"{RATES}/{rate_id}/delete", {}, htmx=htmx, token_from=RATES)
    assert response.status_code == (200 if htmx else 303)
    assert _rates(app) == []
    assert post_form(admin, f"{RATES}/{rate_id}/delete", {}, token_from=RATES).status_code == 404


def test_posts_without_a_csrf_token_are_refused(admin, app):
    response = admin.post(RATES, data=_rate_form())
    assert response.status_code in (400, 403)
    assert _rates(app) == []


# -- The customer's place and exemption -------------------------------------------------------

def _customer_form(app, customer_id: int, **changes) -> dict:
    with app.app_context():
        c = db.session.get(Customer, customer_id)
        data = {"display_name": c.display_name, "company": c.company, "email": c.email,
                "phone": c.phone, "currency": c.currency, "tax_id": c.tax_id,
                "billing_address": c.billing_address, "shipping_address": c.shipping_address,
                "locale": c.locale or "", "country": c.country, "region": c.region,
                "tax_exempt_reason": c.tax_exempt_reason}
        if c.tax_exempt:
            data["tax_exempt"] = "y"
    return {**data, **changes}


def _customer(app, customer_id: int) -> Customer:
    with app.app_context():
        return db.session.get(Customer, customer_id)


@pytest.mark.parametrize("htmx", [True, False])
def test_the_admin_sets_a_customers_country_and_region(admin, app, seeded, htmx):
    _add(app)
    cid = seeded.jane_customer_id
    url = f"/admin/customers/{cid}/edit"
    response = post_form(admin, url, _customer_form(app, cid, country="us", region="CA"),
                         htmx=htmx)
    assert response.status_code == (200 if htmx else 303)
    customer = _customer(app, cid)
    assert (customer.country, customer.region) == ("US", "CA")
    detail = admin.get(f"/admin/customers/{cid}").get_data(as_text=True)
    assert '<dd id="customer-tax">7.25% Sales tax</dd>' in detail  # the customer viewed


@pytest.mark.parametrize("htmx", [True, False])
def test_the_admin_marks_a_customer_exempt_with_a_reason(admin, app, seeded, htmx):
    cid = seeded.jane_customer_id
    url = f"/admin/customers/{cid}/edit"
    refused = post_form(admin, url, _customer_form(app, cid, tax_exempt="y"), htmx=htmx)
    assert refused.status_code == 422
    assert "Say why the customer is exempt" in refused.get_data(as_text=True)
    assert not _customer(app, cid).tax_exempt
    response = post_form(admin, url, _customer_form(app, cid, tax_exempt="y",
                                                    tax_exempt_reason="registered charity"),
                         htmx=htmx)
    assert response.status_code == (200 if htmx else 303)
    customer = _customer(app, cid)
    assert (customer.tax_exempt, customer.tax_exempt_reason) == (True, "registered charity")
    detail = admin.get(f"/admin/customers/{cid}").get_data(as_text=True)
    assert '<dd id="customer-tax">Exempt: registered charity</dd>' in detail


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"country": "Germany"}, "country", "ISO 3166-1"),
    ({"region": "CA", "country": ""}, "country", "Enter the country of this region."),
    ({"country": "DE", "tax_id": "DE136695977"}, "tax_id", "not a valid VAT number for DE"),
])
def test_a_bad_place_or_vat_number_is_refused_next_to_its_field(admin, app, seeded, changes,
                                                                field, message):
    cid = seeded.jane_customer_id
    before = _customer(app, cid)
    response = post_form(admin, f"/admin/customers/{cid}/edit",
                         _customer_form(app, cid, **changes), htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body.split(f'id="{field}-errors"')[1].split("</small>")[0]
    after = _customer(app, cid)
    assert (after.country, after.region, after.tax_id) == \
        (before.country, before.region, before.tax_id)


def test_a_valid_vat_number_is_kept_compact_with_its_prefix(admin, app, seeded):
    cid = seeded.jane_customer_id
    response = post_form(admin, f"/admin/customers/{cid}/edit",
                         _customer_form(app, cid, country="NL", tax_id="004495445 B01"))
    assert response.status_code == 303
    assert _customer(app, cid).tax_id == "NL004495445B01"


# -- The organization's details ---------------------------------------------------------------

def _org(app) -> Organization:
    with app.app_context():
        return db.session.get(Organization, 1)


@pytest.mark.parametrize("htmx", [True, False])
def test_the_organization_gets_a_country_and_inclusive_prices(admin, app, htmx):
    data = {**_saved_form(admin), "country": "de", "tax_id": "DE 136 695 976",
            "tax_inclusive": "y"}
    response = post_form(admin, PREFERENCES, data, htmx=htmx)
    if htmx:
        assert response.status_code == 200 and response.headers["HX-Redirect"] == PREFERENCES
    else:
        assert response.status_code == 303
    org = _org(app)
    assert (org.country, org.tax_inclusive) == ("DE", True)
    page = admin.get(PREFERENCES).get_data(as_text=True)
    assert "Country: (none) → DE" in page and "Prices include tax: off → on" in page


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"country": "XX"}, "country", "ISO 3166-1"),
    ({"country": "DE", "tax_id": "DE123"}, "tax_id", "not a valid VAT number for DE"),
])
@pytest.mark.parametrize("htmx", [True, False])
def test_bad_organization_tax_details_are_refused_next_to_the_field(admin, app, changes, field,
                                                                    message, htmx):
    response = post_form(admin, PREFERENCES, {**_saved_form(admin), **changes}, htmx=htmx)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body.split(f'id="{field}-errors"')[1].split("</small>")[0]
    assert _org(app).country == ""


# -- The customer sees each line's rate -------------------------------------------------------

def _invoice_for(app, customer_id: int) -> int:
    """A one-off invoice priced with the customer's tax, as the admin's form issues it."""
    with app.app_context():
        priced = price([Charge("one_off", "Consulting", 2, 10000)],
                       tax=tax.tax_for(db.session, customer_id))
        invoice = ledger.issue_invoice(
            db.session, customer_id=customer_id, currency="USD", kind="one_off", priced=priced,
            issue_date=FIXED_NOW.date(), due_date=FIXED_NOW.date() + timedelta(days=14),
            now=FIXED_NOW)
        db.session.commit()
        return invoice.id


@pytest.mark.parametrize("htmx", [True, False])
def test_the_customer_sees_the_rate_per_line(app, client, auth, seeded, htmx):
    _add(app)
    with app.app_context():
        jane = db.session.get(Customer, seeded.jane_customer_id)
        jane.country, jane.region = "US", "CA"
        db.session.commit()
    invoice_id = _invoice_for(app, seeded.jane_customer_id)
    auth.login()
    headers = {"HX-Request": "true"} if htmx else {}
    page = client.get(f"/invoices/{invoice_id}", headers=headers).get_data(as_text=True)
    lines = page.split('<table class="lines"')[1].split("</table>")[0]
    assert '<td class="amount tax-rate">7.25% Sales tax</td>' in lines
    assert "$14.50" in lines  # 20000 × 7.25 % = 1450


def test_the_customer_sees_the_reverse_charge_note(app, client, auth, seeded):
    with app.app_context():
        org = db.session.get(Organization, 1)
        org.country, org.tax_id = "DE", "DE136695976"
        jane = db.session.get(Customer, seeded.jane_customer_id)
        jane.country, jane.tax_id = "NL", "NL004495445B01"
        db.session.commit()
    invoice_id = _invoice_for(app, seeded.jane_customer_id)
    auth.login()
    page = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert "Reverse charge: VAT to be accounted for by the recipient" in page
    assert '<td class="amount tax-rate">0% VAT</td>' in page
