"""Forgot password, reset links and invitation links, through the test client."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import url_for
from sqlmodel import select

from tests.conftest import FIXED_NOW, post_form
from webapp import demo
from webapp.db import db
from webapp.models import Customer, OutboxMessage

NEW_PASSWORD = "a-fresh-password-42"


def _without_tokens(html: str) -> str:
    return re.sub(r'(value="|"X-CSRFToken": ")[^"]+"', "", html)


def _mails_to(app, address: str) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.exec(select(OutboxMessage)
                                    .where(OutboxMessage.to_address == address)
                                    .order_by(OutboxMessage.id)))


def _run_the_schedule(app) -> int:
    """What the in-process schedule does every few seconds on the embedded default."""
    from worker import jobs

    with app.app_context():
        return jobs.sweep_account_notices()


def _reset_path(client, app, email: str = demo.JANE[0]) -> str:
    response = post_form(client, "/password/forgot", {"email": email})
    assert response.status_code == 200
    _run_the_schedule(app)
    return _link_path(app, _mails_to(app, email)[-1])


def _link_path(app, mail) -> str:
    """The path the mail's link opens (the sender adds BASE_URL in front)."""
    page = mail.context["page"]
    with app.test_request_context():
        return url_for(page["endpoint"], **page["values"])


def _set_password(client, path: str, password: str = NEW_PASSWORD):
    return post_form(client, path, {"new_password": password, "confirm_password": password})


def test_the_login_page_links_to_forgot_password(client, seeded):
    page = client.get("/login").get_data(as_text=True)
    assert '<a href="/password/forgot">Forgot password?</a>' in page


def test_forgot_password_answers_the_same_for_known_and_unknown_emails(client, app, seeded):
    known = post_form(client, "/password/forgot", {"email": demo.JANE[0]})
    unknown = post_form(client, "/password/forgot", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert _without_tokens(known.get_data(as_text=True)) == \
        _without_tokens(unknown.get_data(as_text=True))
    assert "If that email has an account, we've sent a link" in known.get_data(as_text=True)


def test_forgot_password_mails_a_link_only_to_a_known_email(client, app, seeded):
    post_form(client, "/password/forgot", {"email": "JANE@example.com "})
    post_form(client, "/password/forgot", {"email": "nobody@example.com"})
    assert _mails_to(app, demo.JANE[0]) == []  # never from the request itself
    assert _run_the_schedule(app) == 2
    assert [m.status for m in _mails_to(app, demo.JANE[0])] == ["sent"]  # in-process, console
    assert _mails_to(app, "nobody@example.com") == []
    assert _run_the_schedule(app) == 0


def test_a_reset_link_sets_a_new_password_and_signs_in_with_it(client, app, auth, seeded):
    path = _reset_path(client, app)
    assert "Choose a new password" in client.get(path).get_data(as_text=True)
    response = _set_password(client, path)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert "Your password has been changed" in client.get("/").get_data(as_text=True)
    assert "Password reset link" in client.get("/account").get_data(as_text=True)
    auth.logout()
    assert auth.login(demo.JANE[0], demo.JANE[1]).status_code == 422
    assert auth.login(demo.JANE[0], NEW_PASSWORD).status_code == 303


def test_a_used_reset_link_is_refused(client, app, seeded):
    path = _reset_path(client, app)
    _set_password(client, path)
    again = client.get(path)
    assert again.status_code == 400
    assert "This link has already been used." in again.get_data(as_text=True)
    assert _set_password(client, path, "yet-another-password").status_code == 400


def test_an_expired_reset_link_is_refused(client, app, seeded):
    path = _reset_path(client, app)
    app.config["FIXED_NOW"] = FIXED_NOW + timedelta(hours=2, seconds=1)
    response = client.get(path)
    assert response.status_code == 400
    assert "This link has expired." in response.get_data(as_text=True)


def test_a_reset_link_still_works_just_before_it_expires(client, app, seeded):
    path = _reset_path(client, app)
    app.config["FIXED_NOW"] = FIXED_NOW + timedelta(hours=2)
    assert client.get(path).status_code == 200


def test_a_tampered_reset_link_is_refused(client, app, seeded):
    path = _reset_path(client, app)
    head, _, signature = path.rpartition(".")
    tampered = f"{head}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    response = client.get(tampered)
    assert response.status_code == 400
    assert "This link is not valid." in response.get_data(as_text=True)
    assert client.get("/password/reset/not-a-token").status_code == 400


def test_a_reset_link_does_not_work_as_an_invitation_link(client, app, seeded):
    path = _reset_path(client, app)
    assert client.get(path.replace("/reset/", "/invite/")).status_code == 400


def test_a_weak_new_password_is_refused_next_to_the_field_and_the_link_still_works(
        client, app, seeded):
    path = _reset_path(client, app)
    response = _set_password(client, path, demo.JANE[0])
    assert response.status_code == 422
    assert "cannot be your email address" in response.get_data(as_text=True)
    assert _set_password(client, path).status_code == 303


def test_mismatched_passwords_are_refused_next_to_the_field(client, app, seeded):
    path = _reset_path(client, app)
    response = post_form(client, path, {"new_password": NEW_PASSWORD,
                                        "confirm_password": NEW_PASSWORD + "x"})
    assert response.status_code == 422
    assert 'id="confirm_password-errors"' in response.get_data(as_text=True)


def test_an_invited_customer_sets_a_password_from_the_link_and_logs_in(client, app, auth, now,
                                                                       seeded):
    with app.app_context():
        db.session.add(Customer(display_name="Ann Lee", email="Ann@Example.com", currency="USD",
                                created_at=now))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["invite", "ann@example.com"])
    assert result.exit_code == 0, result.output
    assert "Invitation sent to ann@example.com (new portal login)." in result.output
    mail = _mails_to(app, "ann@example.com")[-1]
    assert (mail.status, mail.template) == ("sent", "invitation")
    path = _link_path(app, mail)
    assert path.startswith("/password/invite/")
    assert "Set your password" in client.get(path).get_data(as_text=True)
    assert _set_password(client, path).status_code == 303
    assert client.get("/").status_code == 200  # signed in by the link
    assert "Invitation link" in client.get("/account").get_data(as_text=True)
    auth.logout()
    assert auth.login("ann@example.com", NEW_PASSWORD).status_code == 303


def test_inviting_an_email_no_customer_has_fails_with_a_clear_message(app, seeded):
    result = app.test_cli_runner().invoke(args=["invite", "nobody@example.com"])
    assert result.exit_code == 1
    assert "No customer has the email nobody@example.com." in result.output
