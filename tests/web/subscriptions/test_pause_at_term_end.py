"""Pause at the end of the term over HTTP (issue 30): the pause forms (the customer's Pause &
Resume and the admin's subscription page) offer it next to "On a date", with and without htmx."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_token_from
from tests.web.subscriptions.test_subscription_actions import (
    HX,
    ISO_DATE,
    _flash,
    _page,
    _post,
    _sub,
    _sub_id,
)
from webapp import demo


@pytest.fixture
def jane(client, auth, seeded):
    auth.login()
    return seeded.jane_customer_id


def test_the_pause_form_offers_the_terms_end_next_to_a_date(app, client, jane):
    sub_id = _sub_id(app, jane, "live")
    end = _sub(app, sub_id).current_term_end
    html = client.get(f"/subscriptions/{sub_id}/pause").get_data(as_text=True)
    assert 'value="on_date"' in html and 'value="term_end"' in html
    assert "On a date" in html and "At the end of the term" in html
    assert f"({end.strftime('%-d %b %Y')})" in html  # the day it would pause, as dates show


@pytest.mark.parametrize("htmx", [False, True])
def test_pausing_at_the_terms_end(app, client, jane, htmx):
    sub_id = _sub_id(app, jane, "live")
    end = _sub(app, sub_id).current_term_end
    response = _post(client, sub_id, "pause", {"pause_when": "term_end", "pause_on": "",
                                               "resume_on": ""}, htmx=htmx)
    assert response.headers["HX-Redirect" if htmx else "Location"] == f"/subscriptions/{sub_id}"
    assert _sub(app, sub_id).pause_on == end
    flash = _flash(_page(client, sub_id))
    assert "pauses at the end of its term, on " in flash and not ISO_DATE.search(flash)


@pytest.mark.parametrize("htmx", [False, True])
def test_an_unknown_choice_is_shown_next_to_it(app, client, jane, htmx):
    sub_id = _sub_id(app, jane, "live")
    response = _post(client, sub_id, "pause", {"pause_when": "soon"}, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="pause_when-errors"' in html
    assert "Choose when the pause starts." in html
    assert ("<html" in html) != htmx and _sub(app, sub_id).pause_on is None


@pytest.mark.parametrize("htmx", [False, True])
def test_the_admin_pauses_at_the_terms_end(app, client, auth, seeded, htmx):
    sub_id = _sub_id(app, seeded.jane_customer_id, "live")
    auth.login(*demo.ADMIN)
    page = client.get(f"/admin/subscriptions/{sub_id}").get_data(as_text=True)
    assert 'value="term_end"' in page and "At the end of the term" in page
    headers = HX if htmx else {"Referer": f"http://localhost/admin/subscriptions/{sub_id}"}
    response = client.post(f"/admin/subscriptions/{sub_id}/pause",
                           data={"pause_when": "term_end", "csrf_token": csrf_token_from(page)},
                           headers=headers)
    assert response.headers["HX-Redirect" if htmx else "Location"].endswith(
        f"/admin/subscriptions/{sub_id}")
    assert _sub(app, sub_id).pause_on == _sub(app, sub_id).current_term_end
