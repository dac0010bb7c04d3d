"""Two-factor sign-in: an authenticator code (TOTP, RFC 6238, with pyotp) after the password,
for customers and admins alike.

- Set-up stores a new secret on the user (`totp_secret`) and shows it as a QR code (segno,
  inline SVG: no request leaves the page) and as text; a code from the app switches it on
  (`totp_enabled_at`) and makes ten single-use recovery codes, shown once and stored hashed.
- A code is six digits, accepted one time step either side of now (30 s of clock skew), and
  once only: the step it matched is kept (`totp_last_step`) and later codes must be newer.
- A recovery code signs in once instead of a code.
- "Remember this device" keeps a random token's hash for 30 days (`TrustedDevice`): it
  outlives logout and idle expiry, and ends with "Sign out everywhere else", a password
  change or a two-factor reset (`revoke_devices`).
- The organization's policy (preferences): off, optional, required for admins, required for
  everyone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

import pyotp
import segno
from sqlalchemy import delete, update
from sqlmodel import Session, col, select
from werkzeug.security import check_password_hash

from webapp.models import RecoveryCode, TrustedDevice, User
from webapp.services.accounts import sessions
from webapp.services.core import audit, outbox, preferences
from webapp.services.core.errors import InvalidInput, NotFound
from webapp.services.core.i18n import _

TOTP, RECOVERY = sessions.TOTP, sessions.RECOVERY  # the session row's sign-in method
STEP_SECONDS = 30
SKEW_STEPS = 1
RECOVERY_CODE_COUNT = 10
REMEMBER_FOR = timedelta(days=30)

OFF, OPTIONAL, ADMINS, EVERYONE = "off", "optional", "admins", "everyone"
POLICIES = preferences.TWO_FACTOR_POLICIES

WRONG_CODE = _("That code is not correct. Enter the 6 digits your app shows now, or a "
               "recovery code.")
WRONG_PASSWORD = _("Your password is not correct.")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def is_on(user) -> bool:
    return user.totp_enabled_at is not None


def allowed(policy: str) -> bool:
    return policy != OFF


def required(policy: str, *, role: str) -> bool:
    """Must this person use a second factor under the policy?"""
    return policy == EVERYONE or (policy == ADMINS and role == "admin")


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound(_("No such user."))
    return user


# -- Codes -------------------------------------------------------------------------------------

def _step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, *, now: datetime, after: int | None) -> int | None:
    """The time step `code` belongs to, within the skew window and newer than `after` (a code
    already used is refused), or None."""
    code = "".join((code or "").split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = _step(now)
    for step in range(current - SKEW_STEPS, current + SKEW_STEPS + 1):
        if (after is None or step > after) and hmac.compare_digest(
                totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _normalize_recovery(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _new_recovery_codes(session: Session, user_id: int, now: datetime) -> tuple[str, ...]:
    """Replace the user's recovery codes with ten new ones; the codes, shown once."""
    session.exec(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _number in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(5)  # 40 bits each, single use
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user_id, code_hash=_hash(_normalize_recovery(raw)),
                                 created_at=now))
    return tuple(codes)


def _use_recovery_code(session: Session, user_id: int, code: str, now: datetime) -> bool:
    """Spend one unused recovery code; False when `code` is none of them (or used)."""
    normalized = _normalize_recovery(code)
    if len(normalized) != 10:
        return False
    session.flush()
    spent = session.connection().execute(
        update(RecoveryCode.__table__)
        .where(RecoveryCode.__table__.c.user_id == user_id,
               RecoveryCode.__table__.c.code_hash == _hash(normalized),
               RecoveryCode.__table__.c.used_at.is_(None))
        .values(used_at=now))
    return spent.rowcount == 1


def recovery_codes_left(session: Session, user_id: int) -> int:
    return len(session.exec(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))).all())


def unused_codes_among(session: Session, user_id: int, codes: list[str]) -> tuple[str, ...]:
    """Those of `codes` that are the user's unused recovery codes (the download of the codes
    just shown echoes only these)."""
    hashes = set(session.exec(select(RecoveryCode.code_hash).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))).all())
    return tuple(c for c in codes if _hash(_normalize_recovery(c)) in hashes)


