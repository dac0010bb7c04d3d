"""Two-factor sign-in over HTTP: set-up on Account & security, the code step after the
password (a code, a recovery code, a remembered device), the policy, resets by an admin and
by the command line, each step with and without htmx."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlmodel import select

from tests.conftest import FIXED_NOW, Auth, csrf_token_from, post_form
from webapp import demo
from webapp.db import db
from webapp.models import AuditEntry, OutboxMessage, Preferences, User, UserSession

JANE_EMAIL, JANE_PASSWORD = demo.JANE


def _user(app, email=JANE_EMAIL) -> User:
    with app.app_context():
        user = db.session.exec(select(User).where(User.email == email)).one()
        db.session.expunge(user)
        return user


def _tick(app, seconds=30) -> None:
    """Move the portal's clock on by one code step (each code signs in once)."""
    app.config["FIXED_NOW"] = app.config["FIXED_NOW"] + timedelta(seconds=seconds)


def _code(app, secret) -> str:
    return pyotp.TOTP(secret).at(app.config["FIXED_NOW"])


def _set_up(app, client, *, htmx=False) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on from Account & security; the secret and recovery codes."""
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)
    done = post_form(client, "/account/two-factor", {"code": _code(app, secret)}, htmx=htmx,
                     token_from="/account/two-factor")
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>",
                       done.get_data(as_text=True))
    assert len(codes) == 10
    _tick(app)
    return secret, codes


def _set_policy(app, **values) -> None:
    with app.app_context():
        prefs = db.session.exec(select(Preferences)).one()
        for key, value in values.items():
            setattr(prefs, key, value)
        db.session.commit()


def _password_step(client, email=JANE_EMAIL, password=JANE_PASSWORD, next_url=None):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    path = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(path, data={"email": email, "password": password, "csrf_token": token})


def _code_step(client, code, *, remember=False, htmx=False):
    token = csrf_token_from(client.get("/login/code").get_data(as_text=True))
    data = {"code": code, "csrf_token": token, **({"remember": "y"} if remember else {})}
    return client.post("/login/code", data=data,
                       headers={"HX-Request": "true"} if htmx else {})


@pytest.fixture
def jane_with_2fa(app, client, auth, seeded):
    auth.login()
    secret, codes = _set_up(app, client)
    auth.logout()
    return secret, codes


# --- Set-up ----------------------------------------------------------------------------------

def test_account_page_offers_set_up_to_a_user_without_it(client, auth, seeded):
    auth.login()
    html = client.get("/account").get_data(as_text=True)
    assert "Two-factor sign-in" in html and "Set up two-factor sign-in" in html


def test_set_up_shows_a_qr_code_and_the_key_and_a_right_code_turns_it_on(app, client, auth,
                                                                          seeded):
    auth.login()
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "<svg" in page and 'class="qr"' in page and "Key:" in page
    _secret, codes = _set_up(app, client)
    user = _user(app)
    assert user.totp_enabled_at is not None
    html = client.get("/account").get_data(as_text=True)
    assert "10 recovery codes left" in html and "Set up two-factor" not in html
    with app.app_context():
        mail = db.session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "two_factor_changed")).one()
        assert mail.to_address == JANE_EMAIL


@pytest.mark.parametrize("htmx", [False, True])
def test_a_wrong_set_up_code_is_refused_next_to_the_field_and_changes_nothing(app, client, auth,
                                                                              seeded, htmx):
    auth.login()
    client.get("/account/two-factor")
    refused = post_form(client, "/account/two-factor", {"code": "000000"}, htmx=htmx,
                        token_from="/account/two-factor")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="code-errors"' in html and "not correct" in html
    assert ("<html" in html) is not htmx  # htmx gets the set-up panel alone
    assert _user(app).totp_enabled_at is None


def test_with_htmx_the_set_up_answers_with_the_codes_panel_alone(app, client, auth, seeded):
    auth.login()
    client.get("/account/two-factor")
    secret = _user(app).totp_secret
    done = post_form(client, "/account/two-factor", {"code": _code(app, secret)}, htmx=True,
                     token_from="/account/two-factor")
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "<html" not in html and 'id="recovery-codes"' in html


def test_the_codes_download_as_a_text_file_only_the_users_own_unused_codes(app, client, auth,
                                                                           seeded):
    auth.login()
    _secret, codes = _set_up(app, client)
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    answer = client.post("/account/two-factor/recovery-codes.txt",
                         data={"csrf_token": token, "code": [*codes, "fffff-fffff",
                                                             "<script>x</script>"]})
    assert answer.mimetype == "text/plain"
    assert "attachment" in answer.headers["Content-Disposition"]
    body = answer.get_data(as_text=True)
    assert all(code in body for code in codes)
    assert "fffff-fffff" not in body and "script" not in body


def test_the_set_up_post_checks_csrf(app, client, auth, seeded):
    auth.login()
    client.get("/account/two-factor")
    answer = client.post("/account/two-factor", data={"code": "123456"})
    assert answer.status_code == 400 and _user(app).totp_enabled_at is None


# --- Signing in ------------------------------------------------------------------------------

def test_a_user_without_two_factor_signs_in_exactly_as_before(client, auth, seeded):
    answer = auth.login()
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/")
    assert client.get("/").status_code == 200


def test_after_the_password_the_code_step_comes_before_anything_opens(app, client, seeded,
                                                                      jane_with_2fa):
    secret, _codes = jane_with_2fa
    answer = _password_step(client, next_url="/invoices")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/login/code")
    assert client.get("/").status_code == 302  # not signed in yet
    page = client.get("/login/code").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page
    done = _code_step(client, _code(app, secret))
    assert done.status_code == 303 and done.headers["Location"].endswith("/invoices")
    assert client.get("/").status_code == 200
    with app.app_context():
        row = db.session.exec(select(UserSession).order_by(UserSession.id.desc())).first()
        assert row.method == "totp"
    assert "Password + authenticator code" in client.get("/account").get_data(as_text=True)


def test_with_htmx_a_right_code_navigates_and_a_wrong_one_swaps_the_form(app, client, seeded,
                                                                        jane_with_2fa):
    secret, _codes = jane_with_2fa
    _password_step(client)
    wrong = _code_step(client, "000000", htmx=True)
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "<html" not in html and 'id="auth-code"' in html
    right = _code_step(client, _code(app, secret), htmx=True)
    assert right.headers["HX-Redirect"].endswith("/")


def test_a_recovery_code_signs_in_once(app, client, seeded, jane_with_2fa):
    _secret, codes = jane_with_2fa
    _password_step(client)
    assert _code_step(client, codes[0]).status_code == 303
    with app.app_context():
        row = db.session.exec(select(UserSession).order_by(UserSession.id.desc())).first()
        assert row.method == "recovery_code"
    Auth(client).logout()
    _password_step(client)
    again = _code_step(client, codes[0])
    assert again.status_code == 422 and "not correct" in again.get_data(as_text=True)


def test_five_wrong_codes_send_the_person_back_to_the_password_and_are_audited(app, client,
                                                                               seeded,
                                                                               jane_with_2fa):
    _password_step(client)
    answers = [_code_step(client, f"00000{i}").status_code for i in range(5)]
    assert answers == [422, 422, 422, 422, 303]
    assert client.get("/login/code").headers["Location"].endswith("/login")
    with app.app_context():
        wrong = db.session.exec(select(AuditEntry).where(
            AuditEntry.action == "two_factor.wrong_code")).all()
        assert len(wrong) == 5


def test_the_code_step_is_rate_limited(app, client, seeded, jane_with_2fa):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    _password_step(client)
    answers = [_code_step(client, "000000").status_code for _ in range(4)]
    assert answers[-1] == 429


def test_the_code_step_expires_after_ten_minutes(app, client, seeded, jane_with_2fa):
    secret, _codes = jane_with_2fa
    _password_step(client)
    token = csrf_token_from(client.get("/login/code").get_data(as_text=True))
    _tick(app, 601)
    answer = client.post("/login/code", data={"code": _code(app, secret), "csrf_token": token})
    assert answer.headers["Location"].endswith("/login")
    assert client.get("/").status_code == 302


def test_a_remembered_device_skips_the_code_until_signed_out_everywhere_else(app, client, seeded,
                                                                           jane_with_2fa):
    secret, _codes = jane_with_2fa
    _password_step(client)
    _code_step(client, _code(app, secret), remember=True)
    Auth(client).logout()
    again = _password_step(client)
    assert again.headers["Location"].endswith("/")  # no code asked, after logout too
    # another browser signs in (with a code) and signs out everywhere else
    other = app.test_client()
    _tick(app)
    _password_step(other)
    _code_step(other, _code(app, secret))
    post_form(other, "/account/sessions/end-others", {}, token_from="/account")
    third = _password_step(client)
    assert third.headers["Location"].endswith("/login/code")


def test_a_password_reset_link_asks_for_the_code_too(app, client, seeded, jane_with_2fa):
    from webapp.services.accounts import invitations

    secret, _codes = jane_with_2fa
    with app.app_context():
        user = db.session.exec(select(User).where(User.email == JANE_EMAIL)).one()
        token = invitations.make_token(user, purpose=invitations.RESET,
                                       secret=app.config["SECRET_KEY"], now=FIXED_NOW)
    path = f"/password/reset/{token}"
    answer = post_form(client, path, {"new_password": "a-brand-new-pass-1",
                                      "confirm_password": "a-brand-new-pass-1"})
    assert answer.headers["Location"].endswith("/login/code")
    assert client.get("/").status_code == 302
    assert _code_step(client, _code(app, secret)).status_code == 303
    assert client.get("/").status_code == 200


def test_a_new_browser_is_emailed_about_when_the_organization_asks(app, client, seeded):
    _set_policy(app, two_factor_new_device_email=True)
    Auth(client).login()
    with app.app_context():
        first = db.session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "new_device_sign_in")).all()
    assert len(first) == 1 and first[0].to_address == JANE_EMAIL
    Auth(client).logout()
    Auth(client).login()  # the same browser again: no second mail
    with app.app_context():
        assert len(db.session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "new_device_sign_in")).all()) == 1


# --- Turning it off, new codes ---------------------------------------------------------------

@pytest.mark.parametrize("htmx", [False, True])
def test_turning_it_off_with_a_wrong_password_says_so_and_keeps_it_on(app, client, auth, seeded,
                                                                       htmx):
    auth.login()
    secret, _codes = _set_up(app, client)
    answer = post_form(client, "/account/two-factor/off",
                       {"off-password": "wrong", "off-code": _code(app, secret)}, htmx=htmx,
                       token_from="/account")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'id="off-password-errors"' in html
    assert ("<html" in html) is not htmx
    assert _user(app).totp_enabled_at is not None


def test_turning_it_off_with_the_password_and_a_code(app, client, auth, seeded):
    auth.login()
    secret, _codes = _set_up(app, client)
    answer = post_form(client, "/account/two-factor/off",
                       {"off-password": JANE_PASSWORD, "off-code": _code(app, secret)},
                       token_from="/account")
    assert answer.status_code == 303 and _user(app).totp_enabled_at is None
    assert "Set up two-factor sign-in" in client.get("/account").get_data(as_text=True)


def test_new_recovery_codes_replace_the_old_ones(app, client, auth, seeded):
    auth.login()
    secret, old = _set_up(app, client)
    answer = post_form(client, "/account/two-factor/recovery-codes",
                       {"codes-password": JANE_PASSWORD, "codes-code": _code(app, secret)},
                       token_from="/account")
    new = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>",
                     answer.get_data(as_text=True))
    assert answer.status_code == 200 and len(new) == 10 and not set(new) & set(old)


# --- The policy ------------------------------------------------------------------------------

@pytest.mark.parametrize(("policy", "who", "sent_to_set_up"), [
    ("admins", demo.ADMIN, True), ("admins", demo.JANE, False),
    ("everyone", demo.JANE, True), ("optional", demo.ADMIN, False)])
def test_where_the_policy_requires_it_the_set_up_comes_first(app, client, seeded, policy, who,
                                                           sent_to_set_up):
    _set_policy(app, two_factor_policy=policy)
    Auth(client).login(*who)
    home = "/admin/" if who == demo.ADMIN else "/"
    answer = client.get(home)
    if sent_to_set_up:
        assert answer.status_code == 303
        assert answer.headers["Location"].endswith("/account/two-factor")
        htmx = client.get(home, headers={"HX-Request": "true"})
        assert htmx.headers["HX-Redirect"].endswith("/account/two-factor")
        assert client.get("/account/two-factor").status_code == 200
        _set_up(app, client)
        assert client.get(home).status_code == 200
    else:
        assert answer.status_code == 200


def test_while_the_policy_is_off_set_up_is_not_offered(app, client, auth, seeded):
    _set_policy(app, two_factor_policy="off")
    auth.login()
    assert "does not use two-factor" in client.get("/account").get_data(as_text=True)
    answer = client.get("/account/two-factor")
    assert answer.status_code == 303 and _user(app).totp_secret is None


def test_the_policy_is_set_on_the_preferences_page_and_audited(app, client, auth, seeded):
    auth.login(*demo.ADMIN)
    page = client.get("/admin/preferences").get_data(as_text=True)
    assert 'name="two_factor_policy"' in page and "Required for everyone" in page


# --- Resets ----------------------------------------------------------------------------------

@pytest.mark.parametrize("htmx", [False, True])
def test_an_admin_resets_a_customers_two_factor(app, client, seeded, jane_with_2fa, htmx):
    Auth(client).login(*demo.ADMIN)
    customer = f"/admin/customers/{seeded.jane_customer_id}"
    assert "Reset two-factor sign-in" in client.get(customer).get_data(as_text=True)
    answer = post_form(client, f"{customer}/portal/two-factor/reset", {}, htmx=htmx,
                       token_from=customer)
    assert answer.status_code == (200 if htmx else 303)
    assert _user(app).totp_enabled_at is None
    with app.app_context():
        entry = db.session.exec(select(AuditEntry).where(
            AuditEntry.action == "two_factor.reset")).one()
        assert entry.actor_label == demo.ADMIN[0]
        assert db.session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "two_factor_changed")).all()[-1].context["reset"]
    assert _password_step(app.test_client()).headers["Location"].endswith("/")


def test_an_admin_resets_another_admins_two_factor_from_account_and_security(app, client,
                                                                            seeded):
    from webapp.services.accounts.auth import hash_password

    with app.app_context():
        other = User(email="ops@example.com", password_hash=hash_password("ops-password-1"),
                     role="admin", created_at=FIXED_NOW, totp_secret=pyotp.random_base32(),
                     totp_enabled_at=FIXED_NOW)
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    Auth(client).login(*demo.ADMIN)
    page = client.get("/account").get_data(as_text=True)
    assert "ops@example.com" in page and "Reset two-factor sign-in of ops@example.com" in page
    answer = post_form(client, f"/account/two-factor/admins/{other_id}/reset", {},
                       token_from="/account")
    assert answer.status_code == 303
    assert _user(app, "ops@example.com").totp_enabled_at is None


def test_a_customer_cannot_reset_an_admin(app, client, auth, seeded):
    auth.login()
    answer = post_form(client, "/account/two-factor/admins/1/reset", {}, token_from="/account")
    assert answer.status_code == 404


def test_the_command_line_resets_the_last_admin(app, seeded):
    with app.app_context():
        admin = db.session.exec(select(User).where(User.email == demo.ADMIN[0])).one()
        admin.totp_secret, admin.totp_enabled_at = pyotp.random_base32(), FIXED_NOW
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["reset-2fa", demo.ADMIN[0]])
    assert result.exit_code == 0 and "turned off for admin@example.com" in result.output
    assert _user(app, demo.ADMIN[0]).totp_enabled_at is None
    again = app.test_cli_runner().invoke(args=["reset-2fa", demo.ADMIN[0]])
    assert "nothing changed" in again.output
    missing = app.test_cli_runner().invoke(args=["reset-2fa", "nobody@example.com"])
    assert missing.exit_code != 0 and "No user" in missing.output
    with app.app_context():
        assert db.session.exec(select(AuditEntry).where(
            AuditEntry.action == "two_factor.reset")).one().actor_label.startswith("command")


def test_with_two_factor_on_a_page_runs_the_same_statements(app, client, auth, seeded):
    """The login read stays one statement: whether two-factor sign-in is on comes with the
    user's row, and the policy with the preferences, in it."""
    from tests.web.app.test_request_facts import _statements

    auth.login()
    before = _statements(app, "/invoices", client)
    _set_up(app, client)
    _set_policy(app, two_factor_policy="everyone")
    after = _statements(app, "/invoices", client)
    assert len(after) == len(before)
    assert sum(1 for s in after if '"user"' in s or " user" in s.lower()) == \
        sum(1 for s in before if '"user"' in s or " user" in s.lower())
