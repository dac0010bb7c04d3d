"""Sessions you can see and end: logout that really logs out, Account & security's device
list, expiry, and the admin's view of a customer's sessions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.conftest import Auth, csrf_token_from, post_form
from webapp import demo
from webapp.db import db
from webapp.models import AuditEntry, OutboxMessage, User, UserSession

PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


def _device(app, user_agent: str | None = None):
    """A browser of its own, signed in as Jane."""
    client = app.test_client()
    if user_agent:
        client.environ_base["HTTP_USER_AGENT"] = user_agent
    Auth(client).login()
    return client


def _copy_of(app, client):
    """Another browser holding a copy of `client`'s cookie (same User-Agent)."""
    thief = app.test_client()
    thief.environ_base.update(client.environ_base)
    thief.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    return thief


def _rows(app, email=demo.JANE[0]) -> list[UserSession]:
    with app.app_context():
        user = db.session.exec(select(User).where(User.email == email)).one()
        return list(db.session.exec(select(UserSession).where(UserSession.user_id == user.id)
                                    .order_by(UserSession.id)).all())


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def _session_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="account-session-(\d+)"', html)]


# --- Logout ----------------------------------------------------------------------------------

def test_a_cookie_copied_before_logout_is_refused_after_it(app, client, auth, seeded):
    auth.login()
    thief = _copy_of(app, client)
    assert _signed_in(thief)
    token = csrf_token_from(thief.get("/account").get_data(as_text=True))
    auth.logout()
    page = thief.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    refused = thief.post("/account/sessions/end-others", data={"csrf_token": token})
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert [r.end_reason for r in _rows(app)] == ["logout"]


def test_logging_out_ends_only_that_browsers_session(app, seeded):
    first, second = _device(app), _device(app)
    Auth(first).logout()
    assert not _signed_in(first) and _signed_in(second)


# --- Account & security ----------------------------------------------------------------------

def test_account_lists_each_signed_in_device_and_marks_this_one(app, seeded):
    _device(app, PHONE)
    laptop = _device(app)
    page = laptop.get("/account").get_data(as_text=True)
    assert "<h1>Account &amp; security</h1>" in page and 'id="account-password"' in page
    sessions = page.split('id="account-sessions"')[1]
    assert "Mobile Safari on iOS" in sessions and "This device" in sessions
    assert sessions.count(">Sign out</button>") == 1  # every device but this one
    assert "Sign out everywhere else" in sessions
    assert "127.0.0.1" in sessions


def test_account_is_in_the_sidebar_for_customers_and_admins(app, client, auth, seeded):
    auth.login()
    assert '<a href="/account">Account &amp; security</a>' in client.get("/").get_data(
        as_text=True)
    admin = app.test_client()
    Auth(admin).login(*demo.ADMIN)
    assert admin.get("/account").status_code == 200
    assert '<a href="/account" aria-current="page">Account &amp; security</a>' in admin.get(
        "/account").get_data(as_text=True)


def test_account_stays_reachable_with_the_profile_module_off(app, client, auth, seeded):
    from webapp.services.core import preferences

    with app.app_context():
        preferences.update(db.session, actor_user_id=None, changes={"module_profile": False},
                           now=app.config["FIXED_NOW"])
        db.session.commit()
    auth.login()
    assert client.get("/profile").status_code == 404
    assert client.get("/account").status_code == 200


def test_the_old_change_password_url_moves_to_account(client, auth, seeded):
    auth.login()
    response = client.get("/account/password")
    assert response.status_code == 301 and response.headers["Location"] == "/account"


@pytest.mark.parametrize("htmx", [False, True])
def test_signing_out_one_device_ends_its_cookie_but_not_the_others(app, seeded, htmx):
    device_a, device_b = _device(app, PHONE), _device(app)
    laptop = _device(app)
    a_id, b_id = (r.id for r in _rows(app)[:2])
    response = post_form(laptop, f"/account/sessions/{a_id}/end", {}, htmx=htmx,
                         token_from="/account")
    if htmx:
        body = response.get_data(as_text=True).strip()
        assert response.status_code == 200 and body.startswith('<section id="account-sessions"')
        assert "That device has been signed out." in body and "<html" not in body
        assert a_id not in _session_ids(body) and b_id in _session_ids(body)
    else:
        assert response.status_code == 303 and response.headers["Location"] == "/account"
        assert "That device has been signed out." in laptop.get("/account").get_data(
            as_text=True)
    assert not _signed_in(device_a)
    assert _signed_in(device_b) and _signed_in(laptop)
    assert _rows(app)[0].end_reason == "signed_out"


@pytest.mark.parametrize("htmx", [False, True])
def test_signing_out_everywhere_else_keeps_this_device(app, seeded, htmx):
    others = [_device(app, PHONE), _device(app)]
    laptop = _device(app)
    response = post_form(laptop, "/account/sessions/end-others", {}, htmx=htmx,
                         token_from="/account")
    page = (response if htmx else laptop.get("/account")).get_data(as_text=True)
    assert response.status_code == (200 if htmx else 303)
    assert "Every other device has been signed out." in page
    assert len(_session_ids(page)) == 1
    assert [_signed_in(c) for c in others] == [False, False] and _signed_in(laptop)