def _check_code(session: Session, user: User, code: str, now: datetime, *,
                recovery: bool) -> str:
    """Accept a current authenticator code (or, with `recovery`, a recovery code); which."""
    step = matching_step(user.totp_secret or "", code, now=now, after=user.totp_last_step)
    if step is not None:
        user.totp_last_step = step
        return TOTP
    if recovery and _use_recovery_code(session, user.id, code, now):
        return RECOVERY
    raise InvalidInput(WRONG_CODE, field="code")


def _check_password(user: User, password: str) -> None:
    if not user.password_hash or not check_password_hash(user.password_hash, password or ""):
        raise InvalidInput(WRONG_PASSWORD, field="password")


# -- Set-up, regenerate, turn off ----------------------------------------------------------------

@dataclass(frozen=True)
class Setup:
    secret: str  # shown as text too, grouped in fours for typing
    uri: str
    qr_svg: str  # inline <svg>, no style attributes (the CSP allows no inline style)

    @property
    def grouped_secret(self) -> str:
        return " ".join(self.secret[i:i + 4] for i in range(0, len(self.secret), 4))


def begin_setup(session: Session, *, user_id: int, issuer: str, policy: str) -> Setup:
    """The secret to scan: a new one, or the one a set-up already under way shows again."""
    if not allowed(policy):
        raise InvalidInput(_("Two-factor sign-in is switched off for this portal."), field="code")
    user = _user(session, user_id)
    if is_on(user):
        raise InvalidInput(_("Two-factor sign-in is already on."), field="code")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()  # 160 bits
    uri = pyotp.TOTP(user.totp_secret, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=issuer)
    title = str(_("QR code for %(email)s", email=quote(user.email)))
    svg = segno.make(uri, error="m").svg_inline(scale=4, border=4, svgclass="qr", title=title,
                                                lineclass=None)
    return Setup(user.totp_secret, uri, svg)


def _mail(session: Session, user: User, *, template: str, subject: object, now: datetime,
          **context) -> None:
    outbox.enqueue(session, template=template, to=user.email, subject=subject,
                   customer_id=user.customer_id, now=now,
                   context={"page": outbox.page("account.show"), **context})


def _audit(session: Session, user: User, *, action: str, actor_user_id: int | None,
           actor_label: str, now: datetime, before: dict, after: dict) -> None:
    audit.record(session, actor_user_id=actor_user_id, actor_label=actor_label, action=action,
                 subject_type="user", subject_id=user.id, before=before, after=after,
                 now=now, customer_id=user.customer_id)


def confirm_setup(session: Session, *, user_id: int, code: str, now: datetime) -> tuple[str, ...]:
    """Switch two-factor sign-in on with a code from the app; the ten recovery codes."""
    user = _user(session, user_id)
    if is_on(user):
        raise InvalidInput(_("Two-factor sign-in is already on."), field="code")
    if not user.totp_secret:
        raise InvalidInput(_("Start the set-up again: scan the code first."), field="code")
    _check_code(session, user, code, now, recovery=False)
    user.totp_enabled_at = now
    codes = _new_recovery_codes(session, user.id, now)
    _audit(session, user, action="two_factor.on", actor_user_id=user.id, actor_label=user.email,
           now=now, before={"two_factor": "off"}, after={"two_factor": "on"})
    _mail(session, user, template="two_factor_changed", now=now, on=True,
          subject=_("Two-factor sign-in is on"))
    return codes


def regenerate_codes(session: Session, *, user_id: int, password: str, code: str,
                     now: datetime) -> tuple[str, ...]:
    """New recovery codes (the old ones stop working), with the password and a current code."""
    user = _user(session, user_id)
    if not is_on(user):
        raise InvalidInput(_("Two-factor sign-in is off."), field="code")
    _check_password(user, password)
    _check_code(session, user, code, now, recovery=False)
    codes = _new_recovery_codes(session, user.id, now)
    _audit(session, user, action="two_factor.recovery_codes", actor_user_id=user.id,
           actor_label=user.email, now=now, before={}, after={"recovery_codes": "regenerated"})
    _mail(session, user, template="recovery_codes_regenerated", now=now,
          subject=_("New two-factor recovery codes"))
    return codes


