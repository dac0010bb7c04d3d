import re

import pytest

from tests.conftest import csrf_token_from, post_form
from webapp import demo


def _without_tokens(html: str) -> str:
    return re.sub(r'(value="|"X-CSRFToken": ")[^"]+"', "", html)


def test_jane_logs_in_and_sees_home(client, auth, seeded):
    response = auth.login()
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "<h1>Home</h1>" in page
    assert "Northwind Customer Portal" in page


def test_unknown_email_and_wrong_password_get_the_same_answer(client, auth, seeded):
    wrong_password = auth.login(demo.JANE[0], "not-her-password")
    unknown_email = auth.login("nobody@example.com", "not-her-password")
    assert wrong_password.status_code == unknown_email.status_code == 422
    first = _without_tokens(wrong_password.get_data(as_text=True)).replace(demo.JANE[0], "EMAIL")
    second = _without_tokens(unknown_email.get_data(as_text=True)).replace("nobody@example.com",
                                                                           "EMAIL")
    assert first == second
    assert "The email or password is not correct." in first


def test_pages_need_a_login(client, seeded):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_logout_ends_the_session(client, auth, seeded):
    auth.login()
    response = auth.logout()
    assert response.status_code == 303
    assert client.get("/").status_code == 302


def test_changing_the_password_ends_a_second_session(app, auth, seeded):
    other = app.test_client()
    from tests.conftest import Auth

    Auth(other).login()
    assert other.get("/").status_code == 200
    auth.login()
    response = post_form(auth.client, "/account/password", token_from="/account", data={
        "current_password": demo.JANE[1], "new_password": "a-brand-new-pass",
        "confirm_password": "a-brand-new-pass"})
    assert response.status_code == 303
    assert auth.client.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 302  # the other one is over
    auth.logout()
    assert auth.login(demo.JANE[0], "a-brand-new-pass").status_code == 303


def test_a_weak_new_password_is_refused_next_to_the_field(client, auth, seeded):
    auth.login()
    response = post_form(client, "/account/password", token_from="/account", data={
        "current_password": demo.JANE[1], "new_password": "jane@example.com",
        "confirm_password": "jane@example.com"})
    assert response.status_code == 422
    assert "cannot be your email address" in response.get_data(as_text=True)
    auth.logout()
    assert auth.login().status_code == 303  # the old password still works


def test_a_wrong_current_password_changes_nothing(client, auth, seeded):
    auth.login()
    response = post_form(client, "/account/password", token_from="/account", data={
        "current_password": "not-the-password", "new_password": "another-long-pass",
        "confirm_password": "another-long-pass"})
    assert response.status_code == 422
    assert 'id="current_password-errors"' in response.get_data(as_text=True)


def test_a_post_without_csrf_token_is_refused(client, seeded):
    response = client.post("/login", data={"email": demo.JANE[0], "password": demo.JANE[1]})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)


def test_the_csrf_header_is_accepted_for_htmx(client, seeded):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": demo.JANE[0], "password": demo.JANE[1]},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 303


def test_repeated_failed_logins_are_rate_limited(app, client, seeded):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    codes = [client.post("/login", data={"email": "x@example.com", "password": "bad",
                                         "csrf_token": token}).status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    assert "Too many attempts" in client.post("/login", data={"csrf_token": token}).get_data(
        as_text=True)


def test_every_response_carries_the_security_headers(client, seeded):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_session_cookie_is_httponly_and_lax(client, auth, seeded):
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on loopback in development


@pytest.mark.parametrize("path", ["/admin/"])
def test_a_customer_on_an_admin_url_gets_404(client, auth, seeded, path):
    auth.login()
    assert client.get(path).status_code == 404


def test_the_admin_logs_in_to_the_admin_pages(client, auth, seeded):
    response = auth.login(*demo.ADMIN)
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_an_unknown_url_gets_the_portal_404_page(client, seeded):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_an_oversized_body_is_refused(app, client, seeded):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/login", data={"email": "x" * 4096})
    assert response.status_code == 413


def test_a_server_error_shows_a_friendly_page_without_a_trace(app, seeded):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom-test")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom-test")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body and "secret internals" not in body
    assert "Traceback" not in body


def test_mismatched_new_passwords_are_refused_next_to_the_field(client, auth, seeded):
    auth.login()
    response = post_form(client, "/account/password", token_from="/account", data={
        "current_password": demo.JANE[1], "new_password": "a-brand-new-pass",
        "confirm_password": "something-else-1"})
    assert response.status_code == 422
    assert "The two new passwords do not match." in response.get_data(as_text=True)


def test_a_refused_action_without_a_page_to_return_to_explains_itself(app, client, auth, seeded):
    from webapp.services.core.errors import DomainError

    @app.post("/refuse-test")
    def refuse():
        raise DomainError("Already cancelled.")

    auth.login()
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    response = client.post("/refuse-test", data={"csrf_token": token})  # no Referer
    assert response.status_code == 409 and "Already cancelled." in response.get_data(as_text=True)


@pytest.mark.parametrize("next_param", [
    "/%09/evil.example", "/%0d/x", "/%0a/x", "//evil.example", "/%5cevil.example",
    "%2f%2fevil.example", "%5c%2f%5c%2fevil.example", "https:evil.example",
    "/%EF%BC%8Fevil.example",
])
def test_login_never_redirects_off_the_site(client, seeded, next_param):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(f"/login?next={next_param}", data={
        "email": demo.JANE[0], "password": demo.JANE[1], "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_login_follows_next_to_a_page_of_the_portal(client, seeded):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=/invoices%3Fstatus%3Doverdue", data={
        "email": demo.JANE[0], "password": demo.JANE[1], "csrf_token": token})
    assert response.headers["Location"] == "/invoices?status=overdue"
