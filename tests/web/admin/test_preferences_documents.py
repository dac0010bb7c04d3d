"""The organization's details its documents carry (issue 25), on the admin preferences page:
legal name, tax number and payment instructions, saved and audited like the other
organization fields; bad input is refused next to its field and changes nothing."""

from __future__ import annotations

import re

import pytest

from tests.conftest import post_form
from tests.web.admin.test_preferences import PAGE, _save, _saved_form
from webapp import demo
from webapp.db import db
from webapp.models import Organization
from webapp.services.core import audit

INSTRUCTIONS = "Bank transfer to Northwind Cloud Group\nIBAN GB33 BUKB 2020 1555 5555 55"


@pytest.fixture
def admin(client, auth, seeded):
    auth.login(*demo.ADMIN)
    return client


def _org(app) -> Organization:
    with app.app_context():
        return db.session.get(Organization, 1)


def test_the_organization_group_has_the_documents_legal_details(admin):
    page = admin.get(PAGE).get_data(as_text=True)
    organization = page.split("<h2>Organization</h2>")[1].split("</fieldset>")[0]
    for name in ("legal_name", "tax_id", "payment_instructions"):
        assert f'name="{name}"' in organization
    assert re.search(r'<textarea [^>]*name="payment_instructions"', organization)
    assert 'value="Northwind Cloud Limited"' in organization  # the demo's, as saved


def test_saving_the_legal_details_shows_and_audits_each_change(admin, app):
    response = _save(admin, legal_name="Northwind Cloud Group Limited", tax_id="gb 987654321",
                     payment_instructions=INSTRUCTIONS)
    assert response.status_code == 303 and response.headers["Location"] == PAGE
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Legal name: Northwind Cloud Limited → Northwind Cloud Group Limited" in page
    assert "Tax number: GB123456789 → GB 987654321" in page  # stored upper-case
    org = _org(app)
    assert (org.legal_name, org.tax_id, org.payment_instructions) == (
        "Northwind Cloud Group Limited", "GB 987654321", INSTRUCTIONS)
    with app.app_context():
        (entry,) = audit.recent(db.session, subject_type=("organization",), limit=1)
    assert entry.action == "organization.update" and entry.actor_label == demo.ADMIN[0]
    assert entry.before == {"legal_name": "Northwind Cloud Limited", "tax_id": "GB123456789",
                            "payment_instructions": demo.DEMO_PAYMENT_INSTRUCTIONS}
    assert entry.after == {"legal_name": "Northwind Cloud Group Limited",
                           "tax_id": "GB 987654321", "payment_instructions": INSTRUCTIONS}


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("tax_id", "GB<123456789>", "Enter a tax ID of 4 to 30 letters and digits"),
    ("tax_id", "VAT", "Enter a tax ID of 4 to 30 letters and digits"),
    ("legal_name", "N" * 201, "Use at most 200 characters."),
    ("payment_instructions", "x" * 1001, "Use at most 1000 characters."),
])
def test_bad_legal_details_are_refused_next_to_their_field_and_nothing_is_saved(
        admin, app, field, typed, message):
    response = _save(admin, **{field: typed, "phone": "+44 20 7946 0000"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page
    errors = page.split(f'id="{field}-errors"')[1].split("</small>")[0]
    assert message in errors
    org = _org(app)
    assert (org.legal_name, org.tax_id, org.phone) == (
        "Northwind Cloud Limited", "GB123456789", "+44 117 496 0000")


def test_with_htmx_a_save_redirects_the_page_and_a_refusal_comes_back_with_its_message(admin):
    refused = post_form(admin, PAGE, {**_saved_form(admin), "tax_id": "GB<1>"}, htmx=True)
    assert refused.status_code == 422 and 'id="tax_id-errors"' in refused.get_data(as_text=True)
    saved = post_form(admin, PAGE, {**_saved_form(admin), "tax_id": "GB111111111"}, htmx=True)
    assert saved.status_code == 200 and saved.headers["HX-Redirect"] == PAGE
