"""Payment Methods: add, make default, remove, and update a card everywhere it is used."""

import re

from sqlmodel import select

from tests.conftest import post_form
from webapp import demo
from webapp.db import db
from webapp.models import PaymentMethod, Preferences, Subscription

NEW_CARD = {"card_number": "5555555555554444", "exp_month": "10", "exp_year": "2031", "cvc": "999"}


def _methods(app, customer_id):
    with app.app_context():
        return db.session.exec(select(PaymentMethod).where(
            PaymentMethod.customer_id == customer_id, PaymentMethod.status == "active")
            .order_by(PaymentMethod.id)).all()


def test_the_list_shows_each_card_and_the_subscriptions_it_pays(client, auth, seeded):
    auth.login()
    body = client.get("/payment-methods").get_data(as_text=True)
    assert "Visa •••• 4242" in body and "Default" in body and "SUB-" in body


def test_adding_a_card_keeps_only_token_brand_last4_and_expiry(app, client, auth, seeded):
    auth.login()
    response = post_form(client, "/payment-methods/new", NEW_CARD)
    assert response.status_code == 303
    added = _methods(app, seeded.jane_customer_id)[-1]
    assert (added.brand, added.last4, added.exp_month, added.exp_year) == ("Mastercard", "4444", 10, 2031)
    assert "5555555555554444" not in added.gateway_token


