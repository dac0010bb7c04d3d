"""Paying invoices from the portal: one page, saved or new cards, charged exactly once."""

import re

import pytest
from sqlmodel import select

from tests.conftest import csrf_token_from
from webapp.db import db
from webapp.models import Invoice, Payment, PaymentMethod, Subscription
from webapp.services.billing.gateway import TestGateway
from webapp.services.billing.ledger import balance_due


def _open_invoices(app, customer_id):
    with app.app_context():
        return [(i.id, balance_due(i), i.subscription_id) for i in db.session.exec(
            select(Invoice).where(Invoice.customer_id == customer_id, Invoice.status == "open")
            .order_by(Invoice.issue_date, Invoice.id))]


def _form(client, url):
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html).group(1)
    action = re.search(r'<form method="post" novalidate class="pay-form"\s+action="([^"]+)"', html).group(1)
    return html, {"csrf_token": csrf_token_from(html), "idempotency_key": key}, action.replace("&amp;", "&")


def money(amount: int) -> str:
    return f"US${amount // 100:,}.{amount % 100:02d}"


def _saved_method(app, customer_id):
    with app.app_context():
        return db.session.exec(select(PaymentMethod).where(
            PaymentMethod.customer_id == customer_id, PaymentMethod.status == "active")).first().id


def _charges(app):
    with app.app_context():
        return TestGateway(db.engine).charges_for("")


def test_jane_pays_one_invoice_with_her_saved_card(app, client, auth, seeded):
    invoice_id, balance, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    auth.login()
    html, data, action = _form(client, f"/pay?invoice={invoice_id}")
    assert f"Pay {money(balance)} with Visa •••• 4242</button>" in html
    response = client.post(action, data={**data, "method": str(_saved_method(app, seeded.jane_customer_id))})
    assert response.status_code == 303
    status = client.get(response.headers["Location"])
    assert status.status_code == 303 and "/payments/" in status.headers["Location"]
    receipt = client.get(status.headers["Location"]).get_data(as_text=True)
    assert "Payment Receipt PAY-" in receipt and "received. Thank you!" in receipt
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).status == "paid"
        payment = db.session.exec(select(Payment).where(Payment.idempotency_key == data["idempotency_key"])).one()
        assert payment.amount == balance and payment.status == "succeeded"


def test_a_replayed_post_charges_once_and_leads_to_the_same_payment(app, client, auth, seeded):
    invoice_id, _, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    auth.login()
    _, data, action = _form(client, f"/pay?invoice={invoice_id}")
    body = {**data, "method": str(_saved_method(app, seeded.jane_customer_id))}
    first = client.post(action, data=body)
    second = client.post(action, data=body)
    assert first.headers["Location"] == second.headers["Location"]
    assert _charges(app) == 1


def test_pay_all_outstanding_with_a_new_card_saved_for_the_subscriptions(app, client, auth, seeded):
    invoices = _open_invoices(app, seeded.jane_customer_id)
    auth.login()
    html, data, action = _form(client, "/pay?all=1")
    total = sum(b for _, b, _ in invoices)
    response = client.post(action, data={**data, "method": "new", "card_number": "5555 5555 5555 4444",
                                         "exp_month": "11", "exp_year": "2030", "cvc": "321",
                                         "save_card": "y"})
    assert response.status_code == 303
    with app.app_context():
        assert all(db.session.get(Invoice, i).status == "paid" for i, _, _ in invoices)
        payment = db.session.exec(select(Payment).where(Payment.idempotency_key == data["idempotency_key"])).one()
        assert payment.amount == total
        card = db.session.get(PaymentMethod, payment.payment_method_id)
        assert (card.last4, card.status) == ("4444", "active")
        subs = {s for _, _, s in invoices if s}
        assert {db.session.get(Subscription, s).payment_method_id for s in subs} == {card.id}
        assert {db.session.get(Subscription, s).status for s in subs} <= {"live", "non_renewing"}


