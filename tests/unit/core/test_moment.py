"""The Moment: one instant and the organization's calendar date at it."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime

import pytest

from webapp.services.core.dates import Moment


def test_today_is_the_calendar_date_in_the_organizations_timezone():
    late = datetime(2027, 1, 31, 23, 30, tzinfo=UTC)
    assert Moment.at(late, "Europe/Berlin").today == date(2027, 2, 1)
    assert Moment.at(late, "America/New_York").today == date(2027, 1, 31)
    assert Moment.at(late, "UTC") == Moment(late, date(2027, 1, 31), "UTC")


def test_without_a_timezone_the_date_is_utcs():
    moment = Moment.at(datetime(2027, 1, 31, 23, 30, tzinfo=UTC), None)
    assert (moment.today, moment.timezone) == (date(2027, 1, 31), "UTC")


def test_a_moment_cannot_be_changed():
    moment = Moment.at(datetime(2027, 1, 1, tzinfo=UTC), "UTC")
    with pytest.raises(FrozenInstanceError):
        moment.today = date(2027, 1, 2)
