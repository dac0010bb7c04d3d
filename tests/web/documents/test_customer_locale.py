"""The customer's locale (issue 25): the same $138.80 invoice read by an en_US, an en_GB (the
UK demo organization's own) and a de_DE customer, on their pages, in its PDF and in the
admin's view of it; choosing the locale on Profile and on the admin's customer form."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.conftest import Auth, post_form
from tests.factories import make_customer, make_invoice, pay
from tests.unit.documents.test_documents import pdf_text
from tests.web.app.test_query_counts import count_queries
from webapp import demo
from webapp.db import db
from webapp.models import AuditEntry, Customer, Invoice

PASSWORD = "long-enough-pw"
# locale -> (amount, issue date, <html lang>)
EXPECTED = {"en_US": ("$138.80", "Nov 26, 2026", "en-US"),
            "en_GB": ("US$138.80", "26 Nov 2026", "en-GB"),
            "de_DE": ("138,80\xa0$", "26.11.2026", "de-DE")}


@pytest.fixture
def german(catalogs):
    """A German catalog (empty: the words stay English), so a de_DE reader's words are German
    and their page's <html lang> is "de-DE" (the words' language, tests/i18n)."""
    catalogs.write("de", {})


@pytest.fixture
def readers(app, seeded, now, german):
    """locale -> (email, invoice id): one customer per locale, each with the same invoice."""
    made = {}
    with app.app_context():
        for locale in EXPECTED:
            email = f"{locale.lower()}@example.com"
            customer = make_customer(db.session, now=now, email=email, password=PASSWORD)
            customer.locale = None if locale == "en_GB" else locale  # en_GB: the organization's
            invoice = make_invoice(db.session, customer=customer, now=now, amount=13880)
            made[locale] = (email, invoice.id)
        db.session.commit()
    return made


def _login(client, email):
    Auth(client).login(email, PASSWORD)


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_the_invoice_page_is_written_in_the_customers_locale(client, readers, locale):
    email, invoice_id = readers[locale]
    amount, day, lang = EXPECTED[locale]
    _login(client, email)
    page = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert f'<html lang="{lang}"' in page
    assert amount in page and day in page


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_the_invoice_list_fragment_is_written_in_the_customers_locale(client, readers, locale):
    email, _ = readers[locale]
    amount, day, _ = EXPECTED[locale]
    _login(client, email)
    response = client.get("/invoices", headers={"HX-Request": "true"})
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and 'id="invoice-list"' in fragment
    assert amount in fragment and day in fragment


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_the_invoice_pdf_is_written_in_the_customers_locale(client, readers, locale):
    email, invoice_id = readers[locale]
    amount, day, _ = EXPECTED[locale]
    _login(client, email)
    text = pdf_text(client.get(f"/invoices/{invoice_id}.pdf").data).replace("\xa0", " ")
    assert amount.replace("\xa0", " ") in text and day in text


def test_the_admin_reads_a_german_customers_invoice_as_the_customer_does(client, auth, readers):
    _, invoice_id = readers["de_DE"]
    auth.login(*demo.ADMIN)
    page = client.get(f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    assert "138,80\xa0$" in page and "26.11.2026" in page
    assert "US$138.80" not in page


def test_the_admins_overview_of_a_german_customer_is_written_as_the_customer_reads(
        app, client, auth, readers):
    email, _invoice_id = readers["de_DE"]
    with app.app_context():
        customer_id = db.session.exec(select(Customer.id).where(Customer.email == email)).one()
    auth.login(*demo.ADMIN)
    page = client.get(f"/admin/customers/{customer_id}").get_data(as_text=True)
    assert "138,80\xa0$" in page and "US$138.80" not in page


def test_the_admins_refund_limit_for_a_german_customer_is_written_as_the_page_is(
        app, client, auth, readers, now):
    email, invoice_id = readers["de_DE"]
    with app.app_context():
        customer = db.session.exec(select(Customer).where(Customer.email == email)).one()
        payment = pay(db.session, customer=customer, invoices=[db.session.get(Invoice, invoice_id)],
                      amount=13880, now=now)
        db.session.commit()
    auth.login(*demo.ADMIN)
    receipt = f"/admin/payments/{payment.id}"
    refused = post_form(client, f"{receipt}/refund", {"amount": "200", "reference": ""},
                        token_from=receipt)
    assert refused.status_code == 422
    assert 'class="field-error">At most 138,80\xa0$ can be refunded.' in \
        refused.get_data(as_text=True)


def test_the_admins_own_invoice_list_stays_in_the_organizations_locale(client, auth, readers):
    auth.login(*demo.ADMIN)
    page = client.get("/admin/customers").get_data(as_text=True)
    assert '<html lang="en-GB"' in page and "138,80" not in page


def _statements(app, client, paths):
    counts = {}
    for path in paths:
        with count_queries(app.extensions["database"]) as statements:
            assert client.get(path).status_code == 200
        counts[path] = len(statements)
    return counts


def test_a_customers_own_locale_costs_no_extra_statement(app, readers):
    """The locale comes with the login statement: a de_DE customer's pages run as many
    statements as those of a customer who reads the organization's locale."""
    counts = {}
    for locale in ("de_DE", "en_GB"):
        email, invoice_id = readers[locale]
        client = app.test_client()
        _login(client, email)
        counts[locale] = _statements(app, client, ["/", "/invoices", f"/invoices/{invoice_id}"])
    assert list(counts["de_DE"].values()) == list(counts["en_GB"].values()), counts


