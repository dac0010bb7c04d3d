"""The dunning email's link: pay that invoice and update that card, no password."""

import re
from datetime import timedelta

from sqlmodel import select

from tests.conftest import csrf_token_from
from webapp.db import db
from webapp.models import FixLink, Invoice, PaymentMethod, Subscription
from webapp.services.billing import fix_links


def _link(app, seeded, now, **overrides):
    with app.app_context():
        sub = db.session.exec(select(Subscription).where(
            Subscription.customer_id == seeded.jane_customer_id, Subscription.status == "dunning")).one()
        invoice = db.session.exec(select(Invoice).where(
            Invoice.subscription_id == sub.id, Invoice.status == "open")).one()
        created = fix_links.create(db.session, customer_id=sub.customer_id, invoice_id=invoice.id,
                                   subscription_id=sub.id, now=now + overrides.get("age", timedelta()))
        db.session.commit()
        return created.token, invoice.id, sub.id


def test_the_link_pays_the_invoice_and_updates_the_subscriptions_card(app, client, seeded, now):
    token, invoice_id, sub_id = _link(app, seeded, now)
    page = client.get(f"/fix/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "with this new card</button>" in html
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(f"/fix/{token}", data={
        "csrf_token": csrf_token_from(html), "idempotency_key": key, "method": "new",
        "card_number": "5555555555554444", "exp_month": "3", "exp_year": "2031", "cvc": "456",
        "save_card": "y"})
    final = client.get(client.get(response.headers["Location"]).headers["Location"])
    assert "Thank you" in final.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).status == "paid"
        sub = db.session.get(Subscription, sub_id)
        assert sub.status == "live"
        assert db.session.get(PaymentMethod, sub.payment_method_id).last4 == "4444"
    used = client.get(f"/fix/{token}")
    assert used.status_code == 410 and "already been used" in used.get_data(as_text=True)


def test_an_expired_link_is_refused_with_a_clear_page(app, client, seeded, now):
    token, _, _ = _link(app, seeded, now, age=-fix_links.VALID_FOR - timedelta(days=1))
    response = client.get(f"/fix/{token}")
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)


def test_a_tampered_link_is_refused(app, client, seeded, now):
    token, _, _ = _link(app, seeded, now)
    response = client.get(f"/fix/{token[:-2]}xx")
    assert response.status_code == 410 and "not valid" in response.get_data(as_text=True)


def test_the_link_cannot_reach_anything_else(app, client, seeded, now):
    token, invoice_id, _ = _link(app, seeded, now)
    client.get(f"/fix/{token}")
    assert client.get(f"/invoices/{invoice_id}").status_code == 302  # still needs a login
    assert client.get("/pay?all=1").status_code == 302


def test_only_the_hash_of_the_token_is_stored(app, seeded, now):
    token, _, _ = _link(app, seeded, now)
    with app.app_context():
        stored = [link.token_hash for link in db.session.exec(select(FixLink))]
    assert token not in stored and len(stored[0]) == 64
