"""Timesheets and projects: grouping, hours, approving and disapproving, locking."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from webapp import demo
from webapp.models import Notification, OutboxMessage, Project, TimeEntry
from webapp.services.admin import projects as project_admin
from webapp.services.core import notifications
from webapp.services.core.errors import IllegalTransition, InvalidInput, NotFound
from webapp.services.engagement import projects, timesheets


@pytest.fixture
def seeded(session, now):
    result = demo.seed_demo(session, now=now)
    session.commit()
    return result


def _project(session, name: str) -> Project:
    return session.exec(select(Project).where(Project.name == name)).one()


def _entries(session, name: str, approval: str | None = None) -> list[TimeEntry]:
    query = select(TimeEntry).where(TimeEntry.project_id == _project(session, name).id)
    if approval:
        query = query.where(TimeEntry.approval == approval)
    return list(session.exec(query.order_by(TimeEntry.id)))


def _decide(session, seeded, entries, decision, reason="", now=None):
    return timesheets.decide(session, customer_id=seeded.jane_customer_id, user_id=None,
                             entry_ids=[e.id for e in entries], decision=decision,
                             reason=reason, now=now)


def test_entries_are_grouped_by_project_then_week_newest_first(session, seeded):
    sheet = timesheets.timesheet(session, customer_id=seeded.jane_customer_id,
                                 filters=timesheets.TimesheetFilters())
    assert [g.name for g in sheet.groups] == ["Brand guidelines", "Support retainer",
                                              "Website redesign"]
    website = sheet.groups[2]
    assert all(w.start.weekday() == 0 for w in website.weeks)
    assert [w.start for w in website.weeks] == sorted((w.start for w in website.weeks),
                                                      reverse=True)
    assert website.total == "28:00" and sheet.any_decidable


def test_a_project_shows_logged_approved_and_unbilled_hours(session, seeded):
    detail = projects.project_detail(session, customer_id=seeded.jane_customer_id,
                                     project_id=_project(session, "Website redesign").id)
    # 28 h logged; 4 + 3 + 5 h approved; unbilled leaves out the billed 4 h and the
    # disapproved 4:30.
    assert (detail.hours.logged_text, detail.hours.approved_text,
            detail.hours.unbilled_text) == ("28:00", "12:00", "19:30")
    assert [t.name for t in detail.tasks] == ["Content migration", "Design", "Development"]
    assert detail.budget_hours_text == "120:00" and detail.shows_project_rate


def test_only_active_projects_are_listed(session, seeded):
    names = [r.project.name for r in projects.list_projects(
        session, customer_id=seeded.jane_customer_id)]
    assert names == ["Brand guidelines", "Support retainer", "Website redesign"]


def test_approving_several_entries_approves_them_all_and_notifies_without_email(
        session, seeded, now):
    pending = _entries(session, "Website redesign", "pending")[:2]
    assert _decide(session, seeded, pending, timesheets.APPROVE, now=now) == 2
    session.expire_all()
    assert {e.approval for e in pending} == {"approved"}
    note = notifications.NotificationView.of(session.exec(select(Notification)).one())
    assert note.title.startswith("Jane Cooper approved 2 time entries (")
    assert session.exec(select(OutboxMessage)).all() == []


def test_disapproving_needs_a_reason(session, seeded, now):
    with pytest.raises(InvalidInput, match="Say why") as refused:
        _decide(session, seeded, _entries(session, "Website redesign", "pending")[:1],
                timesheets.DISAPPROVE, reason=" ", now=now)
    assert refused.value.field == "reason"


def test_disapproving_keeps_the_reason(session, seeded, now):
    (entry,) = _entries(session, "Website redesign", "pending")[:1]
    _decide(session, seeded, [entry], timesheets.DISAPPROVE, reason="Not agreed.", now=now)
    session.refresh(entry)
    assert (entry.approval, entry.disapproval_reason) == ("disapproved", "Not agreed.")


def test_entries_of_a_project_without_client_approval_are_not_found(session, seeded, now):
    with pytest.raises(NotFound):
        _decide(session, seeded, _entries(session, "Brand guidelines")[:1],
                timesheets.APPROVE, now=now)


def test_another_customers_entries_are_not_found(session, seeded, now):
    omars = session.exec(select(TimeEntry).where(
        TimeEntry.customer_id == seeded.omar_customer_id)).first()
    with pytest.raises(NotFound):
        _decide(session, seeded, [omars], timesheets.APPROVE, now=now)


def test_one_decided_entry_refuses_the_whole_request(session, seeded, now):
    approved = _entries(session, "Website redesign", "approved")[:1]
    pending = _entries(session, "Website redesign", "pending")[:1]
    with pytest.raises(IllegalTransition, match="locked"):
        _decide(session, seeded, approved + pending, timesheets.DISAPPROVE, reason="No",
                now=now)
    session.rollback()
    assert session.get(TimeEntry, pending[0].id, populate_existing=True).approval == "pending"


def _typed(task_id=None, hours="1:30"):
    return timesheets.EntryInput(task_id, date(2026, 11, 20), hours, "Work", True, False)


def test_an_approved_entry_is_locked_for_the_organization_too(session, seeded, now):
    (entry,) = _entries(session, "Website redesign", "approved")[:1]
    with pytest.raises(IllegalTransition, match="locked"):
        timesheets.save_entry(session, project_id=entry.project_id, entry_id=entry.id,
                              data=_typed(), now=now)


def test_correcting_a_disapproved_entry_asks_the_customer_again(session, seeded, now):
    (entry,) = _entries(session, "Website redesign", "disapproved")
    timesheets.save_entry(session, project_id=entry.project_id, entry_id=entry.id,
                          data=_typed(hours="2.25"), now=now)
    assert (entry.approval, entry.minutes) == ("pending", 135)


@pytest.mark.parametrize(("hours", "minutes"), [("1:30", 90), ("1.5", 90), ("0.25 h", 15),
                                                ("24", 1440)])
def test_typed_hours_become_minutes(hours, minutes):
    assert timesheets.parse_duration(hours) == minutes


@pytest.mark.parametrize("hours", ["", "abc", "0", "24:01", "1:75"])
def test_unusable_hours_are_refused(hours):
    with pytest.raises(InvalidInput) as refused:
        timesheets.parse_duration(hours)
    assert refused.value.field == "hours"


def test_a_fixed_cost_project_needs_its_price(session, seeded, now):
    data = project_admin.ProjectInput("Audit", "", "active", "fixed", "", "", "", "", False)
    with pytest.raises(InvalidInput) as refused:
        project_admin.create_project(session, customer_id=seeded.jane_customer_id, data=data,
                                     now=now)
    assert refused.value.field == "fixed_amount"


def test_a_project_is_made_in_the_customers_currency(session, seeded, now):
    data = project_admin.ProjectInput("Audit", "", "active", "project_hourly", "", "80", "10:30",
                                      "", True)
    project = project_admin.create_project(session, customer_id=seeded.omar_customer_id,
                                           data=data, now=now)
    assert (project.currency, project.hourly_rate, project.budget_minutes) == ("EUR", 8000, 630)
    assert project_admin.ProjectInput.of(project).hourly_rate == "80.00"


def test_the_decision_notice_and_a_comment_title_write_dates_in_their_readers_locale(session,
                                                                                   seeded, now):
    """The organization reads the notice in its locale (en_GB: "6 Nov 2026"); the comment
    thread's title is the customer's (Omar's de_DE would be "06.11.2026")."""
    from babel.dates import format_date

    from webapp.models import Customer, Organization

    org = session.get(Organization, 1)
    org.locale = "en_GB"
    (entry,) = _entries(session, "Website redesign", "pending")[:1]
    _decide(session, seeded, [entry], timesheets.APPROVE, now=now)
    body = notifications.NotificationView.of(session.exec(select(Notification)).one()).body
    assert body.startswith(format_date(entry.work_date, "medium", locale="en_GB"))
    session.get(Customer, seeded.jane_customer_id).locale = "de_DE"
    title = timesheets.detail_of(session, entry).subject
    assert format_date(entry.work_date, "medium", locale="de_DE") in title.label