def test_a_declined_card_leaves_the_invoice_unpaid_and_says_why(app, client, auth, seeded):
    invoice_id, _, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    auth.login()
    _, data, action = _form(client, f"/pay?invoice={invoice_id}")
    response = client.post(action, data={**data, "method": "new", "card_number": "4000000000009995",
                                         "exp_month": "1", "exp_year": "2031", "cvc": "123"})
    page = client.get(client.get(response.headers["Location"]).headers["Location"])
    body = page.get_data(as_text=True)
    assert "Your card has insufficient funds." in body and "with this new card</button>" in body
    assert data["idempotency_key"] not in body  # a new attempt gets a new key
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).status == "open"


def test_a_network_error_frees_the_invoice_at_once_for_another_card(app, client, auth, seeded):
    invoice_id, _, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    auth.login()
    _, data, action = _form(client, f"/pay?invoice={invoice_id}")
    response = client.post(action, data={**data, "method": "new", "card_number": "4000000000000119",
                                         "exp_month": "1", "exp_year": "2031", "cvc": "123"})
    page = _followed(client, response)
    body = page.get_data(as_text=True)
    assert "The payment processor did not answer." in body and "Nothing was charged" in body
    assert "Payment in progress" not in body and data["idempotency_key"] not in body
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).pending_payment_id is None
        failed = db.session.exec(select(Payment).where(
            Payment.idempotency_key == data["idempotency_key"])).one()
        assert failed.status == "failed"
    _, again, action = _form(client, f"/pay?invoice={invoice_id}")
    paid = _followed(client, client.post(action, data={**again, "method": "new",
                                                       "card_number": "4242424242424242",
                                                       "exp_month": "1", "exp_year": "2031",
                                                       "cvc": "123"}))
    assert "Payment Receipt PAY-" in paid.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).status == "paid"
    assert _charges(app) == 1


def _followed(client, response):
    while response.status_code == 303:
        response = client.get(response.headers["Location"])
    return response


def _stuck_payment(app, customer_id, invoice_id, *, started):
    """A customer's payment whose request died after writing it, before the gateway heard."""
    from webapp.services.billing import charges

    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        payment = charges.start(db.session, customer_id=customer_id, amount=balance_due(invoice),
                                currency=invoice.currency,
                                payment_method_id=_saved_method(app, customer_id),
                                idempotency_key="stuck-payment-key-1", invoice_ids=[invoice_id],
                                now=started)
        db.session.commit()
        return payment.id


def test_the_customers_next_attempt_resolves_a_stuck_payment_and_pays(app, client, auth, seeded, now):
    from datetime import timedelta

    invoice_id, _, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    stuck = _stuck_payment(app, seeded.jane_customer_id, invoice_id, started=now - timedelta(minutes=1))
    auth.login()
    _, data, action = _form(client, f"/pay?invoice={invoice_id}")
    page = _followed(client, client.post(action, data={
        **data, "method": str(_saved_method(app, seeded.jane_customer_id))}))
    assert "Payment Receipt PAY-" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Payment, stuck).status == "failed"
        assert db.session.get(Invoice, invoice_id).status == "paid"
    assert _charges(app) == 1


def test_the_schedules_sweep_resolves_a_stuck_payment_after_its_lease(app, seeded, now):
    from datetime import timedelta

    from worker import jobs

    invoice_id, _, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    stuck = _stuck_payment(app, seeded.jane_customer_id, invoice_id, started=now)
    with app.app_context():
        assert jobs.resolve_payments() == 0  # a moment old: its own request may still charge it
        app.config["FIXED_NOW"] = now + timedelta(minutes=3)
        assert jobs.resolve_payments() == 1
        assert db.session.get(Payment, stuck).status == "failed"
        assert db.session.get(Invoice, invoice_id).pending_payment_id is None
    assert _charges(app) == 0