def test_a_bad_card_number_is_refused_next_to_the_field_and_nothing_is_saved(app, client, auth, seeded):
    auth.login()
    before = len(_methods(app, seeded.jane_customer_id))
    response = post_form(client, "/payment-methods/new", {**NEW_CARD, "card_number": "1234"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="card_number-errors"' in body
    assert "Enter a valid card number." in body and 'value="10"' in body  # the rest is kept
    assert len(_methods(app, seeded.jane_customer_id)) == before


def test_adding_cards_is_hidden_and_404_when_the_preference_is_off(app, client, auth, seeded):
    with app.app_context():
        db.session.get(Preferences, 1).add_payment_methods = False
        db.session.commit()
    auth.login()
    assert "Add a card" not in client.get("/payment-methods").get_data(as_text=True)
    assert client.get("/payment-methods/new").status_code == 404


def test_updating_a_card_moves_every_subscription_to_the_new_one(app, client, auth, seeded):
    old = _methods(app, seeded.jane_customer_id)[0]
    with app.app_context():
        users = {s.id for s in db.session.exec(select(Subscription).where(
            Subscription.payment_method_id == old.id))}
    assert users
    auth.login()
    response = post_form(client, f"/payment-methods/{old.id}/update", NEW_CARD)
    assert response.status_code == 303
    [new] = _methods(app, seeded.jane_customer_id)
    assert new.last4 == "4444" and new.is_default
    with app.app_context():
        assert {s.payment_method_id for s in db.session.exec(
            select(Subscription).where(Subscription.id.in_(users)))} == {new.id}
        assert db.session.get(PaymentMethod, old.id).status == "removed"


def test_a_card_that_subscriptions_use_cannot_be_removed(app, client, auth, seeded):
    old = _methods(app, seeded.jane_customer_id)[0]
    auth.login()
    response = post_form(client, f"/payment-methods/{old.id}/remove", {"confirmed": "yes"}, htmx=True,
                         token_from="/payment-methods")
    assert response.status_code == 409 and "Replace it with a new card" in response.get_data(as_text=True)
    assert len(_methods(app, seeded.jane_customer_id)) == 1


def test_make_default_swaps_only_the_list_for_htmx(app, client, auth, seeded):
    auth.login()
    post_form(client, "/payment-methods/new", NEW_CARD)
    _, added = _methods(app, seeded.jane_customer_id)
    response = post_form(client, f"/payment-methods/{added.id}/default", {}, htmx=True,
                         token_from="/payment-methods")
    body = response.get_data(as_text=True).strip()
    assert body.startswith('<section id="payment-method-list"') and "is now your default card" in body
    assert [m.is_default for m in _methods(app, seeded.jane_customer_id)] == [False, True]


def test_removing_an_unused_card_without_javascript_asks_first_then_redirects_with_a_message(
        app, client, auth, seeded):
    auth.login()
    post_form(client, "/payment-methods/new", NEW_CARD)
    added = _methods(app, seeded.jane_customer_id)[-1]
    listing = client.get("/payment-methods").get_data(as_text=True)
    confirm = f"/payment-methods/{added.id}/remove"
    assert f'href="{confirm}"' in listing and f'action="{confirm}"' not in listing  # a link, not a POST
    page = client.get(confirm).get_data(as_text=True)
    assert "Remove Mastercard •••• 4444?" in page and "Remove card</button>" in page and "Keep it" in page
    unconfirmed = post_form(client, confirm, {}, token_from=confirm)
    assert unconfirmed.status_code == 303 and unconfirmed.headers["Location"] == confirm
    assert len(_methods(app, seeded.jane_customer_id)) == 2  # nothing removed without the confirmation
    response = post_form(client, confirm, {"confirmed": "yes"}, token_from=confirm)
    assert response.status_code == 303 and response.headers["Location"] == "/payment-methods"
    assert "was removed" in client.get("/payment-methods").get_data(as_text=True)
    assert [m.id for m in _methods(app, seeded.jane_customer_id)] != [added.id]


def test_removing_with_htmx_asks_first_and_swaps_the_list_once_confirmed(app, client, auth, seeded):
    auth.login()
    post_form(client, "/payment-methods/new", NEW_CARD)
    added = _methods(app, seeded.jane_customer_id)[-1]
    confirm = f"/payment-methods/{added.id}/remove"
    unconfirmed = post_form(client, confirm, {}, htmx=True, token_from=confirm)
    assert unconfirmed.headers["HX-Redirect"] == confirm
    assert len(_methods(app, seeded.jane_customer_id)) == 2
    response = post_form(client, confirm, {"confirmed": "yes"}, htmx=True, token_from=confirm)
    body = response.get_data(as_text=True).strip()
    assert body.startswith('<section id="payment-method-list"') and "was removed" in body
    assert len(_methods(app, seeded.jane_customer_id)) == 1


def test_a_removal_without_a_csrf_token_is_refused(app, client, auth, seeded):
    auth.login()
    post_form(client, "/payment-methods/new", NEW_CARD)
    added = _methods(app, seeded.jane_customer_id)[-1]
    response = client.post(f"/payment-methods/{added.id}/remove", data={"confirmed": "yes"})
    assert response.status_code == 400
    assert len(_methods(app, seeded.jane_customer_id)) == 2


def test_omar_cannot_touch_janes_cards(app, client, auth, seeded):
    jane_card = _methods(app, seeded.jane_customer_id)[0]
    auth.login(*demo.OMAR)
    assert client.get(f"/payment-methods/{jane_card.id}/remove").status_code == 404
    assert client.get(f"/payment-methods/{jane_card.id}/update").status_code == 404
    response = post_form(client, f"/payment-methods/{jane_card.id}/default", {}, token_from="/payment-methods")
    assert response.status_code == 404


def test_posts_without_csrf_are_refused(app, client, auth, seeded):
    jane_card = _methods(app, seeded.jane_customer_id)[0]
    auth.login()
    assert client.post(f"/payment-methods/{jane_card.id}/default").status_code == 400
    assert client.post("/payment-methods/new", data=NEW_CARD).status_code == 400


def test_the_card_number_never_reaches_the_database_or_the_logs(app, client, auth, seeded, caplog, engine):
    from sqlalchemy import text

    auth.login()
    post_form(client, "/payment-methods/new", {**NEW_CARD, "card_number": "4242 4242 4242 4242"})
    page = client.get("/pay?all=1").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    post_form(client, "/pay?all=1", {"idempotency_key": key, "method": "new",
                                     "card_number": "4000 0000 0000 0002", "exp_month": "2",
                                     "exp_year": "2032", "cvc": "777"}, token_from="/pay?all=1")
    dump = []
    with engine.connect() as conn:
        from webapp.models import metadata

        for table in metadata.sorted_tables:
            for row in conn.execute(text(f'SELECT * FROM "{table.name}"')):
                dump.append(" ".join(str(v) for v in row))
    everything = "\n".join(dump) + caplog.text
    for number in ("4242424242424242", "4242 4242 4242 4242", "4000000000000002"):
        assert number not in everything
