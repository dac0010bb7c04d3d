"""What every request reads first: the logged-in user, this sign-in's session row, the
organization and its preferences.

A logged-in request gets all four from one Core query; measured on SQLite (bench.cpu's
machine) that is about 45 µs, against about 340 µs for three ORM loads, which build and
track an entity for each row. The answers are read-only snapshots (frozen dataclasses with the
tables' column names), read afresh on every request, so an admin's change still shows on the
next request in every worker. Code that changes the organization or the preferences loads
them through the ORM, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session

from webapp.models import Customer, Organization, Preferences, User, UserSession
from webapp.services.accounts import sessions as account_sessions
from webapp.services.billing import tax
from webapp.services.core import locales, rows
from webapp.services.core import organization as organization_row
from webapp.services.core.preferences.permissions import ORGANIZATION_ID

_USER, _ORG, _PREFS = User.__table__, Organization.__table__, Preferences.__table__
_SESSION, _CUSTOMER = UserSession.__table__, Customer.__table__

UserView = rows.row_type(_USER)
SessionRow = rows.row_type(_SESSION)
OrganizationView = rows.row_type(_ORG)
PreferencesView = rows.row_type(_PREFS)

# The customer's locale rides along last (an admin has no customer: NULL), so the customer's
# pages know how to write dates and amounts without a second statement.
_CUSTOMER_TAX = (_CUSTOMER.c.id, _CUSTOMER.c.country, _CUSTOMER.c.region,
                 _CUSTOMER.c.tax_exempt, _CUSTOMER.c.tax_exempt_reason, _CUSTOMER.c.tax_id)
_LOGIN = (select(*rows.columns(_USER, _SESSION, _ORG, _PREFS),
                 *(c.label(f"tax_customer_{c.name}") for c in _CUSTOMER_TAX), _CUSTOMER.c.locale)
          .select_from(_USER.join(_SESSION, (_SESSION.c.user_id == _USER.c.id)
                                  & (_SESSION.c.token_hash == bindparam("token_hash")))
                       .outerjoin(_ORG, _ORG.c.id == ORGANIZATION_ID)
                       .outerjoin(_PREFS, _PREFS.c.organization_id == ORGANIZATION_ID)
                       .outerjoin(_CUSTOMER, _CUSTOMER.c.id == _USER.c.customer_id))
          .where(_USER.c.id == bindparam("user_id")))
_ORGANIZATION = select(*rows.columns(_ORG)).where(_ORG.c.id == ORGANIZATION_ID)
_PREFERENCES = select(*rows.columns(_PREFS)).where(_PREFS.c.organization_id == ORGANIZATION_ID)


@dataclass(frozen=True)
class LoginFacts:
    user: UserView
    login_session: SessionRow
    organization: OrganizationView | None
    preferences: PreferencesView | Preferences
    token: str
    customer_locale: str | None = None  # the customer's own choice; None: the organization's

    @property
    def locale(self) -> str:
        """The locale this user's pages write dates and amounts in: a customer's own, an
        admin's own (the one their words are in too), else the organization's."""
        own = self.user.locale if self.user.role == "admin" else self.customer_locale
        return locales.for_customer(own, self.organization.locale if self.organization else None)

    def session_expired(self, now: datetime) -> bool:
        """Past the lifetime or idle too long: the row ends on this request."""
        return not account_sessions.is_live(
            self.login_session, limits=account_sessions.Limits.of(self.preferences), now=now)


def login_id(user_id: int, session_version: int, token: str) -> str:
    """What Flask-Login keeps in the signed cookie for this sign-in."""
    return f"{user_id}:{session_version}:{token}"


def for_login(session: Session, login_id: str) -> LoginFacts | None:
    """The user and the session named by a login id "<user id>:<session version>:<token>",
    with the organization and its preferences; None when no active user has that id and
    session version, or the token names none of their sessions, or that session has ended.
    An expired session is returned (see `session_expired`), so the caller can end it."""
    user_id, version, token = (login_id.split(":", 2) + ["", ""])[:3]
    if not user_id.isdigit() or not version.isdigit() or not token:
        return None
    row = session.connection().execute(_LOGIN, {
        "user_id": int(user_id), "token_hash": account_sessions.token_hash(token)}).first()
    if row is None:
        return None
    user, login_session, organization, preferences = rows.split(row, _USER, _SESSION, _ORG,
                                                                _PREFS)
    if not user.is_active or user.session_version != int(version) or login_session.ended_at:
        return None
    organization_row.remember(session, organization)  # services read it without a statement
    if row.tax_customer_id is not None:  # the customer's tax facts too (billing.tax.tax_for)
        tax.remember_customer(session, tax.CustomerFacts(*(
            getattr(row, f"tax_customer_{c.name}") for c in _CUSTOMER_TAX)))
    return LoginFacts(user, login_session, organization, preferences or _defaults(), token,
                      customer_locale=row[-1])


def organization(session: Session) -> OrganizationView | None:
    """The organization, or None before the installation has one."""
    row = session.connection().execute(_ORGANIZATION).first()
    snapshot = rows.split(row, _ORG)[0] if row else None
    organization_row.remember(session, snapshot)
    return snapshot


def preferences(session: Session) -> PreferencesView | Preferences:
    """The organization's preferences; a new organization's defaults while none are saved."""
    row = session.connection().execute(_PREFERENCES).first()
    return rows.split(row, _PREFS)[0] if row else _defaults()


def _defaults() -> Preferences:
    return Preferences(organization_id=ORGANIZATION_ID)
