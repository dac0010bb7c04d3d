"""The proration setting over HTTP (issue 30): the admin sets it on the preferences page (with
and without htmx); Jane's change preview says which applies; without proration a confirmed
change invoices nothing; with end-of-term-only the form offers only the end of the term."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.conftest import post_form
from tests.web.admin.test_preferences import _saved_form
from tests.web.subscriptions.test_subscription_changes import _confirm_data, _ids, _live, _preview
from webapp import demo
from webapp.db import db
from webapp.models import CreditNote, Invoice, Plan, Preferences, Subscription

PAGE = "/admin/preferences"


def _mode(app, mode: str) -> None:
    with app.app_context():
        db.session.get(Preferences, 1).proration = mode
        db.session.commit()


@pytest.mark.parametrize("htmx", [False, True])
def test_the_admin_sets_the_proration_on_the_preferences_page(app, client, auth, seeded, htmx):
    auth.login(*demo.ADMIN)
    page = client.get(PAGE).get_data(as_text=True)
    assert 'id="proration" name="proration"' in page
    assert '<option selected value="prorate">' in page
    for value in ("no_proration_upgrade_now", "end_of_term_only"):
        assert f'<option value="{value}">' in page
    data = {**_saved_form(client), "proration": "no_proration_upgrade_now"}
    response = post_form(client, PAGE, data, htmx=htmx)
    if htmx:
        assert response.status_code == 200 and response.headers["HX-Redirect"] == PAGE
    else:
        assert response.status_code == 303 and response.headers["Location"] == PAGE
    shown = client.get(PAGE).get_data(as_text=True)
    assert "Billing a change: Prorate" in shown and '<option selected value="no_proration_upgrade_now">' in shown
    with app.app_context():
        assert db.session.get(Preferences, 1).proration == "no_proration_upgrade_now"


@pytest.mark.parametrize("htmx", [False, True])
def test_an_unknown_proration_is_refused_next_to_its_field(app, client, auth, seeded, htmx):
    auth.login(*demo.ADMIN)
    response = post_form(client, PAGE, {**_saved_form(client), "proration": "sometimes"},
                         htmx=htmx)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="proration-errors"' in page
    with app.app_context():
        assert db.session.get(Preferences, 1).proration == "prorate"


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize(("mode", "timing", "says"), [
    ("prorate", "immediately", "Prorated: the days left of this term are charged"),
    ("no_proration_upgrade_now", "immediately", "Without proration: the change takes effect now"),
    ("end_of_term_only", "end_of_term", "Changes are billed from the end of the term only"),
])
def test_the_preview_says_which_proration_applies(app, client, auth, seeded, htmx, mode,
                                                  timing, says):
    sub_id = _live(app, seeded)
    _mode(app, mode)
    auth.login()
    response, _ = _preview(client, sub_id, {"plan_id": _ids(app, Plan, "enterprise-monthly"),
                                            "timing": timing}, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and says in html
    assert ("<html" in html) is not htmx
    if mode == "no_proration_upgrade_now":
        assert "Due today" not in html and "Nothing is charged now." in html


def test_without_proration_the_confirmed_change_invoices_nothing(app, client, auth, seeded):
    sub_id = _live(app, seeded, autocharge=False)
    _mode(app, "no_proration_upgrade_now")
    auth.login()
    response, token = _preview(client, sub_id, {"plan_id": _ids(app, Plan, "enterprise-monthly"),
                                                "timing": "immediately"})
    confirm = client.post(f"/subscriptions/{sub_id}/edit",
                          data={**_confirm_data(response.get_data(as_text=True)),
                                "csrf_token": token})
    assert confirm.status_code == 303
    with app.app_context():
        assert db.session.get(Subscription, sub_id).plan_id == _ids(app, Plan, "enterprise-monthly")
        assert db.session.exec(select(Invoice).where(Invoice.kind == "proration")).first() is None
        assert db.session.exec(select(CreditNote).where(
            CreditNote.subscription_id == sub_id)).first() is None


def test_end_of_term_only_offers_only_the_end_of_the_term(app, client, auth, seeded):
    sub_id = _live(app, seeded)
    _mode(app, "end_of_term_only")
    auth.login()
    page = client.get(f"/subscriptions/{sub_id}/edit").get_data(as_text=True)
    assert 'value="end_of_term"' in page and 'value="immediately"' not in page
    response, _ = _preview(client, sub_id, {"plan_id": _ids(app, Plan, "enterprise-monthly"),
                                            "timing": "immediately"})
    assert response.status_code == 422 and "Choose when the change takes effect." in \
        response.get_data(as_text=True)
