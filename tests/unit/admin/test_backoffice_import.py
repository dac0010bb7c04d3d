"""Back office: CSV import — a dry run names every bad line; nothing is written until all pass."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from tests.factories import make_customer, make_plan, moment_on
from webapp.demo import seed_organization
from webapp.models import AuditEntry, Customer, OutboxMessage, Preferences, Subscription
from webapp.services.admin import Actor, LinkSettings, catalog, importer

ADMIN = Actor(None, "admin@example.com")
LINKS = LinkSettings("test-secret-key")


@pytest.fixture
def org(session, now):
    return seed_organization(session, now=now)


def _run(session, now, kind, text, dry_run=True):
    return importer.run(session, actor=ADMIN, kind=kind, text=text, dry_run=dry_run,
                        at=moment_on(now.date(), now), links=LINKS)


CUSTOMERS_WITH_MISTAKES = """name,email,currency,company
Ada Lovelace,ada@example.com,GBP,Analytical Ltd
Bob,bob@,USD,
Carla,carla@example.com,XYZ,
,dan@example.com,,
Erin,ADA@example.com,EUR,
Kim,kim@example.com,USD,
"""


def test_a_dry_run_with_bad_rows_names_each_line_and_writes_nothing(session, now, org):
    make_customer(session, now=now, email="kim@example.com")
    session.commit()
    report = _run(session, now, importer.CUSTOMERS, CUSTOMERS_WITH_MISTAKES, dry_run=True)
    assert (report.rows, report.written, report.ok) == (6, 0, False)
    assert [(e.line, e.reason) for e in report.errors] == [
        (3, "bad email “bob@”"),
        (4, "unknown currency “XYZ”"),
        (5, "name is missing"),
        (6, "duplicate email ADA@example.com (also on line 2)"),
        (7, "duplicate: a customer with kim@example.com already exists"),
    ]
    assert len(session.exec(select(Customer)).all()) == 1


def test_an_import_with_one_bad_row_writes_nothing_at_all(session, now, org):
    report = _run(session, now, importer.CUSTOMERS,
                  "name,email\nAda,ada@example.com\nBob,bob@\n", dry_run=False)
    assert report.written == 0 and [e.line for e in report.errors] == [3]
    assert session.exec(select(Customer)).all() == []


def test_a_clean_file_imports_every_row_in_one_go(session, now, org):
    text = "\ufeffName,Email,Currency,Billing_Address\n" \
           "Ada,ada@example.com,gbp,\"1 Main St,\nLondon\"\n\nBob,bob@example.com,,\n"
    dry = _run(session, now, importer.CUSTOMERS, text, dry_run=True)
    assert (dry.ok, dry.rows, dry.written) == (True, 2, 0)
    assert session.exec(select(Customer)).all() == []
    report = _run(session, now, importer.CUSTOMERS, text, dry_run=False)
    assert report.written == 2
    rows = {c.email: c for c in session.exec(select(Customer))}
    assert rows["ada@example.com"].currency == "GBP"
    assert rows["ada@example.com"].billing_address == "1 Main St,\nLondon"
    assert rows["bob@example.com"].currency == "USD"  # the organization's
    assert [e.action for e in session.exec(select(AuditEntry))] == ["customer.import"] * 2


def test_imported_customers_are_invited_when_the_portal_opens_automatically(session, now, org):
    session.add(Preferences(organization_id=1, portal_auto_enable=True, updated_at=now))
    _run(session, now, importer.CUSTOMERS, "name,email\nAda,ada@example.com\n", dry_run=False)
    assert [m.template for m in session.exec(select(OutboxMessage))] == ["invitation"]


def test_a_file_with_unknown_or_missing_columns_is_refused_on_line_1(session, now, org):
    report = _run(session, now, importer.CUSTOMERS, "full name,mail\nAda,ada@example.com\n")
    assert [e.line for e in report.errors] == [1, 1]
    assert "missing column(s): name, email" in report.errors[0].reason


SUBSCRIPTIONS_WITH_MISTAKES = """customer_email,plan_code,start_date,addons,currency,coupon_code
kim@example.com,test-monthly,2026-12-01,seat:2,,
kim@example.com,gold,2026-12-01,,,
kim@example.com,test-monthly,2026-12-02,seat:-1,,
nobody@example.com,test-monthly,tomorrow,,,
kim@example.com,test-monthly,2026-12-05,,XYZ,
kim@example.com,test-monthly,2026-12-01,seat:2,,
kim@example.com,test-monthly,2026-12-09,lamp:1,,NOPE
"""


def _subscription_catalog(session, now):
    make_customer(session, now=now, email="kim@example.com")
    make_plan(session, now=now)
    catalog.create_addon(session, actor=ADMIN, now=now, data=catalog.AddonInput(
        "seat", "Seat", "recurring", "seat", {"USD": "8"}))


def test_a_subscription_dry_run_names_each_bad_line(session, now, org):
    _subscription_catalog(session, now)
    report = _run(session, now, importer.SUBSCRIPTIONS, SUBSCRIPTIONS_WITH_MISTAKES,
                  dry_run=False)
    assert [(e.line, e.reason) for e in report.errors] == [
        (3, "unknown plan code “gold”"),
        (4, "negative quantity -1 for addon seat"),
        (5, "unknown customer email nobody@example.com"),
        (5, "bad start_date “tomorrow” (use YYYY-MM-DD)"),
        (6, "unknown currency “XYZ”"),
        (7, "duplicate of line 2"),
        (8, "unknown addon code “lamp”"),
        (8, "unknown coupon code “NOPE”"),
    ]
    assert session.exec(select(Subscription)).all() == []


def test_subscriptions_move_in_live_future_or_in_trial(session, now, org):
    _subscription_catalog(session, now)
    text = ("customer_email,plan_code,start_date,trial_end,addons\n"
            "kim@example.com,test-monthly,2026-01-31,,seat:3\n"  # live since January
            "kim@example.com,test-monthly,2026-12-15,,\n"  # starts later
            "kim@example.com,test-monthly,2026-11-20,2026-12-04,\n")  # in its trial
    report = _run(session, now, importer.SUBSCRIPTIONS, text, dry_run=False)
    assert report.errors == () and report.written == 3
    live, future, trial = session.exec(select(Subscription).order_by(Subscription.id)).all()
    assert (live.status, live.current_term_start, live.current_term_end, live.cycles_billed,
            live.anchor_day) == ("live", date(2026, 10, 31), date(2026, 11, 30), 10, 31)
    assert (future.status, future.start_date) == ("future", date(2026, 12, 15))
    assert (trial.status, trial.trial_end, trial.next_billing_date) == (
        "trial", date(2026, 12, 4), date(2026, 12, 4))
    assert [e.action for e in session.exec(select(AuditEntry).where(
        AuditEntry.subject_type == "subscription"))] == ["subscription.import"] * 3


def test_a_formula_in_a_cell_is_stored_as_the_text_typed_and_the_portals_escape_is_undone(
        session, now, org):
    csv_text = ('name,email,company\n'
                '"=HYPERLINK(""http://evil.example"",""x"")",ada@example.com,\'+Analytical\n')
    report = _run(session, now, importer.CUSTOMERS, csv_text, dry_run=False)
    assert report.written == 1
    customer = session.exec(select(Customer)).one()
    assert (customer.display_name, customer.company) == \
        ('=HYPERLINK("http://evil.example","x")', "+Analytical")


def test_a_cell_with_a_control_or_bidi_character_is_a_bad_line(session, now, org):
    report = _run(session, now, importer.CUSTOMERS,
                  "name,email\nAda\u202e,ada@example.com\nBob\x00,bob@example.com\n")
    assert [(e.line, e.reason.split(":")[0]) for e in report.errors] == [(2, "name"), (3, "name")]