@pytest.mark.parametrize("htmx", [False, True])
def test_signing_out_this_device_from_the_list_logs_out(app, seeded, htmx):
    laptop = _device(app)
    this_id = _rows(app)[0].id
    response = post_form(laptop, f"/account/sessions/{this_id}/end", {}, htmx=htmx,
                         token_from="/account")
    if htmx:
        assert response.headers["HX-Redirect"] == "/login"
    else:
        assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert not _signed_in(laptop)


def test_another_users_session_id_is_not_found(app, client, auth, seeded):
    omar = app.test_client()
    Auth(omar).login(*demo.OMAR)
    omars = _rows(app, demo.OMAR[0])[0].id
    auth.login()
    response = post_form(client, f"/account/sessions/{omars}/end", {}, token_from="/account")
    assert response.status_code == 404
    assert _signed_in(omar)


def test_ending_a_session_needs_a_csrf_token(app, client, auth, seeded):
    other = _device(app)
    auth.login()
    other_id = _rows(app)[0].id
    assert client.post(f"/account/sessions/{other_id}/end").status_code == 400
    assert client.post("/account/sessions/end-others").status_code == 400
    assert _signed_in(other)


def test_changing_the_password_ends_the_other_devices_and_keeps_this_one(app, seeded):
    other, laptop = _device(app, PHONE), _device(app)
    response = post_form(laptop, "/account/password", {
        "current_password": demo.JANE[1], "new_password": "a-brand-new-pass",
        "confirm_password": "a-brand-new-pass"}, token_from="/account")
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert not _signed_in(other) and _signed_in(laptop)
    assert [r.end_reason for r in _rows(app)] == ["password_changed", None]


def test_a_refused_password_change_swaps_only_the_password_form(app, client, auth, seeded):
    auth.login()
    response = post_form(client, "/account/password", {
        "current_password": "wrong-password", "new_password": "a-brand-new-pass",
        "confirm_password": "a-brand-new-pass"}, htmx=True, token_from="/account")
    body = response.get_data(as_text=True).strip()
    assert response.status_code == 422 and body.startswith('<section id="account-password"')
    assert 'id="current_password-errors"' in body


def test_a_password_change_with_htmx_reloads_the_account_page(app, client, auth, seeded):
    auth.login()
    response = post_form(client, "/account/password", {
        "current_password": demo.JANE[1], "new_password": "a-brand-new-pass",
        "confirm_password": "a-brand-new-pass"}, htmx=True, token_from="/account")
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/account"
    assert "Your password has been changed" in client.get("/account").get_data(as_text=True)


# --- Expiry ----------------------------------------------------------------------------------

def _step(app, **delta) -> None:
    app.config["FIXED_NOW"] = app.config["FIXED_NOW"] + timedelta(**delta)


def test_a_session_idle_for_seven_days_ends_on_its_next_request(app, client, auth, seeded):
    auth.login()
    _step(app, days=6, hours=23)
    assert _signed_in(client)  # and last seen moves to now
    _step(app, days=6, hours=23)
    assert _signed_in(client)
    _step(app, days=7)
    assert not _signed_in(client)
    assert _rows(app)[0].end_reason == "expired"


def test_a_session_ends_30_days_after_sign_in_however_busy(app, client, auth, seeded):
    auth.login()
    for _ in range(5):
        _step(app, days=5, hours=23)
        assert _signed_in(client)
    _step(app, hours=5)  # 30 days after signing in
    assert not _signed_in(client)
    assert _rows(app)[0].end_reason == "expired"


def test_the_lifetime_and_idle_timeout_are_the_admins_preferences(app, client, auth, seeded):
    from webapp.services.core import preferences

    with app.app_context():
        preferences.update(db.session, actor_user_id=None, now=app.config["FIXED_NOW"],
                           changes={"session_lifetime_days": 2, "session_idle_days": 1})
        db.session.commit()
    auth.login()
    _step(app, hours=23)
    assert _signed_in(client)
    _step(app, hours=23)
    assert _signed_in(client)
    _step(app, hours=3)  # 49 hours after sign-in
    assert not _signed_in(client)


def test_last_seen_is_written_after_the_page_at_most_once_a_minute(app, client, auth, seeded):
    from tests.web.app.test_query_counts import count_queries

    auth.login()
    signed_in_at = app.config["FIXED_NOW"]
    _step(app, seconds=30)
    with count_queries(app.extensions["database"]) as statements:
        assert _signed_in(client)
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    _step(app, seconds=31)
    with count_queries(app.extensions["database"]) as statements:
        assert _signed_in(client)
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1 and "user_session" in updates[0]
    assert statements[-1] == updates[0] or statements[-1].upper().startswith("COMMIT")
    assert _rows(app)[0].last_seen_at == signed_in_at + timedelta(seconds=61)


