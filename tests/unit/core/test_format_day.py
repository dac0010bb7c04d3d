"""One format for dates: pages, PDFs, mail and messages all show a day through format_day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from webapp.services.core import mail
from webapp.services.core.dates import Dated, dated, format_day, plain, say


def test_a_day_is_shown_in_babels_medium_format_for_the_locale():
    assert format_day(date(2026, 12, 28), "en_US") == "Dec 28, 2026"
    assert format_day(date(2026, 12, 28), "en_GB") == "28 Dec 2026"
    assert format_day(date(2026, 12, 28), "de_DE") == "28.12.2026"


def test_without_a_locale_the_portals_default_is_used():
    assert format_day(date(2026, 12, 28)) == "Dec 28, 2026"


def test_a_timestamp_is_shown_as_its_date_in_the_timezone():
    late = datetime(2027, 1, 31, 23, 30, tzinfo=UTC)
    assert format_day(late, "en_US", timezone="Europe/Berlin") == "Feb 1, 2027"
    assert format_day(late, "en_US") == "Jan 31, 2027"
    assert format_day(late.replace(tzinfo=None), "en_US", timezone="UTC") == "Jan 31, 2027"


def test_an_iso_string_from_a_mails_context_is_read_as_its_day():
    assert format_day("2026-12-28", "en_US") == "Dec 28, 2026"
    assert format_day(None) == "" and format_day("") == ""


def test_a_dated_message_fills_its_dates_where_it_is_shown():
    message = dated("%(number)s pauses on %(pause_on)s and resumes on %(resume_on)s.",
                    number="SUB-1", pause_on=date(2026, 12, 28), resume_on=date(2027, 1, 4))
    assert message.format("en_US") == "SUB-1 pauses on Dec 28, 2026 and resumes on Jan 4, 2027."
    assert say(message, "en_GB") == "SUB-1 pauses on 28 Dec 2026 and resumes on 4 Jan 2027."
    assert say("as it is", "en_US") == "as it is" and say(None) is None


def test_text_added_to_a_dated_message_is_shown_as_it_is():
    message = dated("Ends on %(on)s.", on=date(2026, 12, 28)) + " Reason: %(odd)s {x}"
    assert message.format() == "Ends on Dec 28, 2026. Reason: %(odd)s {x}"
    assert plain("%(x)s").format() == "%(x)s" and isinstance(plain("a"), Dated)


def test_a_mail_shows_its_iso_context_dates_in_the_organizations_format():
    org = SimpleNamespace(name="Northwind", email="", address="", portal_name="Portal",
                          locale="en_GB", timezone="Europe/London")
    rendered = mail.render("invoice_issued", {
        "org": org, "name": "Jane", "number": "INV-1", "amount": "£5.00",
        "due_date": "2026-12-28", "path": "/invoices/1", "base_url": ""})
    assert "It is due on 28 Dec 2026;" in rendered.text and "28 Dec 2026" in rendered.html
    assert "2026-12-28" not in rendered.text + rendered.html