def _switch_off(session: Session, user: User, now: datetime) -> None:
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    session.exec(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    revoke_devices(session, user_id=user.id, now=now)


def turn_off(session: Session, *, user_id: int, password: str, code: str,
             policy: str, now: datetime) -> None:
    """Switch two-factor sign-in off, with the password and a code (or a recovery code)."""
    user = _user(session, user_id)
    if not is_on(user):
        raise InvalidInput(_("Two-factor sign-in is already off."), field="code")
    if required(policy, role=user.role):
        raise InvalidInput(_("This portal requires two-factor sign-in for your account."),
                           field="code")
    _check_password(user, password)
    _check_code(session, user, code, now, recovery=True)
    _switch_off(session, user, now)
    _audit(session, user, action="two_factor.off", actor_user_id=user.id, actor_label=user.email,
           now=now, before={"two_factor": "on"}, after={"two_factor": "off"})
    _mail(session, user, template="two_factor_changed", now=now, on=False,
          subject=_("Two-factor sign-in is off"))


def reset(session: Session, *, user_id: int, actor_user_id: int | None, actor_label: str,
          now: datetime) -> bool:
    """An admin's (or the CLI's) reset for someone who lost their phone and codes: two-factor
    off, remembered devices forgotten, the person emailed. False when it was not on."""
    user = _user(session, user_id)
    was_on = is_on(user) or bool(user.totp_secret)
    if not was_on:
        return False
    _switch_off(session, user, now)
    _audit(session, user, action="two_factor.reset", actor_user_id=actor_user_id,
           actor_label=actor_label, now=now, before={"two_factor": "on"},
           after={"two_factor": "off"})
    _mail(session, user, template="two_factor_changed", now=now, on=False, reset=True,
          subject=_("Two-factor sign-in was reset"))
    return True


def reset_by_email(session: Session, *, email: str, actor_label: str, now: datetime) -> bool:
    """`reset` for the user with this email (NotFound for none)."""
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise NotFound(_("No user has the email %(email)s.", email=email))
    return reset(session, user_id=user.id, actor_user_id=None, actor_label=actor_label, now=now)


# -- Signing in ----------------------------------------------------------------------------------

def sign_in_code(session: Session, *, user_id: int, code: str, now: datetime) -> str:
    """The code step of a sign-in: TOTP or RECOVERY (the session row's method); a wrong code
    is audited and raises InvalidInput."""
    user = _user(session, user_id)
    try:
        return _check_code(session, user, code, now, recovery=True)
    except InvalidInput:
        _audit(session, user, action="two_factor.wrong_code", actor_user_id=user.id,
               actor_label=user.email, now=now, before={}, after={"result": "refused"})
        raise


def remember(session: Session, *, user_id: int, user_agent: str | None, now: datetime) -> str:
    """Trust this browser for REMEMBER_FOR; the token its cookie carries (never stored)."""
    token = secrets.token_urlsafe(32)
    session.add(TrustedDevice(user_id=user_id, token_hash=_hash(token),
                              device=sessions.describe_device(user_agent), created_at=now,
                              expires_at=now + REMEMBER_FOR))
    return token


def is_trusted(session: Session, *, user_id: int, token: str | Sequence[str] | None,
               now: datetime) -> bool:
    """Is this browser remembered for the user? `token`: the one its cookie carries, or the
    few it carries for several accounts (one statement either way)."""
    tokens = [token] if isinstance(token, str) else list(token or ())
    if not tokens:
        return False
    return session.exec(select(TrustedDevice.id).where(
        TrustedDevice.user_id == user_id,
        col(TrustedDevice.token_hash).in_([_hash(t) for t in tokens]),
        TrustedDevice.revoked_at.is_(None), TrustedDevice.expires_at > now)).first() is not None


def revoke_devices(session: Session, *, user_id: int, now: datetime) -> int:
    """Forget every remembered browser of the user; how many."""
    table = TrustedDevice.__table__
    session.flush()  # a device remembered in this transaction too
    result = session.connection().execute(update(table).where(
        table.c.user_id == user_id, table.c.revoked_at.is_(None)).values(revoked_at=now))
    return result.rowcount


def new_device_notice(session: Session, *, user: User, device: str, ip: str,
                      now: datetime) -> None:
    """Email the owner about a sign-in from a browser new to the account."""
    _mail(session, user, template="new_device_sign_in", now=now, device=device, ip=ip,
          subject=_("New sign-in to your account"))
