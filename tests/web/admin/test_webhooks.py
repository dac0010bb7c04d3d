"""The admin's webhooks pages: add an endpoint (its secret shown once), edit, send a test event,
rotate, disable, delete, the delivery log with filters, Resend and Replay since; each change
audited; customers get 404; with and without htmx."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.conftest import post_form
from tests.webhook_receiver import Receiver
from webapp import demo
from webapp.db import db
from webapp.models import AuditEntry, WebhookDelivery, WebhookEndpoint, WebhookEvent

SECRET = re.compile(r'<pre id="webhook-secret"[^>]*>(whsec_[^<]+)</pre>')


@pytest.fixture
def admin(auth, seeded):
    auth.login(*demo.ADMIN)
    return auth


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def _add(client, receiver: Receiver, *, htmx: bool = False, **fields):
    data = {"url": receiver.url, "description": "CRM", "all_types": "y", **fields}
    response = post_form(client, "/admin/webhooks", data, htmx=htmx, token_from="/admin/webhooks/new")
    found = SECRET.search(response.get_data(as_text=True))
    if found:
        receiver.secrets.append(found.group(1))
    return response


def _endpoint(app) -> WebhookEndpoint:
    with app.app_context():
        return db.session.exec(select(WebhookEndpoint)).one()


def _audit(app) -> list[str]:
    with app.app_context():
        return [a.action for a in db.session.exec(select(AuditEntry).where(
            AuditEntry.subject_type == "webhook_endpoint").order_by(AuditEntry.id))]


def _send(app):
    from worker import jobs

    with app.app_context():
        return jobs.send_webhooks()


@pytest.mark.parametrize("htmx", [False, True])
def test_adding_an_endpoint_shows_its_secret_once(app, client, admin, receiver, htmx):
    response = _add(client, receiver, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and receiver.secrets
    assert response.headers["Cache-Control"] == "no-store"
    assert ("<html" in html) != htmx and 'id="admin-webhook-form"' in html
    endpoint = _endpoint(app)
    assert endpoint.event_types == ["*"] and receiver.secrets[0] not in endpoint.secret_encrypted
    detail = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    listing = client.get("/admin/webhooks").get_data(as_text=True)
    assert receiver.secrets[0] not in detail + listing  # never shown again
    assert "Development only" in listing and receiver.url in listing
    assert _audit(app) == ["webhook_endpoint.create"]


@pytest.mark.parametrize("htmx", [False, True])
def test_a_bad_url_and_no_types_are_shown_next_to_their_fields(app, client, admin, receiver,
                                                               htmx):
    response = _add(client, receiver, htmx=htmx, url="ftp://example.com", all_types="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and ("<html" in html) != htmx
    assert "Enter an http:// or https:// URL." in html
    assert "Choose at least one event type" in html
    assert 'value="ftp://example.com"' in html
    with app.app_context():
        assert db.session.exec(select(WebhookEndpoint)).all() == []


def test_production_refuses_a_loopback_url(app, client, admin, receiver):
    app.config["PORTAL_ENV"] = "production"
    response = _add(client, receiver, url="https://127.0.0.1/hooks")
    assert response.status_code == 422
    assert "internal address" in response.get_data(as_text=True)


def test_editing_the_types_and_the_description(app, client, admin, receiver):
    _add(client, receiver)
    endpoint_id = _endpoint(app).id
    response = post_form(client, f"/admin/webhooks/{endpoint_id}/edit", {
        "url": receiver.url, "description": "Billing system",
        "event_types": ["invoice.paid", "payment.failed"]},
        token_from=f"/admin/webhooks/{endpoint_id}/edit")
    assert response.status_code == 303
    endpoint = _endpoint(app)
    assert endpoint.event_types == ["invoice.paid", "payment.failed"]
    assert endpoint.description == "Billing system"
    assert _audit(app) == ["webhook_endpoint.create", "webhook_endpoint.update"]


@pytest.mark.parametrize("htmx", [False, True])
def test_send_test_event_then_see_it_in_the_log_and_resend_it(app, client, admin, receiver,
                                                              htmx):
    _add(client, receiver)
    endpoint_id = _endpoint(app).id
    page = f"/admin/webhooks/{endpoint_id}"
    response = post_form(client, f"{page}/test", {}, htmx=htmx, token_from=page)
    assert response.status_code == (200 if htmx else 303)
    assert receiver.received == []  # queued, not sent by the request
    assert _send(app) == 1
    [arrival] = receiver.received
    assert arrival.payload["type"] == "test.ping" and arrival.verified_with == (0,)
    html = client.get(page).get_data(as_text=True)
    assert "test.ping" in html and arrival.id in html and "Delivered" in html
    fragment = client.get(f"{page}?status=delivered", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith('<section id="admin-webhook-log"')
    assert arrival.id not in client.get(f"{page}?status=failed").get_data(as_text=True)
    assert arrival.id not in client.get(f"{page}?type=invoice.paid").get_data(as_text=True)
    assert arrival.id in client.get(f"{page}?type=test.ping").get_data(as_text=True)
    with app.app_context():
        delivery_id = db.session.exec(select(WebhookDelivery.id)).one()
    post_form(client, f"{page}/deliveries/{delivery_id}/resend", {}, htmx=htmx, token_from=page)
    _send(app)
    assert receiver.ids == [arrival.id, arrival.id]
    assert _audit(app) == ["webhook_endpoint.create", "webhook_endpoint.test",
                           "webhook_endpoint.resend"]


def test_rotating_shows_the_new_secret_once_and_both_sign_for_a_while(app, client, admin,
                                                                      receiver):
    _add(client, receiver)
    endpoint_id = _endpoint(app).id
    page = f"/admin/webhooks/{endpoint_id}"
    response = post_form(client, f"{page}/rotate", {}, token_from=page)
    html = response.get_data(as_text=True)
    new_secret = SECRET.search(html).group(1)
    assert "24 hours" in html and new_secret != receiver.secrets[0]
    receiver.secrets.append(new_secret)
    post_form(client, f"{page}/test", {}, token_from=page)
    _send(app)
    assert receiver.received[0].verified_with == (0, 1)
    assert "webhook_endpoint.rotate_secret" in _audit(app)


def test_replay_since_a_day_and_its_errors(app, client, admin, receiver):
    _add(client, receiver)
    endpoint_id = _endpoint(app).id
    page = f"/admin/webhooks/{endpoint_id}"
    with app.app_context():
        events_before = db.session.exec(select(WebhookEvent)).all()
    response = post_form(client, f"{page}/replay", {"since": ""}, htmx=True, token_from=page)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Enter the first day to replay" in html
    assert html.lstrip().startswith('<section id="admin-webhook-replay"')
    response = post_form(client, f"{page}/replay", {"since": "2026-11-01"}, token_from=page)
    assert response.status_code == 303
    with app.app_context():
        queued = db.session.exec(select(WebhookDelivery)).all()
    assert len(queued) == len([e for e in events_before if e.type != "test.ping"])
    assert "webhook_endpoint.replay" in _audit(app)


def test_disable_enable_and_delete(app, client, admin, receiver):
    _add(client, receiver)
    endpoint_id = _endpoint(app).id
    page = f"/admin/webhooks/{endpoint_id}"
    post_form(client, f"{page}/enabled", {"enabled": "no"}, token_from=page)
    assert not _endpoint(app).enabled
    assert "Disabled by an admin." in client.get(page).get_data(as_text=True)
    post_form(client, f"{page}/enabled", {"enabled": "yes"}, token_from=page)
    assert _endpoint(app).enabled
    response = post_form(client, f"{page}/delete", {}, token_from=page)
    assert response.status_code == 303 and _endpoint(app)  # not confirmed: kept
    response = post_form(client, f"{page}/delete", {"confirmed": "yes"}, token_from=page)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.exec(select(WebhookEndpoint)).all() == []
    assert _audit(app)[-3:] == ["webhook_endpoint.disable", "webhook_endpoint.enable",
                                "webhook_endpoint.delete"]


def test_customers_and_strangers_get_no_webhook_pages(client, auth, seeded):
    assert client.get("/admin/webhooks").status_code in (302, 303, 404)
    auth.login()
    assert client.get("/admin/webhooks").status_code == 404
    assert client.get("/admin/webhooks/1").status_code == 404


def test_an_unknown_endpoint_is_404(client, admin):
    assert client.get("/admin/webhooks/999").status_code == 404


def test_the_sidebar_links_webhooks(client, admin):
    assert 'href="/admin/webhooks"' in client.get("/admin/").get_data(as_text=True)


def test_a_post_without_its_csrf_token_changes_nothing(app, client, admin, receiver):
    _add(client, receiver)
    endpoint_id = _endpoint(app).id
    for action in ("test", "rotate", "enabled", "replay"):
        response = client.post(f"/admin/webhooks/{endpoint_id}/{action}",
                               data={"enabled": "no", "since": "2026-11-01"})
        assert response.status_code in (303, 400, 422)
    with app.app_context():
        assert db.session.exec(select(WebhookEvent).where(WebhookEvent.type == "test.ping")
                               ).all() == []
        assert db.session.exec(select(WebhookDelivery)).all() == []
    endpoint = _endpoint(app)
    assert endpoint.enabled and endpoint.previous_secret_encrypted is None
    assert _audit(app) == ["webhook_endpoint.create"]
