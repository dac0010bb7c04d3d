"""Logins: password rules, authentication and password changes."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.models import User
from webapp.services.accounts import sessions, two_factor
from webapp.services.core.errors import InvalidInput
from webapp.services.core.i18n import _, ngettext

MIN_PASSWORD_LENGTH = 10
# Compared against when the email is unknown, so both answers take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password-xyz", method="scrypt")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def password_problem(password: str, *, email: str) -> str | None:
    """Why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return ngettext("Use at least %(num)d character.", "Use at least %(num)d characters.",
                        MIN_PASSWORD_LENGTH)
    if password.strip().lower() == normalize_email(email):
        return _("Your password cannot be your email address.")
    return None


# Browsers drop tab, CR and LF anywhere in a URL, and read "\\" as "/" (the WHATWG URL rules).
_DROPPED_BY_BROWSERS = str.maketrans({"\t": None, "\r": None, "\n": None, "\\": "/"})
_SAFE_IN_URL = "/?&=#%:@!$'()*+,;~-._"


def safe_next(target: str | None) -> str | None:
    """The URL to go to after login: `target` when, read as a browser will read it, it is a
    path of this site (one leading "/", no scheme, no host); None otherwise (go home)."""
    if not target or len(target) > 2000:
        return None
    text = unicodedata.normalize("NFKC", target)  # fullwidth "／" becomes "/"
    if any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text):
        return None
    final = text.translate(_DROPPED_BY_BROWSERS).strip(" ")
    parts = urlsplit(final)
    if not final.startswith("/") or final.startswith("//") or parts.scheme or parts.netloc:
        return None
    if not parts.path.isascii():  # no look-alike slashes where a host could be read
        return None
    return quote(final, safe=_SAFE_IN_URL)


# Werkzeug's scrypt at its own cost (N=32768: about 0.1 s a hash on a 2-core machine). The
# test suite lowers it for its thousands of sign-ins (tests/conftest.py), as Django's test
# settings swap in a fast hasher; a stored hash names its own cost, so checking follows it.
HASH_METHOD = "scrypt"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=HASH_METHOD)


def authenticate(session: Session, *, email: str, password: str, now: datetime) -> User | None:
    """The active user with this email and password, or None (same cost either way)."""
    user = session.exec(select(User).where(User.email == normalize_email(email))).first()
    stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
    if not check_password_hash(stored, password) or user is None or not user.is_active:
        return None
    if user.password_hash is None:
        return None
    user.last_login_at = now
    return user


@dataclass(frozen=True)
class PasswordChanged:
    user_id: int
    session_version: int


def change_password(session: Session, *, user_id: int, current_password: str,
                    new_password: str, current_session_id: int | None,
                    now: datetime) -> PasswordChanged:
    """Set a new password; every other session of the user ends (the session version bumps
    and their rows end), and `current_session_id` goes on under the new version."""
    user = session.get(User, user_id)
    if user is None or not user.password_hash:
        raise InvalidInput(_("Your current password is not correct."), field="current_password")
    if not check_password_hash(user.password_hash, current_password):
        raise InvalidInput(_("Your current password is not correct."), field="current_password")
    set_password(user, new_password)
    sessions.end_all(session, user_id=user.id, reason="password_changed", now=now,
                     keep_session_id=current_session_id)
    two_factor.revoke_devices(session, user_id=user.id, now=now)
    return PasswordChanged(user.id, user.session_version)


def set_password(user: User, new_password: str) -> None:
    """Check the rules, store the hash and bump the session version (every login id and
    emailed link made before stops working); the caller ends the session rows."""
    problem = password_problem(new_password, email=user.email)
    if problem:
        raise InvalidInput(problem, field="new_password")
    user.password_hash = hash_password(new_password)
    user.session_version += 1
