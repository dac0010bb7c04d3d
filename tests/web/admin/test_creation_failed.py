"""Creation failed over HTTP (issue 30): the admin creates Jane a subscription starting today,
charged now to a declined card; it shows as "Creation failed" with the gateway's message, to
the admin and to Jane; the admin retries it (with and without htmx) or discards it."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import select

from tests.conftest import post_form
from tests.walk import DECLINED_CARD, GOOD_CARD
from webapp import demo
from webapp.db import db
from webapp.models import Invoice, Plan, Subscription
from webapp.services.billing.gateway import CardDetails, TestGateway
from webapp.services.payments.methods import add


def _card(app, customer_id: int, number: str, now) -> int:
    with app.app_context():
        method = add(db.session, customer_id=customer_id,
                     card=CardDetails(number, 1, 2031, "123"), gateway=TestGateway(db.engine),
                     now=now).method
        db.session.commit()
        return method.id


def _create(app, client, customer_id: int, card: int, htmx: bool = False):
    with app.app_context():
        plan = db.session.exec(select(Plan.id).where(Plan.code == "basic-monthly")).one()
    page = f"/admin/customers/{customer_id}/subscriptions/new"
    return post_form(client, f"/admin/customers/{customer_id}/subscriptions", {
        "plan_id": str(plan), "start_date": "", "payment_method_id": str(card),
        "autocharge": "y"}, htmx=htmx, token_from=page)


def _newest(app) -> Subscription:
    with app.app_context():
        return db.session.exec(select(Subscription).order_by(Subscription.id.desc())).first()


@pytest.fixture
def failed(app, client, auth, seeded, now):
    """A subscription whose creation failed, as the admin sees it."""
    auth.login(*demo.ADMIN)
    card = _card(app, seeded.jane_customer_id, DECLINED_CARD, now)
    response = _create(app, client, seeded.jane_customer_id, card)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Creation failed: Your card was declined." in page  # the flash
    return _newest(app)


def test_a_declined_first_charge_shows_creation_failed_with_the_message(app, client, failed):
    assert failed.status == "creation_failed"
    assert failed.creation_error == "Your card was declined."
    page = client.get(f"/admin/subscriptions/{failed.id}").get_data(as_text=True)
    assert 'id="creation-failed"' in page and "The first charge failed: Your card was declined." in page
    assert "Retry the charge" in page and "Discard" in page
    assert "status-creation_failed" in page and ">Creation failed<" in page
    assert "Past due" not in page
    with app.app_context():
        assert [i.status for i in db.session.exec(select(Invoice).where(
            Invoice.subscription_id == failed.id))] == ["void"]


def test_jane_sees_it_as_creation_failed(app, client, auth, failed):
    auth.logout()
    auth.login()
    page = client.get(f"/subscriptions/{failed.id}").get_data(as_text=True)
    assert ">Creation failed<" in page


@pytest.mark.parametrize("htmx", [False, True])
def test_the_admin_retries_with_a_good_card(app, client, seeded, failed, now, htmx):
    good = _card(app, seeded.jane_customer_id, GOOD_CARD, now)
    with app.app_context():
        db.session.execute(update(Subscription).where(Subscription.id == failed.id)
                           .values(payment_method_id=good))
        db.session.commit()
    page = f"/admin/subscriptions/{failed.id}"
    response = post_form(client, f"{page}/retry-creation", {}, htmx=htmx, token_from=page)
    if htmx:
        assert response.status_code == 200 and response.headers["HX-Redirect"].endswith(page)
    else:
        assert response.status_code == 303 and response.headers["Location"].endswith(page)
    shown = client.get(page).get_data(as_text=True)
    assert "its first charge succeeded: it is live." in shown
    assert _newest(app).status == "live"


@pytest.mark.parametrize("htmx", [False, True])
def test_the_admin_discards_it(app, client, failed, htmx):
    page = f"/admin/subscriptions/{failed.id}"
    response = post_form(client, f"{page}/discard", {}, htmx=htmx, token_from=page)
    assert response.headers["HX-Redirect" if htmx else "Location"].endswith(page)
    assert "was discarded." in client.get(page).get_data(as_text=True)
    assert _newest(app).status == "cancelled"


def test_retrying_what_did_not_fail_is_refused(app, client, seeded, failed):
    page = f"/admin/subscriptions/{failed.id}"
    post_form(client, f"{page}/discard", {}, token_from=page)
    response = post_form(client, f"{page}/retry-creation", {}, token_from=page)
    assert response.status_code == 303  # back to the page, with why
    assert "A cancelled subscription cannot be retried." in client.get(page).get_data(as_text=True)
    refused = post_form(client, f"{page}/retry-creation", {}, htmx=True, token_from=page)
    assert refused.status_code == 409 and "cannot be retried" in refused.get_data(as_text=True)
    assert _newest(app).status == "cancelled"


def test_customers_get_404_on_the_admin_actions(app, client, auth, failed):
    auth.logout()
    auth.login()
    for action in ("retry-creation", "discard"):
        response = post_form(client, f"/admin/subscriptions/{failed.id}/{action}", {},
                             token_from="/")
        assert response.status_code == 404
