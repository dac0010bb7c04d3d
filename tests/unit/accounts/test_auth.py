import pytest

from webapp.models import User
from webapp.services.accounts import auth, request_facts, sessions
from webapp.services.core.errors import InvalidInput


def test_short_passwords_are_refused():
    assert auth.password_problem("short", email="a@b.c") == "Use at least 10 characters."


def test_the_email_cannot_be_the_password():
    assert auth.password_problem("Jane@Example.com", email="jane@example.com") is not None


def test_a_long_password_is_accepted():
    assert auth.password_problem("correct horse battery", email="jane@example.com") is None


def _user(session, now, email="jane@example.com", password="first-password"):
    user = User(email=email, password_hash=auth.hash_password(password), role="customer",
                created_at=now)
    session.add(user)
    session.commit()
    return user


def test_authenticate_finds_the_user_with_the_right_password(session, now):
    user = _user(session, now)
    assert auth.authenticate(session, email=" JANE@example.com", password="first-password",
                             now=now).id == user.id


def test_authenticate_refuses_a_wrong_password_and_an_unknown_email_alike(session, now):
    _user(session, now)
    assert auth.authenticate(session, email="jane@example.com", password="nope", now=now) is None
    assert auth.authenticate(session, email="who@example.com", password="nope", now=now) is None


def _sign_in(session, user, now):
    started = sessions.start(session, user_id=user.id, method="password", ip=None,
                             user_agent=None, now=now)
    session.commit()
    return started


def test_changing_the_password_ends_other_sessions_and_keeps_this_one(session, now):
    user = _user(session, now)
    this, other = _sign_in(session, user, now), _sign_in(session, user, now)
    old_version = user.session_version
    auth.change_password(session, user_id=user.id, current_password="first-password",
                         new_password="second-password", current_session_id=this.session_id,
                         now=now)
    session.commit()
    version = user.session_version
    assert version == old_version + 1
    assert request_facts.for_login(session, request_facts.login_id(
        user.id, old_version, this.token)) is None
    assert request_facts.for_login(session, request_facts.login_id(
        user.id, version, this.token)) is not None
    assert request_facts.for_login(session, request_facts.login_id(
        user.id, version, other.token)) is None


def test_changing_the_password_needs_the_current_one(session, now):
    user = _user(session, now)
    with pytest.raises(InvalidInput) as raised:
        auth.change_password(session, user_id=user.id, current_password="wrong-password",
                             new_password="second-password", current_session_id=None, now=now)
    assert raised.value.field == "current_password"


def test_the_product_hashes_with_werkzeugs_scrypt_at_its_full_cost(monkeypatch):
    """The suite hashes cheaply (tests/conftest.py `quick_password_hashes`); the product
    does not, and a password checks against either hash by the cost its hash names."""
    from tests.conftest import PRODUCT_HASH_METHOD

    assert PRODUCT_HASH_METHOD == "scrypt"
    monkeypatch.setattr(auth, "HASH_METHOD", PRODUCT_HASH_METHOD)
    strong = auth.hash_password("first-password")
    assert strong.startswith("scrypt:32768:8:1$")
    monkeypatch.undo()
    quick = auth.hash_password("first-password")
    assert quick.startswith("scrypt:1024:8:1$")
    from werkzeug.security import check_password_hash
    assert check_password_hash(strong, "first-password") and check_password_hash(
        quick, "first-password")
