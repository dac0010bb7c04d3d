"""Per-request facts every page needs, and filters for money and dates.

`load_request_facts` runs first in every request (before_request), explicitly: the signed-in
user, whose one login statement also reads the organization and its preferences, and the
request's `Moment` (now, and the organization's date today). A request nobody is signed in
to reads the organization and preferences (and so its moment) on first use instead: a login
POST must not hold SQLite's write lock from its first statement on, and most such pages never
need them. Views read them from here (`current_org()`, `moment()`); a service that needs the
organization's date is given the moment (`at=moment()`), one that needs only the instant its
`now`. Tax is not a request fact: services ask billing.tax for a customer's rate.

The request's locale (`current_locale()`) is the signed-in customer's (read by the same login
statement), else the organization's; an admin page about one customer's document switches it
to that customer's (`use_customer_locale`). Templates get it once as `locale`, and the filters read it
from their context.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.support import LazyProxy
from flask import Flask, g, request
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context

from webapp import clock
from webapp.db import db
from webapp.services.accounts import request_facts
from webapp.services.accounts.request_facts import OrganizationView
from webapp.services.core import dates, locales
from webapp.services.core.dates import Dated, Moment, format_day
from webapp.services.core.money import format_money, format_rate


def load_request_facts() -> None:
    """Before the request's own work: who is signed in, with the organization, its
    preferences and the moment (static files need none of them)."""
    if request.endpoint == "static":
        return
    user = current_user._get_current_object()  # Flask-Login's loader: the login statement
    facts = getattr(user, "facts", None)
    if facts is not None:
        g.org, g.preferences, g.locale = facts.organization, facts.preferences, facts.locale
        g.moment = _moment_of(facts.organization)
    if request.method not in ("GET", "HEAD", "OPTIONS") and db.session.in_transaction():
        # A write request's transaction takes SQLite's write lock at BEGIN: end this reading
        # one, so the lock waits for the request's own work (a rate limit's count, in a
        # connection of its own, comes first). Also when the login read found no live
        # session (a browser signed out elsewhere posting the login form).
        db.session.commit()


def _moment_of(org: OrganizationView | None) -> Moment:
    return Moment.at(clock.now(), org.timezone if org else None)


def current_org() -> OrganizationView | None:
    """The organization as read once per request (a read-only snapshot of its row)."""
    if "org" not in g:  # nobody signed in (or outside a request): read on first use
        g.org = request_facts.organization(db.session)
    return g.org


def current_locale() -> str:
    """The locale this request writes dates and amounts in: the signed-in customer's own,
    else the organization's (or the customer's an admin page chose with `use_customer_locale`)."""
    if "locale" not in g:
        org = current_org()
        g.locale = locales.for_customer(None, org.locale if org else None)
    return g.locale


def use_customer_locale(customer_locale: str | None) -> None:
    """Write this request's dates and amounts as the customer reads them (their own locale,
    else the organization's): an admin's page about one customer's document."""
    org = current_org()
    g.locale = locales.for_customer(customer_locale, org.locale if org else None)


def moment() -> Moment:
    """The request's now and today (the organization's calendar date), read once."""
    if "moment" not in g:  # nobody signed in (or outside a request): made on first use
        g.moment = _moment_of(current_org())
    return g.moment


def today() -> date:
    """The organization's calendar date now (billing dates are calendar dates there)."""
    return moment().today


def now() -> datetime:
    """The request's instant (UTC), the same all through the request."""
    return moment().now


def register(app: Flask) -> None:
    app.before_request(load_request_facts)


def _org(ctx: Context | None = None) -> OrganizationView | None:
    """The organization from the template's context when it has one: a list formats a
    hundred cells, and a dict lookup each is much cheaper than a trip through flask.g."""
    return (ctx.get("org") if ctx is not None else None) or current_org()


def _locale(ctx: Context | None = None) -> str:
    """The render's `locale` (set once per render by the context processor), else the
    request's."""
    return (ctx.get("locale") if ctx is not None else None) or current_locale()


@pass_context
def money_filter(ctx: Context, amount: int | None, currency: str) -> str:
    """{{ invoice.total|money(invoice.currency) }}"""
    if amount is None:
        return ""
    return format_money(amount, currency, _locale(ctx))


@pass_context
def localdate_filter(ctx: Context, value: datetime | date | None, fmt: str = "medium") -> str:
    """A UTC timestamp shown as a date in the organization's timezone; dates as they are
    (`format_day`, the one format of pages, PDFs, mail and messages)."""
    if isinstance(value, datetime):
        org = _org(ctx)
        return format_day(value, _locale(ctx), timezone=org.timezone if org else None, fmt=fmt)
    return format_day(value, _locale(ctx), fmt=fmt)


@pass_context
def count_filter(ctx: Context, value: int) -> str:
    """{{ page.at_least|number }}: a count as the reader writes numbers ("10,025", "10.025")."""
    return format_decimal(value, locale=_locale(ctx))


@pass_context
def rate_filter(ctx: Context, basis_points: int | None) -> str:
    """{{ invoice.tax_rate_bp|rate }}: a tax rate in basis points as "20%"."""
    return format_rate(basis_points, _locale(ctx))


def say(message: Dated | LazyProxy | str | None) -> str | None:
    """A service's message as the page shows it, in the request's language: a lazy text
    (`i18n._`) translated, a Dated one with its dates in the request's locale (a plain string
    as it is; neither reads the organization)."""
    if not isinstance(message, Dated):
        return None if message is None else str(message)
    return dates.say(message, current_locale())


@pass_context
def localdatetime_filter(ctx: Context, value: datetime | None, fmt: str = "medium") -> str:
    """A UTC timestamp with its time, in the organization's timezone."""
    if value is None:
        return ""
    org = _org(ctx)
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return format_datetime(aware, format=fmt, tzinfo=ZoneInfo(org.timezone if org else "UTC"),
                           locale=_locale(ctx))