def test_the_admin_resolves_a_stuck_payment_from_the_invoice(app, client, auth, seeded, now):
    from webapp import demo

    invoice_id, _, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    stuck = _stuck_payment(app, seeded.jane_customer_id, invoice_id, started=now)
    auth.login(*demo.ADMIN)
    new_payment = f"/admin/customers/{seeded.jane_customer_id}/payments/new"
    with app.app_context():
        number = db.session.get(Invoice, invoice_id).number
    assert number not in client.get(new_payment).get_data(as_text=True)
    page = client.get(f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    assert "A card payment is waiting for its outcome" in page
    response = client.post(f"/admin/invoices/{invoice_id}/pending-payment",
                           data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 303
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The payment did not go through" in after and "waiting for its outcome" not in after
    with app.app_context():
        assert db.session.get(Payment, stuck).status == "failed"
    assert number in client.get(new_payment).get_data(as_text=True)


@pytest.mark.parametrize(("card", "field", "message"), [
    ({"card_number": "4242 4242 4242 4241"}, "card_number", "valid card number"),
    ({"exp_month": "13"}, "exp_month", ""),
    ({"exp_year": "2020"}, "exp_year", "expired"),
    ({"cvc": "1"}, "cvc", "3-digit"),
])
def test_bad_card_details_are_refused_next_to_the_field(app, client, auth, seeded, card, field, message):
    invoice_id, _, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    auth.login()
    _, data, action = _form(client, f"/pay?invoice={invoice_id}")
    typed = {"card_number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123", **card}
    response = client.post(action, data={**data, "method": "new", **typed})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-errors"' in body and message in body
    assert "4242424242424242" not in body and 'value="123"' not in body
    assert _charges(app) == 0


def test_partial_payments_are_refused_when_the_preference_is_off(app, client, auth, seeded):
    from webapp.models import Preferences

    with app.app_context():
        db.session.get(Preferences, 1).partial_payments = False
        db.session.commit()
    invoice_id, _, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    auth.login()
    html, data, action = _form(client, f"/pay?invoice={invoice_id}")
    assert "Amount to pay" not in html
    refused = client.post(action, data={**data, "method": str(_saved_method(app, seeded.jane_customer_id)),
                                        "amount": "1.00"})
    assert refused.status_code == 422
    assert "partial payments are not accepted" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).status == "open"
    assert _charges(app) == 0


def test_a_partial_payment_when_allowed_leaves_the_rest_due(app, client, auth, seeded):
    invoice_id, balance, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    auth.login()
    html, data, action = _form(client, f"/pay?invoice={invoice_id}")
    assert "Amount to pay" in html
    client.post(action, data={**data, "method": str(_saved_method(app, seeded.jane_customer_id)), "amount": "1.00"})
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert balance_due(invoice) == balance - 100 and invoice.status == "open"


def test_paying_an_invoice_already_paid_says_so(app, client, auth, seeded):
    invoice_id, _, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    auth.login()
    _, data, action = _form(client, f"/pay?invoice={invoice_id}")
    _, data2, _ = _form(client, f"/pay?invoice={invoice_id}")
    method = str(_saved_method(app, seeded.jane_customer_id))
    client.post(action, data={**data, "method": method})
    second = client.post(action, data={**data2, "method": method})
    assert second.status_code == 303 and second.headers["Location"] == "/invoices"
    assert "already paid" in client.get("/invoices").get_data(as_text=True)
    assert _charges(app) == 1


def test_omar_cannot_open_the_payment_page_for_janes_invoice(app, client, auth, seeded):
    from webapp import demo

    invoice_id, _, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    auth.login(*demo.OMAR)
    assert client.get(f"/pay?invoice={invoice_id}").status_code == 404


def test_the_in_progress_page_refreshes_itself_until_the_charge_settles(app, client, auth, seeded, now):
    from webapp.services.billing import charges

    invoice_id, balance, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    with app.app_context():
        payment = charges.start(db.session, customer_id=seeded.jane_customer_id, amount=balance,
                                currency="USD", payment_method_id=_saved_method(app, seeded.jane_customer_id),
                                idempotency_key="in-flight-key-123456", invoice_ids=[invoice_id], now=now)
        charges.claim(db.session, payment_id=payment.id, now=now)
        db.session.commit()
        payment_id = payment.id
    auth.login()
    page = client.get(f"/pay/payments/{payment_id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Payment in progress" in body
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in body  # no JS only
    fragment = client.get(f"/pay/payments/{payment_id}", headers={"HX-Request": "true"})
    assert 'id="payment-progress"' in fragment.get_data(as_text=True)
    # another payer of the same invoice is pointed at the payment in flight
    _, data, action = _form(client, f"/pay?invoice={invoice_id}")
    other = client.post(action, data={**data, "method": str(_saved_method(app, seeded.jane_customer_id))})
    assert other.headers["Location"] == f"/pay/payments/{payment_id}"


def _saved_cards(app, customer_id):
    with app.app_context():
        return db.session.exec(select(PaymentMethod).where(
            PaymentMethod.customer_id == customer_id, PaymentMethod.status == "active")).all()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_declined_new_card_is_never_saved_and_a_paid_one_once(app, client, auth, seeded, htmx):
    """Three declines with a new card to save: still only Jane's one card; one success: two."""
    invoice_id, _, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    before = len(_saved_cards(app, seeded.jane_customer_id))
    assert before == 1
    headers = {"HX-Request": "true"} if htmx else {}
    auth.login()
    new_card = {"method": "new", "exp_month": "1", "exp_year": "2031", "cvc": "123", "save_card": "y"}
    for _ in range(3):
        _, data, action = _form(client, f"/pay?invoice={invoice_id}")
        client.post(action, data={**data, **new_card, "card_number": "4000000000000002"},
                    headers=headers)
    assert len(_saved_cards(app, seeded.jane_customer_id)) == before  # 0 new rows after 3 declines
    _, data, action = _form(client, f"/pay?invoice={invoice_id}")
    client.post(action, data={**data, **new_card, "card_number": "5555555555554444"}, headers=headers)
    saved = _saved_cards(app, seeded.jane_customer_id)
    assert len(saved) == before + 1 and [c.last4 for c in saved].count("4444") == 1
    assert "Mastercard •••• 4444" in client.get("/payment-methods").get_data(as_text=True)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_pay_page_has_one_button_per_saved_card_and_a_separate_new_card_form(
        app, client, auth, seeded, htmx):
    invoices = _open_invoices(app, seeded.jane_customer_id)
    total = sum(b for _, b, _ in invoices)
    auth.login()
    html = client.get("/pay?all=1", headers={"HX-Request": "true"} if htmx else {}).get_data(as_text=True)
    assert html.count('class="pay-form"') == 2
    saved, new = html.split('id="pay-new-heading"')
    assert f"Pay {money(total)} with Visa •••• 4242</button>" in saved and 'name="card_number"' not in saved
    assert f"Pay {money(total)} with this new card</button>" in new and 'name="card_number"' in new
    assert 'type="radio"' not in html


def test_a_saved_card_sent_with_a_typed_new_card_is_refused_and_nothing_is_charged(app, client, auth, seeded):
    invoice_id, _, _ = _open_invoices(app, seeded.jane_customer_id)[0]
    auth.login()
    _, data, action = _form(client, f"/pay?invoice={invoice_id}")
    response = client.post(action, data={**data, "method": str(_saved_method(app, seeded.jane_customer_id)),
                                         "card_number": "5555555555554444", "exp_month": "1",
                                         "exp_year": "2031", "cvc": "123"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="method-errors"' in body and "Nothing was charged" in body
    assert _charges(app) == 0
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).status == "open"
