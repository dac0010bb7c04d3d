"""The admin notifications page: listing, marking read (htmx and plain form), admins only."""

from __future__ import annotations

import pytest

from tests.conftest import post_form
from webapp import demo
from webapp.db import db
from webapp.services.core import notifications


@pytest.fixture
def note_id(app, seeded, now):
    with app.app_context():
        note = notifications.notify_org(db.session, event="subscription_paused",
                                        title="Jane paused Pro", body="Until 1 March.", now=now)
        db.session.commit()
        return note.id


@pytest.fixture
def admin(auth, seeded):
    auth.login(*demo.ADMIN)
    return auth


def test_admins_see_unread_notifications_and_a_sidebar_link(client, admin, note_id):
    page = client.get("/admin/notifications/").get_data(as_text=True)
    assert f'id="notification-row-{note_id}"' in page
    assert "Jane paused Pro" in page and "Unread" in page
    assert '<a href="/admin/notifications/"' in page


@pytest.mark.parametrize("method, path", [("get", "/admin/notifications/"),
                                          ("post", "/admin/notifications/{id}/read")])
def test_notifications_are_not_found_for_customers(client, auth, note_id, method, path):
    auth.login()
    path = path.format(id=note_id)
    if method == "get":
        response = client.get(path)
    else:
        response = post_form(client, path, {}, token_from="/")
    assert response.status_code == 404


def test_marking_read_with_htmx_swaps_only_the_row(client, admin, note_id):
    response = post_form(client, f"/admin/notifications/{note_id}/read", {}, htmx=True,
                         token_from="/admin/notifications/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="notification-row-{note_id}"')
    assert "Unread" not in html and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_marking_read_without_htmx_redirects_to_the_list_with_a_flash(client, admin, note_id):
    response = post_form(client, f"/admin/notifications/{note_id}/read", {},
                         token_from="/admin/notifications/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/notifications/"
    page = client.get("/admin/notifications/").get_data(as_text=True)
    assert "Notification marked as read." in page
    assert "0 unread." in page


def test_marking_read_without_a_csrf_token_is_refused(client, admin, note_id):
    response = client.post(f"/admin/notifications/{note_id}/read")
    assert response.status_code == 400


def test_marking_a_missing_notification_read_is_not_found(client, admin, note_id):
    response = post_form(client, "/admin/notifications/999/read", {},
                         token_from="/admin/notifications/")
    assert response.status_code == 404
