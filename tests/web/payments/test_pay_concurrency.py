"""Exactly once on PostgreSQL: racing submissions of the payment page charge once."""

import re
import threading

import pytest
from sqlmodel import select

from tests.conftest import FIXED_NOW, Auth, csrf_token_from, wipe
from webapp import create_app, demo
from webapp.db import db
from webapp.models import Invoice, Payment, PaymentMethod
from webapp.services.billing import charges
from webapp.services.billing.gateway import TestGateway


@pytest.fixture
def pg_app(postgresql_engine):
    wipe(postgresql_engine)
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "REDIS_URL": None,
                      "DATABASE_URL": postgresql_engine.url.render_as_string(hide_password=False),
                      "LOGIN_RATE_LIMIT": "1000 per minute",
                      "FIXED_NOW": FIXED_NOW})
    with app.app_context():
        seeded = demo.seed_demo(db.session, now=FIXED_NOW)
        db.session.commit()
        invoice = db.session.exec(select(Invoice).where(
            Invoice.customer_id == seeded.jane_customer_id, Invoice.status == "open")
            .order_by(Invoice.id)).first()
        card = db.session.exec(select(PaymentMethod).where(
            PaymentMethod.customer_id == seeded.jane_customer_id)).first()
    app.config["TEST_INVOICE_ID"], app.config["TEST_CARD_ID"] = invoice.id, card.id
    return app


def _clients(app, n):
    """n clients sharing one logged-in session, as the tabs of one browser."""
    first = app.test_client()
    Auth(first).login()
    first.get("/")  # the session now holds its CSRF secret, shared by every tab
    cookie = first.get_cookie("session")
    clients = [first]
    for _ in range(n - 1):
        other = app.test_client()
        other.set_cookie("session", cookie.value)
        clients.append(other)
    return clients


def _form(client, invoice_id):
    html = client.get(f"/pay?invoice={invoice_id}").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html).group(1)
    return {"csrf_token": csrf_token_from(html), "idempotency_key": key}


def _race(clients, bodies, invoice_id):
    barrier = threading.Barrier(len(clients))
    results = [None] * len(clients)

    def post(index):
        barrier.wait()
        results[index] = clients[index].post(f"/pay?invoice={invoice_id}", data=bodies[index])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _final(client, response):
    """Follow redirects as a browser would, and the in-progress page until it settles."""
    for _ in range(50):
        if response.status_code in (301, 302, 303):
            response = client.get(response.headers["Location"])
            continue
        body = response.get_data(as_text=True)
        if "Payment in progress" in body:
            response = client.get(re.search(r'href="(/pay/payments/\d+)"', body).group(1))
            continue
        return response
    raise AssertionError("never settled")


def _paid_payment(app):
    with app.app_context():
        return db.session.exec(select(Payment).where(Payment.status == "succeeded",
                                                     Payment.idempotency_key.not_like("demo-%"))).all()


def test_twenty_simultaneous_posts_with_one_key_charge_once(pg_app):
    clients = _clients(pg_app, 20)
    invoice_id = pg_app.config["TEST_INVOICE_ID"]
    body = {**_form(clients[0], invoice_id), "method": str(pg_app.config["TEST_CARD_ID"])}
    responses = _race(clients, [body] * 20, invoice_id)
    [payment] = _paid_payment(pg_app)
    with pg_app.app_context():
        assert TestGateway(db.engine).charges_for("") == 1
    for client, response in zip(clients, responses, strict=True):
        final = _final(client, response)
        assert f"Payment Receipt {payment.number}" in final.get_data(as_text=True)


def test_different_keys_for_one_invoice_charge_once(pg_app):
    clients = _clients(pg_app, 6)
    invoice_id = pg_app.config["TEST_INVOICE_ID"]
    bodies = [{**_form(c, invoice_id), "method": str(pg_app.config["TEST_CARD_ID"])} for c in clients]
    responses = _race(clients, bodies, invoice_id)
    [payment] = _paid_payment(pg_app)
    with pg_app.app_context():
        assert TestGateway(db.engine).charges_for("") == 1
    for client, response in zip(clients, responses, strict=True):
        text = _final(client, response).get_data(as_text=True)
        assert f"Payment Receipt {payment.number}" in text or "already paid" in text


def test_a_crash_between_the_pending_row_and_the_gateway_is_resolved_by_a_retry(pg_app):
    [client] = _clients(pg_app, 1)
    invoice_id = pg_app.config["TEST_INVOICE_ID"]
    body = {**_form(client, invoice_id), "method": str(pg_app.config["TEST_CARD_ID"])}
    with pg_app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        jane = invoice.customer_id
        # The first request wrote its pending payment and died before asking the gateway.
        charges.start(db.session, customer_id=jane, amount=invoice.total - invoice.amount_paid
                      - invoice.credits_applied, currency=invoice.currency,
                      payment_method_id=pg_app.config["TEST_CARD_ID"],
                      idempotency_key=body["idempotency_key"], invoice_ids=[invoice_id], now=FIXED_NOW)
        db.session.commit()
    final = _final(client, client.post(f"/pay?invoice={invoice_id}", data=body))
    [payment] = _paid_payment(pg_app)
    assert f"Payment Receipt {payment.number}" in final.get_data(as_text=True)
    with pg_app.app_context():
        assert TestGateway(db.engine).charges_for("") == 1
