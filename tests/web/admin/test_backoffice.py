"""The back office on the web: admins only (404 for customers), CSRF, messages next to fields,
and each htmx action with and without HX-Request."""

from __future__ import annotations

import io
import re

import pytest
from sqlmodel import select

from tests.conftest import csrf_token_from, post_form
from webapp import demo
from webapp.db import db
from webapp.models import (
    AuditEntry,
    ContactPerson,
    Customer,
    CustomerNote,
    Invoice,
    OutboxMessage,
    Payment,
    Plan,
    Subscription,
    User,
)

BACK_OFFICE = ("admin_customers", "admin_catalog", "admin_subscriptions", "admin_billing",
               "admin_import", "admin_audit", "admin_brand")

# Every back-office URL: (method, path with {customer} {plan} {addon} {coupon} {sub} {invoice}
# {payment} {contact} placeholders).
ROUTES = [
    ("get", "/admin/customers"), ("get", "/admin/customers/new"), ("post", "/admin/customers"),
    ("get", "/admin/customers/{customer}"), ("get", "/admin/customers/{customer}/edit"),
    ("post", "/admin/customers/{customer}/edit"), ("post", "/admin/customers/{customer}/contacts"),
    ("post", "/admin/customers/{customer}/contacts/{contact}/delete"),
    ("post", "/admin/customers/{customer}/notes"),
    ("post", "/admin/customers/{customer}/portal/invite"),
    ("post", "/admin/customers/{customer}/portal/revoke"),
    ("post", "/admin/customers/{customer}/portal/sessions/1/end"),
    ("post", "/admin/customers/{customer}/portal/sessions/end-all"),
    ("post", "/admin/customers/{customer}/portal/two-factor/reset"),
    ("get", "/admin/catalog"), ("get", "/admin/catalog/plans/new"),
    ("post", "/admin/catalog/plans"), ("get", "/admin/catalog/plans/{plan}/edit"),
    ("post", "/admin/catalog/plans/{plan}/edit"), ("post", "/admin/catalog/plans/{plan}/status"),
    ("get", "/admin/catalog/addons/{addon}/edit"), ("get", "/admin/catalog/coupons/{coupon}/edit"),
    ("get", "/admin/customers/{customer}/subscriptions/new"),
    ("post", "/admin/customers/{customer}/subscriptions"),
    ("get", "/admin/subscriptions/{sub}"), ("post", "/admin/subscriptions/{sub}/cancel"),
    ("post", "/admin/subscriptions/{sub}/pause"), ("get", "/admin/subscriptions/{sub}/change"),
    ("post", "/admin/subscriptions/{sub}/change/preview"),
    ("post", "/admin/subscriptions/{sub}/change"),
    ("post", "/admin/subscriptions/{sub}/retry-creation"),
    ("post", "/admin/subscriptions/{sub}/discard"),
    ("get", "/admin/customers/{customer}/invoices/new"),
    ("post", "/admin/customers/{customer}/invoices"), ("get", "/admin/invoices/{invoice}"),
    ("post", "/admin/invoices/{invoice}/void"),
    ("post", "/admin/invoices/{invoice}/pending-payment"),
    ("get", "/admin/customers/{customer}/payments/new"),
    ("post", "/admin/customers/{customer}/payments"), ("get", "/admin/payments/{payment}"),
    ("post", "/admin/payments/{payment}/refund"), ("post", "/admin/payments/{payment}/credit"),
    ("get", "/admin/import"), ("post", "/admin/import"), ("get", "/admin/import/customers.csv"),
    ("get", "/admin/audit"),
    ("get", "/admin/brand"), ("post", "/admin/brand/logo"), ("post", "/admin/brand/logo/remove"),
    ("post", "/admin/brand/colour"),
]


@pytest.fixture
def ids(app, seeded):
    with app.app_context():
        s = db.session
        jane = seeded.jane_customer_id
        contact = ContactPerson(customer_id=jane, name="Sam", email="sam@example.com",
                                created_at=app.config["FIXED_NOW"])
        s.add(contact)
        s.commit()
        first = {model: s.exec(select(model.id).where(*where).order_by(model.id)).first()
                 for model, where in ((Subscription, [Subscription.customer_id == jane,
                                                      Subscription.status == "live"]),
                                      (Invoice, [Invoice.customer_id == jane,
                                                 Invoice.status == "open"]),
                                      (Payment, [Payment.customer_id == jane,
                                                 Payment.kind == "payment",
                                                 Payment.status == "succeeded"]))}
        return {"customer": jane, "plan": 1, "addon": 1, "coupon": 1,
                "sub": first[Subscription], "invoice": first[Invoice],
                "payment": first[Payment], "contact": contact.id}


