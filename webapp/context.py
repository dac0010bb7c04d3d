"""Per-request facts every page needs: the organization, filters for money and dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import g
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context

from webapp.db import db
from webapp.services.accounts import request_facts
from webapp.services.accounts.request_facts import OrganizationView
from webapp.services.core.money import format_money


def current_org() -> OrganizationView | None:
    """The organization as read once per request (a read-only snapshot of its row)."""
    if "org" not in g:
        current_user.is_authenticated  # noqa: B018  loading the user brings the org along
    if "org" not in g:
        g.org = request_facts.organization(db.session)
    return g.org


def today() -> date:
    """The organization's calendar date now (billing dates are calendar dates there)."""
    from webapp import clock
    from webapp.services.core.dates import today_in

    org = current_org()
    return today_in(org.timezone if org else "UTC", clock.now())


def tax_bp() -> int | None:
    org = current_org()
    return org.tax_rate_bp if org else None


def _org(ctx: Context | None = None) -> OrganizationView | None:
    """The organization from the template's context when it has one: a list formats a
    hundred cells, and a dict lookup each is much cheaper than a trip through flask.g."""
    return (ctx.get("org") if ctx is not None else None) or current_org()


def _locale(ctx: Context | None = None) -> str:
    org = _org(ctx)
    return org.locale if org else "en_US"


@pass_context
def money_filter(ctx: Context, amount: int | None, currency: str) -> str:
    """{{ invoice.total|money(invoice.currency) }}"""
    if amount is None:
        return ""
    return format_money(amount, currency, _locale(ctx))


@pass_context
def localdate_filter(ctx: Context, value: datetime | date | None, fmt: str = "medium") -> str:
    """A UTC timestamp shown as a date in the organization's timezone; dates as they are."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        org = _org(ctx)
        tz = ZoneInfo(org.timezone if org else "UTC")
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = aware.astimezone(tz).date()
    return _format_date(value, fmt, _locale(ctx))


@lru_cache(maxsize=8192)
def _format_date(value: date, fmt: str, locale: str) -> str:
    """Babel's date formatting, remembered: a list shows the same dates on every view, and
    Babel re-reads the locale's pattern on every call."""
    return format_date(value, format=fmt, locale=locale)


@pass_context
def localdatetime_filter(ctx: Context, value: datetime | None, fmt: str = "medium") -> str:
    """A UTC timestamp with its time, in the organization's timezone."""
    if value is None:
        return ""
    org = _org(ctx)
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return format_datetime(aware, format=fmt, tzinfo=ZoneInfo(org.timezone if org else "UTC"),
                           locale=_locale(ctx))