def test_a_flash_names_its_date_in_the_customers_locale(app, client, readers):
    """A Dated message is formatted in the request's locale (webapp.context.say)."""
    from webapp.context import say
    from webapp.services.core.dates import dated

    seen = {}

    @app.get("/_say")
    def _say():
        seen["text"] = say(dated("Pauses on %(on)s.", on=app.config["FIXED_NOW"].date()))
        return ""

    email, _ = readers["de_DE"]
    _login(client, email)

    assert client.get("/_say").status_code == 200
    assert seen["text"] == "Pauses on 26.11.2026."


def test_a_refusal_naming_a_date_is_written_in_the_customers_locale(app, client, readers):
    """A DomainError's Dated message (a locked time entry's day) goes through webapp/errors.py."""
    from webapp.services.core.dates import dated
    from webapp.services.core.errors import IllegalTransition

    @app.get("/_refused")
    def _refused():
        raise IllegalTransition(dated("The entry of %(day)s is locked.",
                                      day=app.config["FIXED_NOW"].date()))

    email, _ = readers["de_DE"]
    _login(client, email)
    response = client.get("/_refused", headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert "The entry of 26.11.2026 is locked." in response.get_data(as_text=True)


# --- Choosing the locale ------------------------------------------------------------------

_DETAILS = {"display_name": "Jane Cooper", "company": "Cooper Design Studio",
            "phone": "+1 415 555 0134",
            "billing_address": "500 Market St\nSan Francisco, CA 94105\nUSA",  # as the demo has it
            "shipping_address": "", "tax_id": ""}


def _jane(app) -> Customer:
    with app.app_context():
        return db.session.exec(select(Customer).where(Customer.email == demo.JANE[0])).one()


def test_profile_offers_the_locales_with_the_organizations_first(client, auth, seeded):
    auth.login()
    page = client.get("/profile").get_data(as_text=True)
    assert '<option selected value="">Same as the organization (en_GB)</option>' in page
    assert '<option value="de_DE">Deutsch (Deutschland) (de_DE)</option>' in page


def test_the_customer_switches_to_german_and_sees_amounts_change(app, client, auth, seeded,
                                                                 german):
    auth.login()
    assert "US$369.40" in client.get("/").get_data(as_text=True)
    response = post_form(client, "/profile/details", _DETAILS | {"locale": "de_DE"},
                         token_from="/profile")
    assert response.status_code == 303
    assert _jane(app).locale == "de_DE"
    home = client.get("/").get_data(as_text=True)
    assert "369,40\xa0$" in home and '<html lang="de-DE"' in home
    with app.app_context():
        entry = db.session.exec(select(AuditEntry).where(
            AuditEntry.action == "profile.update")).one()
    assert entry.after == {"locale": "de_DE"}


def test_the_profile_swap_shows_the_saved_locale(app, client, auth, seeded):
    auth.login()
    response = post_form(client, "/profile/details", _DETAILS | {"locale": "fr_FR"},
                         htmx=True, token_from="/profile")
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and fragment.strip().startswith('<section id="profile-details"')
    assert "Saved: Language and region." in fragment
    assert '<option selected value="fr_FR">' in fragment


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_bad_locale_on_profile_is_refused_next_to_the_field(app, client, auth, seeded, htmx):
    auth.login()
    response = post_form(client, "/profile/details", _DETAILS | {"locale": "xx_XX"},
                         htmx=htmx, token_from="/profile")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="locale-errors" class="field-error">Choose one of the languages and '
                     r"regions offered\.<", body)
    assert ("<html" in body) is not htmx
    assert _jane(app).locale is None


def _admin_form(customer: Customer, **changes) -> dict:
    return {"display_name": customer.display_name, "company": customer.company,
            "email": customer.email, "phone": customer.phone, "currency": customer.currency,
            "tax_id": customer.tax_id, "billing_address": customer.billing_address,
            "shipping_address": customer.shipping_address, "locale": ""} | changes


def test_the_admin_sets_a_customers_locale(app, client, auth, seeded):
    jane = _jane(app)
    auth.login(*demo.ADMIN)
    path = f"/admin/customers/{jane.id}/edit"
    assert 'id="locale"' in client.get(path).get_data(as_text=True)
    response = post_form(client, path, _admin_form(jane, locale="en_US"))
    assert response.status_code == 303
    assert _jane(app).locale == "en_US"
    with app.app_context():
        entry = db.session.exec(select(AuditEntry).where(
            AuditEntry.action == "customer.update")).one()
    assert (entry.before, entry.after) == ({"locale": None}, {"locale": "en_US"})


def test_a_bad_locale_on_the_admins_form_is_refused_and_nothing_changes(app, client, auth,
                                                                         seeded):
    jane = _jane(app)
    auth.login(*demo.ADMIN)
    path = f"/admin/customers/{jane.id}/edit"
    response = post_form(client, path, _admin_form(jane, locale="de_XX", phone="+1 415 555 0000"))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="locale-errors" class="field-error">Choose one of the languages' in body
    after = _jane(app)
    assert (after.locale, after.phone) == (None, "+1 415 555 0134")


def test_where_customers_cannot_edit_profile_shows_their_locale_by_name(app, client, auth,
                                                                        seeded):
    from webapp.models import Preferences

    with app.app_context():
        db.session.exec(select(Preferences)).one().update_customer_details = False
        db.session.get(Customer, seeded.jane_customer_id).locale = "de_DE"
        db.session.commit()
    auth.login()
    page = client.get("/profile").get_data(as_text=True)
    assert "<dd>Deutsch (Deutschland) (de_DE)</dd>" in page
