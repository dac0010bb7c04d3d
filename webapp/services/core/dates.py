"""Calendar arithmetic for billing periods, in the organization's timezone."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date

from webapp.services.core.money import Amount, format_money

DEFAULT_LOCALE = "en_US"


def today_in(timezone: str, now: datetime) -> date:
    """The organization's calendar date at the UTC instant `now`."""
    return now.astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class Moment:
    """One instant and the organization's calendar date at it: what a request (or a job) means
    by "now" and "today", read once, so that the two always agree."""

    now: datetime  # UTC
    today: date  # the calendar date in `timezone` at `now`
    timezone: str

    @classmethod
    def at(cls, now: datetime, timezone: str | None) -> Moment:
        zone = timezone or "UTC"
        return cls(now, today_in(zone, now), zone)


def format_day(value: date | datetime | str | None, locale: str | None = None, *,
               timezone: str | None = None, fmt: str = "medium") -> str:
    """The one way a date is shown, in pages, PDFs, mail and messages: Babel's `fmt` format
    in `locale` ("Dec 28, 2026" in en_US). A UTC timestamp is shown as its date in `timezone`;
    an ISO string (a mail's JSON context) is read as the date it names; None is ""."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    elif isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = aware.astimezone(ZoneInfo(timezone or "UTC")).date()
    return _format_day(value, fmt, locale or DEFAULT_LOCALE)


# A list or a statement repeats the same days row after row, and Babel re-reads the locale's
# pattern on every call: remembered.
@lru_cache(maxsize=8192)
def _format_day(value: date, fmt: str, locale: str) -> str:
    return format_date(value, format=fmt, locale=locale)


@dataclass(frozen=True)
class Dated:
    """A message naming dates (and amounts), formatted where it is shown: `text` with
    `{name}` fields for the `dates` (a date, or a money `Amount`). Services return it; the web
    layer (a flash) fills it in the request's locale, and a mail keeps it as JSON (`as_json`)
    that the sender fills in the locale of its reader (mail's `say` filter)."""

    text: str
    dates: tuple[tuple[str, date | Amount], ...] = ()

    def format(self, locale: str | None = None) -> str:
        return self.text.format_map({name: _shown(value, locale) for name, value in self.dates})

    def __add__(self, more: str | Dated) -> Dated:
        if isinstance(more, Dated):
            return Dated(self.text + more.text, self.dates + more.dates)
        return Dated(self.text + escaped(more), self.dates)

    def as_json(self) -> dict:
        """For a mail's JSON context: the text and its values (ISO dates, [minor, currency])."""
        return {"text": self.text, "values": {
            name: [value.minor, value.currency] if isinstance(value, Amount)
            else value.isoformat() for name, value in self.dates}}

    @classmethod
    def from_json(cls, data: dict) -> Dated:
        return cls(data["text"], tuple(
            (name, Amount(*value) if isinstance(value, list) else date.fromisoformat(value))
            for name, value in data["values"].items()))


def _shown(value: date | Amount, locale: str | None) -> str:
    if isinstance(value, Amount):
        return format_money(value.minor, value.currency, locale or DEFAULT_LOCALE)
    return format_day(value, locale)


def dated(text: str, **values: date | Amount) -> Dated:
    """Dated("{number} pauses on {on}.") with the names of its dates (or amounts):
    dated(text, on=day), dated("{total} is due.", total=Amount(1000, "USD"))."""
    return Dated(text, tuple(values.items()))


def escaped(text: str) -> str:
    """Text put into a Dated message as it is (a name with braces stays a name)."""
    return text.replace("{", "{{").replace("}", "}}")


def plain(text: str) -> Dated:
    """A message without dates, as a Dated (its braces kept as they are)."""
    return Dated(escaped(text))


def say(message: Dated | str | None, locale: str | None = None) -> str | None:
    """A message as text: a Dated one formatted in `locale`, a str as it is."""
    return message.format(locale) if isinstance(message, Dated) else message


def as_json(message: Dated | str) -> dict | str:
    """A message for a mail's JSON context, formatted when the mail is rendered."""
    return message.as_json() if isinstance(message, Dated) else message


def add_months(start: date, months: int, anchor_day: int | None = None) -> date:
    """`start` moved by whole months, keeping the anchor day (31 stays 31 where it exists)."""
    day = anchor_day or start.day
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


# The units a plan bills by, and the most of each one term may span.
INTERVAL_UNITS = ("day", "week", "month", "year")
MAX_INTERVAL_COUNT = {"day": 365, "week": 104, "month": 36, "year": 10}


def add_interval(start: date, unit: str, count: int = 1, anchor_day: int | None = None) -> date:
    """`count` billing intervals after `start`: days and weeks are whole days (a weekly term
    keeps its weekday; `anchor_day` is for months and years only), months and years keep the
    anchor day."""
    if unit == "day":
        return start + timedelta(days=count)
    if unit == "week":
        return start + timedelta(weeks=count)
    if unit == "month":
        return add_months(start, count, anchor_day)
    if unit == "year":
        return add_months(start, 12 * count, anchor_day)
    raise ValueError(f"unknown interval unit {unit!r}")


def interval_label(unit: str, count: int = 1) -> str:
    """How a plan's interval reads: "every week", "every 2 weeks", "every 3 months"."""
    return f"every {unit}" if count == 1 else f"every {count} {unit}s"


def per_interval_label(unit: str, count: int = 1) -> str:
    """The interval after an amount: "/ week", "/ 2 weeks"."""
    return unit if count == 1 else f"{count} {unit}s"


def days_between(start: date, end: date) -> int:
    return (end - start).days
