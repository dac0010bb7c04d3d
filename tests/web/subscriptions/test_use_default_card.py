"""A subscription without a card offers the customer's default card in one step (issue 24)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.conftest import csrf_token_from, post_form
from webapp import demo
from webapp.db import db
from webapp.models import PaymentMethod, Subscription


def _without_card(app, customer_id: int) -> tuple[int, int]:
    """Jane's first live subscription, its card taken off; and her default card."""
    with app.app_context():
        sub = db.session.exec(select(Subscription).where(
            Subscription.customer_id == customer_id, Subscription.status == "live")
            .order_by(Subscription.id)).first()
        sub.payment_method_id, sub.autocharge = None, False
        card = db.session.exec(select(PaymentMethod).where(
            PaymentMethod.customer_id == customer_id, PaymentMethod.is_default)).one()
        db.session.commit()
        return sub.id, card.id


def _method_of(app, sub_id: int) -> int | None:
    with app.app_context():
        return db.session.get(Subscription, sub_id).payment_method_id


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_subscription_without_a_card_uses_the_default_card_in_one_click(
        app, client, auth, seeded, htmx):
    sub_id, card_id = _without_card(app, seeded.jane_customer_id)
    auth.login()
    page = client.get(f"/subscriptions/{sub_id}").get_data(as_text=True)
    assert "Use Visa •••• 4242</button>" in page and "Add one on" not in page
    response = post_form(client, f"/subscriptions/{sub_id}/use-default-card", {}, htmx=htmx,
                         token_from=f"/subscriptions/{sub_id}")
    assert _method_of(app, sub_id) == card_id
    if htmx:
        body = response.get_data(as_text=True)
        assert body.lstrip().startswith('<div id="subscription-autocharge"')
        assert "now uses Visa •••• 4242" in body and "Auto-charge: Off" in body
    else:
        assert response.status_code == 303 and response.headers["Location"] == f"/subscriptions/{sub_id}"
        after = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "now uses Visa •••• 4242" in after and "Use Visa •••• 4242</button>" not in after


def test_without_a_saved_card_the_page_still_points_to_payment_methods(app, client, auth, seeded):
    sub_id, card_id = _without_card(app, seeded.jane_customer_id)
    with app.app_context():
        db.session.get(PaymentMethod, card_id).status = "removed"
        db.session.commit()
    auth.login()
    page = client.get(f"/subscriptions/{sub_id}").get_data(as_text=True)
    assert "Add one on" in page and "Use Visa" not in page
    response = post_form(client, f"/subscriptions/{sub_id}/use-default-card", {},
                         token_from=f"/subscriptions/{sub_id}")
    assert response.status_code in (303, 409) and _method_of(app, sub_id) is None


def test_the_one_click_needs_a_csrf_token_and_is_404_for_another_customer(app, client, auth, seeded):
    sub_id, _ = _without_card(app, seeded.jane_customer_id)
    auth.login()
    token = csrf_token_from(client.get(f"/subscriptions/{sub_id}").get_data(as_text=True))
    assert client.post(f"/subscriptions/{sub_id}/use-default-card").status_code == 400
    auth.logout()
    auth.login(*demo.OMAR)
    omar_token = csrf_token_from(client.get("/subscriptions").get_data(as_text=True))
    assert token  # Jane's page had one
    response = client.post(f"/subscriptions/{sub_id}/use-default-card",
                           data={"csrf_token": omar_token})
    assert response.status_code == 404 and _method_of(app, sub_id) is None
