"""Calendar arithmetic for billing periods, in the organization's timezone."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date

from webapp.services.core import i18n
from webapp.services.core.i18n import ngettext
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


# What a Dated message fills in: a day, an amount, a text (a number, a name) as it is, or
# another Dated message (a change's summary), written in the same language and locale.
Value = "date | Amount | str | int | Dated"


@dataclass(frozen=True)
class Dated:
    """A message naming dates (and amounts), written where it is shown, in the reader's
    language and locale. `text` is a msgid with `%(name)s` fields for its `values` (a date, a
    money `Amount`, a text such as a subscription's number, shown as it is, or another Dated
    message). `format`
    translates the text first (in the active language: the request's, or a worker's
    `i18n.use_locale`), then fills in the dates and amounts formatted for `locale`.

    Services return it; the web layer (a flash) writes it in the request's locale, and a mail
    keeps it as JSON (`as_json`) that the sender writes in its reader's locale (mail's `say`
    filter). Sentences added with `+` follow it, each translated on its own; a str added is
    shown as it is (`plain`). `str()` writes it in the active language, its dates in the
    portal's default locale (`say` writes them in the reader's)."""

    text: str
    values: tuple[tuple[str, Value], ...] = ()
    more: tuple[Dated, ...] = ()
    translated: bool = True  # False: `text` is shown as it is (no msgid, no fields)

    def format(self, locale: str | None = None) -> str:
        return "".join(part._written(locale) for part in self._parts())

    def __str__(self) -> str:
        return self.format()

    def _parts(self) -> tuple[Dated, ...]:
        return (replace(self, more=()), *self.more)

    def _written(self, locale: str | None) -> str:
        text = self.text
        if self.translated and text:
            text = i18n.current_translations().ugettext(text)
        if not self.values:
            return text
        return text % {name: _shown(value, locale) for name, value in self.values}

    def __add__(self, more: str | Dated) -> Dated:
        if isinstance(more, Dated):
            return replace(self, more=self.more + more._parts())
        return replace(self, more=(*self.more, plain(more))) if more else self

    def as_json(self) -> dict:
        """For a mail's JSON context: the msgid and its values (ISO dates, [minor, currency],
        {"text": ...}), and the sentences that follow."""
        data: dict = {"msgid": self.text, "values": {
            name: _value_json(value) for name, value in self.values}} if self.translated \
            else {"verbatim": self.text}
        if self.more:
            data["more"] = [part.as_json() for part in self.more]
        return data

    @classmethod
    def from_json(cls, data: dict) -> Dated:
        more = tuple(cls.from_json(part) for part in data.get("more", ()))
        if "verbatim" in data:
            return cls(data["verbatim"], more=more, translated=False)
        if "msgid" in data:
            return cls(data["msgid"], tuple(
                (name, _value_from_json(value)) for name, value in data["values"].items()),
                more)
        # A row written before the messages were translated: English with "{name}" fields.
        values = tuple(
            (name, Amount(*value) if isinstance(value, list) else date.fromisoformat(value))
            for name, value in data["values"].items())
        text = _LEGACY_FIELD.sub(lambda m: _legacy_field(m, bool(values)), data["text"])
        return cls(text, values, more, translated=False)


_LEGACY_FIELD = re.compile(r"\{\{|\}\}|\{(\w+)\}|%")


def _legacy_field(match: re.Match, filled: bool) -> str:
    """A legacy "{name}" field as "%(name)s" (its "%" doubled when the text is filled in)."""
    if match.group(1):
        return f"%({match.group(1)})s"
    return {"{{": "{", "}}": "}", "%": "%%" if filled else "%"}[match.group(0)]


def _value_json(value: Value) -> str | int | list | dict:
    if isinstance(value, Dated):
        return {"dated": value.as_json()}
    if isinstance(value, Amount):
        return [value.minor, value.currency]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return value
    return {"text": str(value)}


def _value_from_json(value: str | int | list | dict) -> Value:
    if isinstance(value, list):
        return Amount(*value)
    if isinstance(value, dict):
        return Dated.from_json(value["dated"]) if "dated" in value else value["text"]
    if isinstance(value, int):
        return value
    return date.fromisoformat(value)


def _shown(value: Value, locale: str | None) -> str | int:
    if isinstance(value, Dated):
        return value.format(locale)
    if isinstance(value, Amount):
        return format_money(value.minor, value.currency, locale or DEFAULT_LOCALE)
    if isinstance(value, date):
        return format_day(value, locale)
    return value


def dated(text: str, **values: Value) -> Dated:
    """A message naming dates (or amounts, or texts shown as they are), its `text` a msgid
    the extraction finds: dated(N_("%(number)s pauses on %(on)s."), number=sub.number,
    on=day), dated(N_("%(total)s is due."), total=Amount(1000, "USD"))."""
    return Dated(text, tuple(values.items()))


def plain(text: str) -> Dated:
    """A text shown as it is, as a Dated (not translated: a name, or text already written)."""
    return Dated(text, translated=False)


def say(message: Dated | str | None, locale: str | None = None) -> str | None:
    """A message as text: a Dated one formatted in `locale`, a lazy one (`i18n._`) translated
    now, a str as it is."""
    if message is None:
        return None
    return message.format(locale) if isinstance(message, Dated) else str(message)


def as_json(message: Dated | str) -> dict | str:
    """A message for a mail's JSON context, formatted when the mail is rendered (a lazy text
    is written now, in the active language)."""
    return message.as_json() if isinstance(message, Dated) else str(message)


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
    """How a plan's interval reads: "every week", "every 2 weeks", "every 3 months" (a lazy
    text, in the reader's language where it is shown)."""
    if unit == "day":
        return ngettext("every day", "every %(num)d days", count)
    if unit == "week":
        return ngettext("every week", "every %(num)d weeks", count)
    if unit == "month":
        return ngettext("every month", "every %(num)d months", count)
    if unit == "year":
        return ngettext("every year", "every %(num)d years", count)
    return f"every {unit}" if count == 1 else f"every {count} {unit}s"


def per_interval_label(unit: str, count: int = 1) -> str:
    """The interval after an amount: "/ week", "/ 2 weeks" (a lazy text)."""
    if unit == "day":
        return ngettext("day", "%(num)d days", count)
    if unit == "week":
        return ngettext("week", "%(num)d weeks", count)
    if unit == "month":
        return ngettext("month", "%(num)d months", count)
    if unit == "year":
        return ngettext("year", "%(num)d years", count)
    return unit if count == 1 else f"{count} {unit}s"


def days_between(start: date, end: date) -> int:
    return (end - start).days