@pytest.fixture
def admin(auth, seeded):
    auth.login(*demo.ADMIN)
    return auth


def test_the_route_list_covers_every_back_office_url(app):
    listed = [(m.upper(), re.sub(r"\{\w+\}", "1", p)) for m, p in ROUTES]
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in BACK_OFFICE:
            continue
        pattern = re.compile(re.sub(r"<[^>]+>", "[^/]+", re.escape(rule.rule)))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert any(m == method and pattern.fullmatch(p) for m, p in listed), \
                (method, rule.rule)


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_back_office_url_answers_404_to_customers(client, auth, ids, method, path):
    auth.login()  # Jane, a customer
    url = path.format(**ids)
    response = client.get(url) if method == "get" else post_form(
        client, url, {}, token_from="/account")
    assert response.status_code == 404


@pytest.mark.parametrize("method, path", [r for r in ROUTES if r[0] == "post"])
def test_every_back_office_form_needs_a_csrf_token(client, admin, ids, method, path):
    response = client.post(path.format(**ids), data={})
    assert response.status_code == 400


def test_the_sidebar_links_the_back_office(client, admin):
    page = client.get("/admin/").get_data(as_text=True)
    for href in ("/admin/customers", "/admin/catalog", "/admin/import", "/admin/audit"):
        assert f'href="{href}"' in page


# --- Customers ----------------------------------------------------------------------------------

