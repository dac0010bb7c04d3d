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

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import Executable, Select, bindparam, select
from sqlmodel import Session

from webapp.models import Customer, Organization, Preferences, User, UserSession
from webapp.services.accounts import sessions as account_sessions
from webapp.services.billing import tax
from webapp.services.core import locales, rows
from webapp.services.core import organization as organization_row
from webapp.services.core.listing import fixed
from webapp.services.core.preferences.permissions import ORGANIZATION_ID
from webapp.services.core.stacked import Stack

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
_LOCALE_AT = len(_LOGIN.selected_columns) - 1
_LOGIN_READ = fixed("accounts.request_facts.login", _LOGIN)
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
    # What a `Rider` read along with the login: its stack's parts by name.
    ridden: dict[str, list[tuple]] | None = field(default=None, compare=False)

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


# A rider's statements name the signed-in customer with this column, in place of a
# `customer_id` parameter: read along with the login, they are correlated to its user row,
# so they find only what belongs to whoever the login statement found.
SIGNED_IN_CUSTOMER = _USER.c.customer_id


def riding(statement: Select) -> Select:
    """`statement`, written with `SIGNED_IN_CUSTOMER`, read inside the login's statement."""
    return statement.correlate(_USER)


@dataclass(frozen=True)
class Rider:
    """A view's own small read, sent in the login's statement: one round trip where there
    would be two. The polled forward status is one login and one read, every second while mail
    is queued; a second statement costs more than the rest of that fragment (issue 32,
    bench/README.md). `stack`'s parts are `riding` statements; `params` their values, named
    apart from the login's own (`user_id`, `token_hash`)."""

    stack: Stack
    params: Mapping[str, object]


@cache
def _login_with(stack: Stack, dialect: str) -> Executable:
    return fixed(("accounts.request_facts.login", stack, dialect),
                 _LOGIN.add_columns(*stack.columns(dialect)))


def login_id(user_id: int, session_version: int, token: str) -> str:
    """What Flask-Login keeps in the signed cookie for this sign-in."""
    return f"{user_id}:{session_version}:{token}"


def for_login(session: Session, login_id: str, rider: Rider | None = None) -> LoginFacts | None:
    """The user and the session named by a login id "<user id>:<session version>:<token>",
    with the organization and its preferences; None when no active user has that id and
    session version, or the token names none of their sessions, or that session has ended.
    An expired session is returned (see `session_expired`), so the caller can end it. A
    `rider`'s parts come back as `ridden`."""
    user_id, version, token = (login_id.split(":", 2) + ["", ""])[:3]
    if not user_id.isdigit() or not version.isdigit() or not token:
        return None
    params = {"user_id": int(user_id), "token_hash": account_sessions.token_hash(token)}
    statement = _LOGIN_READ
    if rider is not None:
        statement = _login_with(rider.stack, session.get_bind().dialect.name)
        params |= rider.params
    row = session.connection().execute(statement, params).first()
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
    ridden = rider.stack.unpack(row[_LOCALE_AT + 1:]) if rider is not None else None
    return LoginFacts(user, login_session, organization, preferences or _defaults(), token,
                      customer_locale=row[_LOCALE_AT], ridden=ridden)


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