# --- Deactivated users and admins ------------------------------------------------------------

def _customer_page(app, client):
    with app.app_context():
        user = db.session.exec(select(User).where(User.email == demo.JANE[0])).one()
        return f"/admin/customers/{user.customer_id}", user.customer_id


def test_revoking_portal_access_ends_every_session_of_the_customer(app, seeded):
    jane = _device(app)
    admin = app.test_client()
    Auth(admin).login(*demo.ADMIN)
    page, _ = _customer_page(app, admin)
    assert post_form(admin, f"{page}/portal/revoke", {}, token_from=page).status_code == 303
    assert not _signed_in(jane)
    assert [r.end_reason for r in _rows(app)] == ["revoked"]


def test_the_admin_sees_the_customers_devices_on_the_overview(app, seeded):
    _device(app, PHONE)
    admin = app.test_client()
    Auth(admin).login(*demo.ADMIN)
    page, _ = _customer_page(app, admin)
    portal = admin.get(page).get_data(as_text=True).split('id="admin-customer-portal"')[1]
    assert "Signed-in devices" in portal and "Mobile Safari on iOS" in portal
    assert "Sign out everywhere" in portal


@pytest.mark.parametrize("htmx", [False, True])
def test_the_admin_signs_a_customer_out_of_one_device_audited_and_emailed(app, seeded, htmx):
    phone, laptop = _device(app, PHONE), _device(app)
    phone_id = _rows(app)[0].id
    admin = app.test_client()
    Auth(admin).login(*demo.ADMIN)
    page, customer_id = _customer_page(app, admin)
    response = post_form(admin, f"{page}/portal/sessions/{phone_id}/end", {}, htmx=htmx,
                         token_from=page)
    if htmx:
        body = response.get_data(as_text=True).strip()
        assert body.startswith('<article id="admin-customer-portal"')
        assert "Mobile Safari on iOS" not in body and "signed out of that device" in body
    else:
        assert response.status_code == 303 and response.headers["Location"] == page
    assert not _signed_in(phone) and _signed_in(laptop)
    with app.app_context():
        entry = db.session.exec(select(AuditEntry).where(
            AuditEntry.action == "portal.sign_out")).one()
        assert (entry.customer_id, entry.before, entry.after) == (
            customer_id, {"signed_in_devices": 2}, {"signed_in_devices": 1})
        mail = db.session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "sessions_ended")).one()
        assert mail.to_address == demo.JANE[0] and mail.context["count"] == 1


def test_the_admin_signs_a_customer_out_everywhere(app, seeded):
    devices = [_device(app, PHONE), _device(app)]
    admin = app.test_client()
    Auth(admin).login(*demo.ADMIN)
    page, _ = _customer_page(app, admin)
    response = post_form(admin, f"{page}/portal/sessions/end-all", {}, token_from=page)
    assert response.status_code == 303
    assert [_signed_in(c) for c in devices] == [False, False]
    assert "Not signed in anywhere." in admin.get(page).get_data(as_text=True)
    assert {r.end_reason for r in _rows(app)} == {"admin"}


def test_the_admin_cannot_end_another_customers_session_through_this_customer(app, seeded):
    omar = app.test_client()
    Auth(omar).login(*demo.OMAR)
    omars = _rows(app, demo.OMAR[0])[0].id
    admin = app.test_client()
    Auth(admin).login(*demo.ADMIN)
    page, _ = _customer_page(app, admin)
    response = post_form(admin, f"{page}/portal/sessions/{omars}/end", {}, token_from=page)
    assert response.status_code == 404 and _signed_in(omar)


def test_customers_get_404_on_the_admins_session_urls(app, client, auth, seeded):
    auth.login()
    page, _ = _customer_page(app, client)
    response = post_form(client, f"{page}/portal/sessions/end-all", {}, token_from="/account")
    assert response.status_code == 404


# --- Retention -------------------------------------------------------------------------------

def test_the_schedule_purges_sessions_ended_more_than_90_days_ago(app, seeded):
    from worker import jobs
    from worker.schedule import SCHEDULE

    assert jobs.purge_sessions in {job for job, _interval in SCHEDULE}
    old, recent = _device(app), _device(app)
    Auth(old).logout()
    Auth(recent).logout()
    with app.app_context():
        rows = db.session.exec(select(UserSession).order_by(UserSession.id)).all()
        rows[0].ended_at = app.config["FIXED_NOW"] - timedelta(days=91)
        db.session.commit()
        assert jobs.purge_sessions() == 1
        assert len(db.session.exec(select(UserSession)).all()) == 1


def test_a_browser_signed_out_from_another_device_signs_in_again(app, client, auth, seeded):
    """Its login cookie names an ended session: the login read finds it ended, and the POST's
    rate-limit count (its own connection) must not wait behind that read on SQLite."""
    auth.login()
    other = _device(app, PHONE)
    post_form(other, "/account/sessions/end-others", {}, token_from="/account")
    assert not _signed_in(client)
    answer = auth.login()
    assert answer.status_code == 303 and _signed_in(client)
