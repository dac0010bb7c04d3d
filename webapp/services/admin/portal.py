"""Portal access: invite a customer (the invitation from "Mail that is never lost"), resend it,
revoke it; see where they are signed in and sign them out.

Revoking deactivates the login, ends its session rows and bumps its session version, which
kills every link already mailed (invitations sign the version). Inviting again reactivates the
login; the new link sets a new password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from webapp.models import User
from webapp.services.accounts import invitations, two_factor
from webapp.services.accounts import sessions as account_sessions
from webapp.services.accounts.sessions import SessionView
from webapp.services.admin import Actor, LinkSettings, get_customer
from webapp.services.core import audit, outbox, preferences
from webapp.services.core.errors import DomainError, NotFound
from webapp.services.core.i18n import _

NONE, INVITED, ACTIVE, REVOKED = "none", "invited", "active", "revoked"
LABELS = {NONE: _("Not invited"), INVITED: _("Invited, no password yet"), ACTIVE: _("Active"),
          REVOKED: _("Access revoked")}


@dataclass(frozen=True)
class PortalAccess:
    customer_id: int
    state: str
    login_email: str | None
    last_login_at: datetime | None
    sessions: tuple[SessionView, ...]  # where the login is signed in now
    two_factor_on: bool = False  # set up, or being set up: a reset clears either

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def can_invite(self) -> bool:
        """Invite (first time, or again after a revoke)."""
        return self.state in (NONE, REVOKED)

    @property
    def can_resend(self) -> bool:
        return self.state == INVITED

    @property
    def can_revoke(self) -> bool:
        return self.state in (INVITED, ACTIVE)


def _login(session: Session, customer_id: int) -> User | None:
    return session.exec(select(User).where(User.customer_id == customer_id)
                        .order_by(User.id)).first()


def access(session: Session, *, customer_id: int, now: datetime) -> PortalAccess:
    """Where the customer's portal access stands, and where they are signed in."""
    customer = get_customer(session, customer_id)
    user = _login(session, customer.id)
    if user is None:
        state = NONE
    elif not user.is_active:
        state = REVOKED
    else:
        state = ACTIVE if user.password_hash else INVITED
    live = () if user is None else account_sessions.live_sessions(
        session, user_id=user.id, now=now,
        limits=account_sessions.Limits.of(preferences.load(session)))
    return PortalAccess(customer.id, state, user.email if user else None,
                        user.last_login_at if user else None, live,
                        bool(user and (user.totp_enabled_at or user.totp_secret)))


def invite(session: Session, *, actor: Actor, customer_id: int, links: LinkSettings,
           now: datetime) -> PortalAccess:
    """Email a set-password link (first invitation, a resend, or after a revoke); audited."""
    current = access(session, customer_id=customer_id, now=now)
    if current.state == ACTIVE:
        raise DomainError(_("This customer already uses the portal; they can reset their "
                            "password from the sign-in page."))
    user = _login(session, customer_id)
    if user is not None and not user.is_active:
        user.is_active = True
    invited = invitations.invite(session, now=now, secret=links.secret,
                                 customer_id=customer_id)
    action = "portal.resend" if current.state == INVITED else "portal.invite"
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label, action=action,
                 subject_type="customer", subject_id=customer_id,
                 before={"portal": current.state}, after={"portal": INVITED,
                                                          "email": invited.email},
                 now=now, customer_id=customer_id)
    return access(session, customer_id=customer_id, now=now)


def revoke(session: Session, *, actor: Actor, customer_id: int,
           now: datetime) -> PortalAccess:
    """Close the portal to the customer: the login is deactivated and its sessions end."""
    current = access(session, customer_id=customer_id, now=now)
    if not current.can_revoke:
        raise DomainError(_("This customer has no portal access to revoke."))
    user = _login(session, customer_id)
    user.is_active = False
    user.session_version += 1
    account_sessions.end_all(session, user_id=user.id, reason="revoked", now=now)
    get_customer(session, customer_id).portal_enabled = False
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="portal.revoke", subject_type="customer", subject_id=customer_id,
                 before={"portal": current.state}, after={"portal": REVOKED}, now=now,
                 customer_id=customer_id)
    return access(session, customer_id=customer_id, now=now)


def sign_out(session: Session, *, actor: Actor, customer_id: int, now: datetime,
             session_id: int | None = None) -> PortalAccess:
    """Sign the customer out of one session (`session_id`) or all of them; audited, and the
    customer is told by email. NotFound when the session is not this customer's."""
    customer = get_customer(session, customer_id)
    user = _login(session, customer_id)
    if user is None:
        raise NotFound(_("This customer has no portal login."))
    before = access(session, customer_id=customer_id, now=now)
    if session_id is None:
        ended = account_sessions.end_all(session, user_id=user.id, reason="admin", now=now)
    else:
        account_sessions.end_one(session, user_id=user.id, session_id=session_id,
                                 reason="admin", now=now)
        ended = 1
    after = access(session, customer_id=customer_id, now=now)
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="portal.sign_out", subject_type="customer", subject_id=customer_id,
                 before={"signed_in_devices": len(before.sessions)},
                 after={"signed_in_devices": len(after.sessions)}, now=now,
                 customer_id=customer_id)
    if ended:
        outbox.enqueue(session, template="sessions_ended", to=user.email,
                       customer_id=customer_id, now=now,
                       subject=_("You have been signed out of %(portal)s",
                                 portal=invitations.portal_name(session)),
                       context={"name": customer.display_name, "count": ended,
                                "page": outbox.page("auth.login")})
    return after


def reset_two_factor(session: Session, *, actor: Actor, customer_id: int,
                     now: datetime) -> PortalAccess:
    """Turn off the customer's two-factor sign-in (they lost their phone and their codes):
    audited, their remembered devices forgotten, they are emailed."""
    user = _login(session, get_customer(session, customer_id).id)
    if user is None or not two_factor.reset(session, user_id=user.id,
                                            actor_user_id=actor.user_id,
                                            actor_label=actor.label, now=now):
        raise DomainError(_("This customer does not use two-factor sign-in."))
    return access(session, customer_id=customer_id, now=now)


@dataclass(frozen=True)
class AdminLogin:
    user_id: int
    email: str
    two_factor_on: bool
    last_login_at: datetime | None
    is_you: bool


def admin_logins(session: Session, *, you: int) -> tuple[AdminLogin, ...]:
    """The organization's admins, for resetting another admin's two-factor sign-in."""
    rows = session.exec(select(User).where(User.role == "admin", User.is_active)
                        .order_by(User.email)).all()
    return tuple(AdminLogin(u.id, u.email, bool(u.totp_enabled_at or u.totp_secret),
                            u.last_login_at, u.id == you) for u in rows)


def reset_admin_two_factor(session: Session, *, actor: Actor, user_id: int,
                           now: datetime) -> None:
    """Another admin's reset (one's own goes through Account & security's turn-off)."""
    user = session.get(User, user_id)
    if user is None or user.role != "admin" or not user.is_active:
        raise NotFound(_("No such admin."))
    if user.id == actor.user_id:
        raise DomainError(_("Turn your own two-factor sign-in off on Account & security."))
    if not two_factor.reset(session, user_id=user.id, actor_user_id=actor.user_id,
                            actor_label=actor.label, now=now):
        raise DomainError(_("%(email)s does not use two-factor sign-in.", email=user.email))
