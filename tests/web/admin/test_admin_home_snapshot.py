"""The admin home's figures snapshot (issue 31's speed): the panels are drawn once per data
version and reused, never stale: a write by anyone (the admin's POST, a service, a writer
outside the app), the next day, another window or another language draw them again; the
page around them (its CSRF token) is the request's own; Redis is shared by every app and
its failure does not fail the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from tests.conftest import FIXED_NOW, REDIS_URL, Auth, csrf_token_from, post_form
from tests.web.app.test_query_counts import count_queries
from webapp import create_app, data_version, demo
from webapp.db import db, make_engine
from webapp.models import Invoice, Subscription, User
from webapp.services.accounts.auth import hash_password

PANELS = re.compile(r'<section id="admin-home-panels".*?</section>\s*(?=<details class="help">)',
                    re.S)


@pytest.fixture
def admin(auth, seeded):
    auth.login(*demo.ADMIN)
    return auth


def panels(client, path: str = "/admin/") -> str:
    html = client.get(path).get_data(as_text=True)
    return PANELS.search(html).group(0)


def live_count(client) -> int:
    return int(re.search(r'href="/admin/subscriptions\?status=live">(\d+)</a>',
                         panels(client)).group(1))


def collected(client) -> str:
    """The USD collected in the window (the payments panel's first amount)."""
    return re.search(r'href="/admin/payments\?kind=payment&amp;currency=USD&amp;from=[^"]*">'
                     r'([^<]+)</a>', panels(client)).group(1)


def outstanding(client) -> str:
    return re.search(r'href="/admin/invoices\?status=unpaid&amp;currency=USD">([^<]+)</a>',
                     panels(client)).group(1)


def statements(app, client, path: str = "/admin/", **headers) -> tuple[int, str]:
    with count_queries(app.extensions["database"]) as counted:
        response = client.get(path, headers=headers)
    assert response.status_code == 200
    return len(counted), response.get_data(as_text=True)


def test_a_second_view_with_no_write_reads_no_figures(app, client, admin):
    first, html = statements(app, client)
    again, same = statements(app, client)
    assert again < first and again <= 3  # the login, the data version (and a BEGIN)
    assert PANELS.search(same).group(0) == PANELS.search(html).group(0)
    app.extensions["snapshots"].clear()
    uncached, _ = statements(app, client)
    assert uncached > again + 8


def test_the_page_around_the_snapshot_is_the_requests_own(app, client, admin):
    """The CSRF token (the form's, the sign-out's) is this session's, not the one of
    whoever drew the snapshot."""
    client.get("/admin/")
    other = app.test_client()
    Auth(other).login(*demo.ADMIN)
    mine = csrf_token_from(client.get("/admin/").get_data(as_text=True))
    theirs = csrf_token_from(other.get("/admin/").get_data(as_text=True))
    assert mine != theirs
    assert 'name="csrf_token"' not in panels(client)


def test_a_payment_recorded_by_the_admin_shows_at_once(app, client, admin):
    before = collected(client)
    jane = demo.JANE_CUSTOMER_ID if hasattr(demo, "JANE_CUSTOMER_ID") else None
    with app.app_context():
        jane = jane or db.session.exec(select(User.customer_id).where(
            User.email == demo.JANE[0])).one()
    page = f"/admin/customers/{jane}/payments/new"
    response = post_form(client, f"/admin/customers/{jane}/payments", {
        "amount": "10.00", "method": "cheque", "reference": "Cheque 42",
        "paid_on": FIXED_NOW.date().isoformat(), "idempotency_key": "cheque-42-key-123456"},
        token_from=page)
    assert response.status_code == 303
    after = collected(client)
    assert after != before


def test_a_cancellation_through_the_services_shows_at_once(app, client, admin, now):
    from webapp.services.core import preferences
    from webapp.services.subscriptions import actions

    before = live_count(client)
    with app.app_context():
        session = db.session
        reason = preferences.load(session).cancellation_reasons[0]
        sub = session.exec(select(Subscription).where(Subscription.status == "live")
                           .order_by(Subscription.id)).first()
        options = actions.cancel_options(session, customer_id=sub.customer_id,
                                         subscription_id=sub.id, now=now)
        assert "immediately" in options.timings
        actions.cancel(session, customer_id=sub.customer_id, subscription_id=sub.id,
                       timing="immediately", reason=reason, details="", now=now)
        session.commit()
        assert session.get(Subscription, sub.id).status == "cancelled"
    assert live_count(client) == before - 1


def test_a_write_outside_the_app_shows_at_once(app, client, admin, engine):
    """As a worker writes: its own engine, no app context (an invoice voided)."""
    before = outstanding(client)
    worker = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with Session(worker) as session:
            invoice = session.exec(select(Invoice).where(Invoice.status == "open",
                                                         Invoice.currency == "USD")
                                   .order_by(Invoice.total.desc())).first()
            session.execute(update(Invoice).where(Invoice.id == invoice.id)
                            .values(status="void"))
            session.commit()
    finally:
        worker.dispose()
    assert outstanding(client) != before


def test_htmx_swaps_are_kept_per_window(app, client, admin):
    hx = {"HX-Request": "true"}
    month, month_html = statements(app, client, "/admin/?window=month", **hx)
    again, again_html = statements(app, client, "/admin/?window=month", **hx)
    assert again < month and again_html == month_html
    assert again_html.lstrip().startswith('<section id="admin-home-panels"')
    year, year_html = statements(app, client, "/admin/?window=12m", **hx)
    assert year > again and year_html != month_html
    full, full_html = statements(app, client, "/admin/?window=month")
    assert full <= again + 1 and month_html.strip() in full_html and "<html" in full_html


def test_the_next_day_draws_them_again(app, client, admin):
    today = FIXED_NOW.date()
    assert f"to={today.isoformat()}" in panels(client)
    app.config["FIXED_NOW"] = FIXED_NOW + timedelta(days=1)
    count, html = statements(app, client)
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert f"to={tomorrow}" in html and count > 8


def test_a_german_admin_does_not_get_the_english_snapshot(app, client, admin):
    with app.app_context():
        db.session.add(User(email="greta@example.com", password_hash=hash_password("greta-pw-1"),
                            role="admin", locale="de_DE", created_at=FIXED_NOW))
        db.session.commit()
    german = app.test_client()
    Auth(german).login("greta@example.com", "greta-pw-1")
    german.get("/admin/")  # the day's retention cohort, any first view's
    english_panels = panels(client)
    with app.app_context():
        version = data_version.current(db.session, None)
    german_panels = panels(german)
    with app.app_context():
        assert data_version.current(db.session, None) == version  # no write in between
    assert "Recurring revenue" in english_panels
    assert "Wiederkehrender Umsatz" in german_panels and "Recurring revenue" not in german_panels


def _redis_app(engine, redis_url: str):
    return create_app({
        "TESTING": True, "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SECRET_KEY": "test-secret-key", "REDIS_URL": redis_url,
        "LOGIN_RATE_LIMIT": "1000 per minute", "FIXED_NOW": FIXED_NOW})


def test_with_redis_two_apps_share_the_snapshot_and_its_version(engine, seeded):
    first, second = _redis_app(engine, REDIS_URL), _redis_app(engine, REDIS_URL)
    first.extensions["snapshots"].clear()
    one, two = first.test_client(), second.test_client()
    Auth(one).login(*demo.ADMIN)
    Auth(two).login(*demo.ADMIN)
    drawn, html = statements(first, one)
    reused, same = statements(second, two)
    assert reused < drawn and reused <= 2  # the login and a BEGIN: the version is in Redis
    assert PANELS.search(same).group(0) == PANELS.search(html).group(0)
    before = outstanding(two)
    with first.app_context():
        invoice = db.session.exec(select(Invoice).where(Invoice.status == "open",
                                                        Invoice.currency == "USD")
                                  .order_by(Invoice.total.desc())).first()
        invoice.status = "void"
        db.session.commit()
    assert outstanding(two) != before


def test_a_redis_that_is_down_still_shows_the_page(engine, seeded):
    app = _redis_app(engine, "redis://127.0.0.1:1/0")
    client = app.test_client()
    Auth(client).login(*demo.ADMIN)
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get("/admin/", headers=headers)
        assert response.status_code == 200
        assert 'id="admin-home-panels"' in response.get_data(as_text=True)
