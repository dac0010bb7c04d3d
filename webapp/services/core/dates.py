"""Calendar arithmetic for billing periods, in the organization's timezone."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo


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


def add_months(start: date, months: int, anchor_day: int | None = None) -> date:
    """`start` moved by whole months, keeping the anchor day (31 stays 31 where it exists)."""
    day = anchor_day or start.day
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_interval(start: date, unit: str, count: int = 1, anchor_day: int | None = None) -> date:
    """One billing interval after `start` (unit month or year)."""
    if unit == "month":
        return add_months(start, count, anchor_day)
    if unit == "year":
        return add_months(start, 12 * count, anchor_day)
    raise ValueError(f"unknown interval unit {unit!r}")


def days_between(start: date, end: date) -> int:
    return (end - start).days
