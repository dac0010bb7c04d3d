"""Forwarding a document from its page: the form, the limits, and queued → sent."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.conftest import FIXED_NOW, post_form
from tests.web.admin.test_preferences import _set
from tests.web.routes import first_id
from webapp import demo
from webapp.db import db
from webapp.models import ContactPerson, CreditNote, Invoice, Payment
from webapp.services.documents import forwarding


def janes_invoice(app, seeded) -> int:
    with app.app_context():
        return first_id(db.session, Invoice, seeded.jane_customer_id)


def janes_contacts(app, seeded) -> list[ContactPerson]:
    with app.app_context():
        return list(db.session.exec(select(ContactPerson).where(
            ContactPerson.customer_id == seeded.jane_customer_id).order_by(ContactPerson.id)))


def queued_forward(app, seeded, invoice_id: int) -> int:
    """A forward as the request leaves it before any sender has run."""
    with app.app_context():
        result = forwarding.forward(db.session, customer_id=seeded.jane_customer_id,
                                    user_id=None, kind="invoice", document_id=invoice_id,
                                    contact_ids=[], addresses="acct@example.org", message="",
                                    now=FIXED_NOW)
        db.session.commit()  # committed without dispatching: the rows stay queued
        return result.forward_id


def test_a_document_page_offers_forward_while_the_preference_allows_it(app, client, auth,
                                                                       seeded):
    invoice_id = janes_invoice(app, seeded)
    auth.login()
    assert f'href="/invoices/{invoice_id}/forward"' in client.get(
        f"/invoices/{invoice_id}").get_data(as_text=True)
    _set(app, forward_documents=False)
    assert "/forward" not in client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert client.get(f"/invoices/{invoice_id}/forward").status_code == 404


def test_the_forward_form_lists_the_customers_contact_persons(app, client, auth, seeded):
    invoice_id, contacts = janes_invoice(app, seeded), janes_contacts(app, seeded)
    auth.login()
    page = client.get(f"/invoices/{invoice_id}/forward").get_data(as_text=True)
    for person in contacts:
        assert f'name="contacts" value="{person.id}"' in page and person.email in page


def test_forwarding_goes_to_a_page_that_shows_each_recipient_sent(app, client, auth, seeded):
    invoice_id, (sam, *_rest) = janes_invoice(app, seeded), janes_contacts(app, seeded)
    auth.login()
    response = post_form(client, f"/invoices/{invoice_id}/forward",
                         {"contacts": [str(sam.id)], "addresses": "acct@example.org",
                          "message": "For the books"})
    assert response.status_code == 303
    assert re.fullmatch(r"/documents/forwards/\d+", response.headers["Location"])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is on its way to 2 recipient(s)" in page
    assert page.count(">Sent</span>") == 2 and "hx-trigger" not in page


def test_a_bad_address_keeps_the_form_with_the_message_next_to_the_field(app, client, auth,
                                                                         seeded):
    invoice_id = janes_invoice(app, seeded)
    auth.login()
    response = post_form(client, f"/invoices/{invoice_id}/forward",
                         {"addresses": "acct@example.org, nobody", "message": "Kept"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="addresses-errors" class="field-error">“nobody” is not an email address.' in page
    assert re.search(r">\s*acct@example.org, nobody</textarea>", page)
    assert re.search(r">\s*Kept</textarea>", page)


def test_a_queued_forward_shows_a_status_that_htmx_polls(app, client, auth, seeded):
    forward_id = queued_forward(app, seeded, janes_invoice(app, seeded))
    auth.login()
    body = client.get(f"/documents/forwards/{forward_id}",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert body.lstrip().startswith('<section id="document-forward-status"')
    assert 'hx-trigger="every 1s"' in body and ">Queued</span>" in body


def test_a_queued_forward_page_refreshes_itself_without_javascript(app, client, auth, seeded):
    forward_id = queued_forward(app, seeded, janes_invoice(app, seeded))
    auth.login()
    page = client.get(f"/documents/forwards/{forward_id}").get_data(as_text=True)
    assert "<html" in page and '<meta http-equiv="refresh" content="2">' in page


def test_omar_cannot_see_janes_forward(app, client, auth, seeded):
    forward_id = queued_forward(app, seeded, janes_invoice(app, seeded))
    auth.login(*demo.OMAR)
    assert client.get(f"/documents/forwards/{forward_id}").status_code == 404


@pytest.mark.parametrize(("kind", "model"), [("credits", CreditNote), ("payments", Payment)])
def test_a_credit_note_or_receipt_forward_shows_its_documents_number(app, client, auth, seeded,
                                                                     kind, model):
    with app.app_context():
        document = db.session.get(model, first_id(db.session, model, seeded.jane_customer_id))
        number = document.number
    auth.login()
    response = post_form(client, f"/{kind}/{document.id}/forward",
                         {"addresses": "acct@example.org"})
    assert response.status_code == 303
    fragment = client.get(response.headers["Location"], headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="document-forward-status"')
    assert "<html" not in body
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert number in page and "acct@example.org" in page


def test_the_polled_status_reads_in_the_customers_language(app, client, auth, seeded):
    """The fragment's status labels and its page's link back, in German for a German
    customer (the read comes with the login; the link is built by the full page only)."""
    from webapp.models import Customer

    invoice_id = janes_invoice(app, seeded)
    forward_id = queued_forward(app, seeded, invoice_id)
    with app.app_context():
        db.session.get(Customer, seeded.jane_customer_id).locale = "de_DE"
        db.session.commit()
    auth.login()
    fragment = client.get(f"/documents/forwards/{forward_id}",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert ">In der Warteschlange</span>" in fragment and "<html" not in fragment
    page = client.get(f"/documents/forwards/{forward_id}").get_data(as_text=True)
    assert f'<a href="/invoices/{invoice_id}">← Rechnung ' in page
    assert ">In der Warteschlange</span>" in page
