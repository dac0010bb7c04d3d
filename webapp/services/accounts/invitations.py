"""Portal invitations and password resets: signed, single-use, expiring set-password links.

A token signs (user id, session version) with SECRET_KEY and a salt per purpose, and carries
the time it was made. Setting a password bumps the session version (auth.set_password), so a
link works once; so does any other password change, and bumping the version revokes a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func
from sqlmodel import Session, select

from webapp.models import Customer, Organization, User
from webapp.services.accounts import auth, sessions, two_factor
from webapp.services.core import outbox
from webapp.services.core.errors import DomainError, InvalidInput, NotFound
from webapp.services.core.i18n import _


@dataclass(frozen=True)
class Purpose:
    name: str
    salt: str
    max_age: timedelta
    endpoint: str  # the page that takes the token (webapp/blueprints/password.py)


INVITATION = Purpose("invitation", "portal.invitation", timedelta(days=7),
                     "password.accept_invitation")
RESET = Purpose("reset", "portal.password-reset", timedelta(hours=2), "password.reset")


class InvalidLink(DomainError):
    """The link was changed, has expired, or has been used; `reason` says which."""

    status = 400

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _SignerAt(TimestampSigner):
    """A timestamp signer that reads `now` instead of the clock (services never read it)."""

    def __init__(self, *args, now: datetime, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._now = now

    def get_timestamp(self) -> int:
        return int(self._now.timestamp())


def _serializer(purpose: Purpose, secret: str, now: datetime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=purpose.salt, signer=_SignerAt,
                                  signer_kwargs={"now": now})


def make_token(user: User, *, purpose: Purpose, secret: str, now: datetime) -> str:
    """A link token for this user, valid for `purpose.max_age` and until a password is set."""
    return _serializer(purpose, secret, now).dumps([user.id, user.session_version])


def link(purpose: Purpose, token: str) -> dict:
    """The mail's link to the page that takes this token (an endpoint and its values: the
    sender makes it a URL with the portal's address)."""
    return outbox.page(purpose.endpoint, token=token)


def user_for_token(session: Session, *, token: str, purpose: Purpose, secret: str,
                   now: datetime) -> User:
    """The user a valid token names; InvalidLink if it was altered, expired or already used."""
    serializer = _serializer(purpose, secret, now)
    try:
        user_id, version = serializer.loads(token, max_age=int(purpose.max_age.total_seconds()))
    except SignatureExpired as exc:
        raise InvalidLink("expired", _("This link has expired.")) from exc
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidLink("invalid", _("This link is not valid. Check that you copied all of "
                                       "it, or ask for a new one.")) from exc
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active or user.session_version != version:
        raise InvalidLink("used", _("This link has already been used."))
    return user


def set_password_with_token(session: Session, *, token: str, purpose: Purpose,
                            new_password: str, secret: str, now: datetime) -> User:
    """Set the password of the token's user (the password rules apply); the link is then used."""
    user = user_for_token(session, token=token, purpose=purpose, secret=secret, now=now)
    auth.set_password(user, new_password)
    sessions.end_all(session, user_id=user.id, reason=f"password_{purpose.name}",
                     now=now)
    two_factor.revoke_devices(session, user_id=user.id, now=now)
    return user


@dataclass(frozen=True)
class Invited:
    user_id: int
    email: str
    created_user: bool


def invite(session: Session, *, now: datetime, secret: str,
           email: str | None = None, customer_id: int | None = None) -> Invited:
    """Email a customer (by email or id) a set-password link, creating their login if needed."""
    customer = _customer(session, email=email, customer_id=customer_id)
    user, created = _login_for(session, customer, now=now)
    customer.portal_enabled = True  # an invitation is what opens the portal to them
    days = INVITATION.max_age.days
    token = make_token(user, purpose=INVITATION, secret=secret, now=now)
    outbox.enqueue(session, template="invitation", to=user.email, customer_id=customer.id,
                   subject=_("Your invitation to %(portal)s", portal=portal_name(session)),
                   now=now,
                   context={"name": customer.display_name, "valid_days": days,
                            "page": link(INVITATION, token)})
    return Invited(user.id, user.email, created)


def mail_password_reset(session: Session, *, user: User, now: datetime, secret: str) -> None:
    """Write the reset-link email for `user` (services/account_notices.py decides whether)."""
    token = make_token(user, purpose=RESET, secret=secret, now=now)
    outbox.enqueue(session, template="password_reset", to=user.email,
                   customer_id=user.customer_id, now=now,
                   subject=_("Reset your %(portal)s password", portal=portal_name(session)),
                   context={"page": link(RESET, token),
                            "valid_hours": int(RESET.max_age.total_seconds() // 3600)})


def _customer(session: Session, *, email: str | None, customer_id: int | None) -> Customer:
    if customer_id is not None:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(_("There is no such customer."))
        return customer
    matches = session.exec(select(Customer).where(
        func.lower(Customer.email) == auth.normalize_email(email or ""))).all()
    if not matches:
        raise NotFound(_("No customer has the email %(email)s.", email=email))
    if len(matches) > 1:
        raise InvalidInput(_("Several customers have the email %(email)s; invite one by id.",
                             email=email), field="email")
    return matches[0]


def _login_for(session: Session, customer: Customer, *, now: datetime) -> tuple[User, bool]:
    """The customer's portal login, made (without a password) on the first invitation."""
    user = session.exec(select(User).where(User.customer_id == customer.id)
                        .order_by(User.id)).first()
    if user is not None:
        return user, False
    address = auth.normalize_email(customer.email)
    if session.exec(select(User).where(User.email == address)).first() is not None:
        raise InvalidInput(_("The email %(email)s already belongs to another login.",
                             email=address), field="email")
    user = User(email=address, role="customer", customer_id=customer.id, created_at=now)
    session.add(user)
    session.flush()
    return user, True


def portal_name(session: Session) -> str:
    """The portal's name as emails call it."""
    org = session.get(Organization, 1)
    return org.portal_name if org else "customer portal"