def test_searching_with_htmx_swaps_only_the_customer_list(client, admin):
    response = client.get("/admin/customers?q=omar", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="admin-customer-list"')
    assert "Omar Haddad" in html and "Jane Cooper" not in html and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_the_customer_list_is_a_page_without_htmx(client, admin):
    html = client.get("/admin/customers?status=active").get_data(as_text=True)
    assert "<html" in html and "Jane Cooper" in html and 'id="admin-customer-list"' in html


def test_a_new_customer_with_mistakes_keeps_the_input_and_shows_messages_by_the_fields(
        client, admin, app):
    response = post_form(client, "/admin/customers", {
        "display_name": "Ada", "email": "ada@", "currency": "XYZ"},
        token_from="/admin/customers/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="email-errors" class="field-error">Enter an email address', html)
    assert 'id="currency-errors"' in html and 'value="Ada"' in html
    with app.app_context():
        assert db.session.exec(select(Customer).where(Customer.display_name == "Ada")).first() \
            is None


def test_an_admin_adds_a_customer_who_is_invited_as_the_demo_preferences_say(client, admin):
    response = post_form(client, "/admin/customers", {
        "display_name": "Ada Lovelace", "email": "ada@example.com", "currency": "GBP",
        "company": "Analytical Ltd"}, token_from="/admin/customers/new")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ada Lovelace" in page and "An invitation to the portal is on its way" in page
    assert "Invited, no password yet" in page and "customer.create" in page


def test_adding_a_contact_with_htmx_swaps_the_contact_list(client, admin, ids):
    url = f"/admin/customers/{ids['customer']}/contacts"
    response = post_form(client, url, {"name": "Lee", "email": "lee@example.com",
                                       "role": "technical"}, htmx=True,
                         token_from=f"/admin/customers/{ids['customer']}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section id="admin-customer-contacts"') and "Lee" in html


def test_adding_a_contact_without_htmx_redirects_to_the_overview(client, admin, ids):
    url = f"/admin/customers/{ids['customer']}/contacts"
    response = post_form(client, url, {"name": "Lee", "email": "lee@example.com",
                                       "role": "billing"},
                         token_from=f"/admin/customers/{ids['customer']}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/customers/{ids['customer']}"


def test_a_contact_with_a_bad_email_is_refused_next_to_the_field_in_the_fragment(
        client, admin, ids):
    url = f"/admin/customers/{ids['customer']}/contacts"
    response = post_form(client, url, {"name": "Lee", "email": "lee", "role": "billing"},
                         htmx=True, token_from=f"/admin/customers/{ids['customer']}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith('<section id="admin-customer-contacts"')
    assert 'id="email-errors" class="field-error"' in html


def test_removing_a_contact_with_htmx_swaps_the_list_and_without_redirects(client, admin, ids):
    url = f"/admin/customers/{ids['customer']}/contacts/{ids['contact']}/delete"
    page = f"/admin/customers/{ids['customer']}"
    response = post_form(client, url, {}, htmx=True, token_from=page)
    assert response.get_data(as_text=True).lstrip().startswith(
        '<section id="admin-customer-contacts"')
    assert post_form(client, url, {}, token_from=page).status_code == 404  # already gone


def test_a_note_with_htmx_swaps_the_notes_and_without_redirects(client, admin, ids, app):
    url, page = f"/admin/customers/{ids['customer']}/notes", \
        f"/admin/customers/{ids['customer']}"
    response = post_form(client, url, {"body": "Prefers email"}, htmx=True, token_from=page)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="admin-customer-notes"')
    assert "Prefers email" in html
    assert post_form(client, url, {"body": "Second"}, token_from=page).status_code == 303
    with app.app_context():
        assert len(db.session.exec(select(CustomerNote)).all()) == 2


def test_an_empty_note_is_refused_next_to_the_field(client, admin, ids):
    response = post_form(client, f"/admin/customers/{ids['customer']}/notes", {"body": ""},
                         token_from=f"/admin/customers/{ids['customer']}")
    assert response.status_code == 422
    assert 'id="body-errors" class="field-error">Write the note first.' in \
        response.get_data(as_text=True)


def test_inviting_with_htmx_swaps_the_portal_box_and_mails_an_invitation(client, admin, app):
    with app.app_context():
        customer = Customer(display_name="New", email="new@example.com", currency="USD",
                            created_at=app.config["FIXED_NOW"])
        db.session.add(customer)
        db.session.commit()
        customer_id = customer.id
    page = f"/admin/customers/{customer_id}"
    response = post_form(client, f"{page}/portal/invite", {}, htmx=True, token_from=page)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<article id="admin-customer-portal"')
    assert "Invited, no password yet" in html and "Resend invitation" in html
    response = post_form(client, f"{page}/portal/invite", {}, token_from=page)
    assert response.status_code == 303 and response.headers["Location"] == page
    with app.app_context():
        mails = db.session.exec(select(OutboxMessage).where(
            OutboxMessage.to_address == "new@example.com")).all()
        assert [m.template for m in mails] == ["invitation", "invitation"]


def test_revoking_signs_the_customer_out_at_once(client, admin, app, seeded):
    from tests.conftest import Auth

    other = app.test_client()
    Auth(other).login(*demo.OMAR)
    assert other.get("/account").status_code == 200
    page = f"/admin/customers/{seeded.omar_customer_id}"
    response = post_form(client, f"{page}/portal/revoke", {}, htmx=True, token_from=page)
    assert "Access revoked" in response.get_data(as_text=True)
    assert other.get("/account").status_code == 302  # back to the login page
    with app.app_context():
        user = db.session.exec(select(User).where(User.email == demo.OMAR[0])).one()
        assert not user.is_active


# --- Catalog ------------------------------------------------------------------------------------

def test_a_plan_form_shows_each_price_message_next_to_its_currency(client, admin, app):
    response = post_form(client, "/admin/catalog/plans", {
        "code": "gold", "name": "Gold", "interval_count": "1", "interval_unit": "month",
        "trial_days": "0", "price_USD": "12.345", "price_JPY": "10.5"},
        token_from="/admin/catalog/plans/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="price_USD-errors" class="field-error">USD amounts have at most 2' in html
    assert 'id="price_JPY-errors" class="field-error">JPY amounts have at most 0' in html
    assert 'value="12.345"' in html


def test_an_admin_adds_a_plan_and_it_is_listed(client, admin, app):
    response = post_form(client, "/admin/catalog/plans", {
        "code": "gold", "name": "Gold", "interval_count": "1", "interval_unit": "year",
        "trial_days": "7", "billing_cycles": "", "price_USD": "990", "setup_EUR": ""},
        token_from="/admin/catalog/plans/new")
    assert response.status_code == 303
    assert "Gold" in client.get("/admin/catalog").get_data(as_text=True)


def test_archiving_with_htmx_swaps_the_row_and_without_redirects(client, admin, ids, app):
    url = f"/admin/catalog/plans/{ids['plan']}/status"
    response = post_form(client, url, {"archived": "1"}, htmx=True, token_from="/admin/catalog")
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="admin-catalog-plan-row-{ids["plan"]}"')
    assert "Archived" in html and "Restore" in html
    response = post_form(client, url, {"archived": "0"}, token_from="/admin/catalog")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Plan, ids["plan"]).status == "active"


# --- Subscriptions, invoices, payments ----------------------------------------------------------

def test_an_admin_creates_a_subscription_that_starts_on_a_later_date(client, admin, ids, app):
    page = f"/admin/customers/{ids['customer']}/subscriptions/new"
    response = post_form(client, f"/admin/customers/{ids['customer']}/subscriptions", {
        "plan_id": "1", "start_date": "2026-12-15", "addon_1": "2", "payment_method_id": ""},
        token_from=page)
    assert response.status_code == 303
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Starts on 15 Dec 2026" in detail  # the badge in the customer's words
    with app.app_context():
        sub = db.session.exec(select(Subscription).order_by(Subscription.id.desc())).first()
        assert (sub.status, str(sub.start_date)) == ("future", "2026-12-15")


def test_a_negative_addon_quantity_is_shown_by_its_box(client, admin, ids):
    response = post_form(client, f"/admin/customers/{ids['customer']}/subscriptions", {
        "plan_id": "1", "addon_1": "-2"},
        token_from=f"/admin/customers/{ids['customer']}/subscriptions/new")
    assert response.status_code == 422
    assert 'id="addon_1-errors" class="field-error">Enter a whole number from 0 to 999.' in \
        response.get_data(as_text=True)


def test_the_admin_cancels_a_subscription_from_its_page(client, admin, ids, app):
    page = f"/admin/subscriptions/{ids['sub']}"
    response = post_form(client, f"{page}/cancel", {"timing": "immediately",
                                                    "reason": "Asked by phone"},
                         token_from=page)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Subscription, ids["sub"]).status == "cancelled"
        assert db.session.exec(select(AuditEntry).where(
            AuditEntry.action == "subscription.cancel_immediately")).one()


def test_the_admins_change_preview_swaps_in_with_htmx(client, admin, ids):
    page = f"/admin/subscriptions/{ids['sub']}/change"
    response = post_form(client, f"/admin/subscriptions/{ids['sub']}/change/preview",
                         {"plan_id": "4", "timing": "immediately"}, htmx=True, token_from=page)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="admin-subscription-change-preview"')
    assert "Confirm the change" in html


def test_the_admins_change_preview_is_a_whole_page_without_htmx(client, admin, ids):
    page = f"/admin/subscriptions/{ids['sub']}/change"
    response = post_form(client, f"/admin/subscriptions/{ids['sub']}/change/preview",
                         {"plan_id": "4", "timing": "end_of_term"}, token_from=page)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert 'id="admin-subscription-change-preview"' in html and "Nothing is invoiced now" in html


def test_a_one_off_invoice_from_the_admin_is_issued_and_shown(client, admin, ids):
    page = f"/admin/customers/{ids['customer']}/invoices/new"
    token_page = client.get(page).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', token_page).group(1)
    data = {"lines-0-description": "Workshop", "lines-0-quantity": "1",
            "lines-0-unit_price": "250", "idempotency_key": key,
            "csrf_token": csrf_token_from(token_page)}
    response = client.post(f"/admin/customers/{ids['customer']}/invoices", data=data)
    assert response.status_code == 303
    again = client.post(f"/admin/customers/{ids['customer']}/invoices", data=data)
    assert again.headers["Location"] == response.headers["Location"]  # one invoice
    assert "Workshop" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_one_off_invoice_line_with_a_bad_price_is_marked_in_its_row(client, admin, ids):
    response = post_form(client, f"/admin/customers/{ids['customer']}/invoices", {
        "lines-0-description": "Workshop", "lines-0-unit_price": "abc"},
        token_from=f"/admin/customers/{ids['customer']}/invoices/new")
    assert response.status_code == 422
    assert 'id="lines-0-unit_price-errors" class="field-error"' in \
        response.get_data(as_text=True)


def test_voiding_from_the_invoice_page(client, admin, ids, app):
    page = f"/admin/invoices/{ids['invoice']}"
    response = post_form(client, f"{page}/void", {"reason": "Duplicate"}, token_from=page)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Invoice, ids["invoice"]).status == "void"


def test_recording_a_cheque_and_refunding_part_of_it(client, admin, ids, app):
    page = f"/admin/customers/{ids['customer']}/payments/new"
    response = post_form(client, f"/admin/customers/{ids['customer']}/payments", {
        "amount": "10.00", "method": "cheque", "reference": "Cheque 42", "paid_on": "2026-11-26",
        "idempotency_key": "cheque-42-key-123456"}, token_from=page)
    assert response.status_code == 303
    receipt = response.headers["Location"]
    assert "Cheque 42" in client.get(receipt).get_data(as_text=True)
    too_much = post_form(client, f"{receipt}/refund", {"amount": "11"}, token_from=receipt)
    assert too_much.status_code == 422
    assert 'id="amount-errors" class="field-error">At most' in too_much.get_data(as_text=True)
    assert post_form(client, f"{receipt}/refund", {"amount": "4"},
                     token_from=receipt).status_code == 303
    with app.app_context():
        refund = db.session.exec(select(Payment).where(Payment.kind == "refund")).one()
        assert (refund.amount, refund.method) == (400, "cheque")


# --- Import and the audit log --------------------------------------------------------------------

BAD_CSV = ("customer_email,plan_code,addons\n"
           "jane@example.com,pro-monthly,extra-seat:1\n"
           "jane@example.com,platinum,\n"
           "jane@example.com,pro-monthly,extra-seat:-3\n")


def test_an_import_dry_run_lists_each_bad_line_and_writes_nothing(client, admin, app):
    with app.app_context():
        before = len(db.session.exec(select(Subscription)).all())
    token = csrf_token_from(client.get("/admin/import").get_data(as_text=True))
    response = client.post("/admin/import", data={
        "csrf_token": token, "kind": "subscriptions", "mode": "import",
        "file": (io.BytesIO(BAD_CSV.encode()), "subs.csv")}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<td>3</td><td>unknown plan code “platinum”</td>" in html
    assert "<td>4</td><td>negative quantity -3 for addon extra-seat</td>" in html
    with app.app_context():
        assert len(db.session.exec(select(Subscription)).all()) == before


def test_an_import_runs_dry_first_then_writes_on_confirmation(client, admin, app):
    text = "name,email\nAda,ada@example.com\nBob,bob@example.com\n"
    checked = post_form(client, "/admin/import", {"kind": "customers", "text": text,
                                                  "mode": "dry_run"})
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "All 2 rows can be imported" in html
    assert 'name="mode" value="import"' in html
    with app.app_context():
        assert db.session.exec(select(Customer).where(Customer.email == "ada@example.com")) \
            .first() is None
    done = post_form(client, "/admin/import", {"kind": "customers", "text": text,
                                               "mode": "import"})
    assert done.status_code == 303
    with app.app_context():
        assert len(db.session.exec(select(Customer).where(
            Customer.email.in_(["ada@example.com", "bob@example.com"]))).all()) == 2


def test_the_audit_log_filters_by_customer_and_swaps_with_htmx(client, admin, ids):
    post_form(client, f"/admin/customers/{ids['customer']}/notes", {"body": "Hello"},
              token_from=f"/admin/customers/{ids['customer']}")
    response = client.get(f"/admin/audit?customer={ids['customer']}",
                          headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="admin-audit-list"')
    assert "customer_note.add" in html
    whole = client.get(f"/admin/audit?customer={ids['customer']}").get_data(as_text=True)
    assert "<html" in whole and "customer_note.add" in whole
    other = client.get("/admin/audit?customer=999999").get_data(as_text=True)
    assert "customer_note.add" not in other and "Nothing recorded for this customer" in other


def test_the_admin_may_credit_the_unused_time_when_cancelling_now(client, admin, ids, app):
    from webapp.models import CreditNote, Organization
    from webapp.services.core.money import format_money

    page = f"/admin/subscriptions/{ids['sub']}"
    html = client.get(page).get_data(as_text=True)
    offered = re.search(r"Credit the unused time: (\S+) \((\d+) of (\d+) days", html)
    assert offered, "a live subscription with a paid term offers its unused time"
    response = post_form(client, f"{page}/cancel", {"timing": "immediately", "reason": "",
                                                    "credit_unused": "y"}, token_from=page)
    assert response.status_code == 303
    with app.app_context():
        note = db.session.exec(select(CreditNote).where(
            CreditNote.subscription_id == ids["sub"])).one()
        locale = db.session.get(Organization, 1).locale
        assert format_money(note.total, note.currency, locale) == offered.group(1)
        assert note.reason.endswith(f"({offered.group(2)} of {offered.group(3)} days)")
