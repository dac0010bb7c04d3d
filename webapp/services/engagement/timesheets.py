"""Timesheets: the customer's time entries by project and week, approving and disapproving
them where the project has client approval on, comments; and the organization's side.

An approved entry is locked: no decision and no edit changes it. A disapproved entry that
the organization corrects goes back to pending for the customer to decide again. Decisions
on several entries are all or nothing: one entry that cannot be decided refuses them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from webapp.models import Customer, Organization, Project, ProjectTask, TimeEntry
from webapp.services.core import events, locales, notifications, outbox
from webapp.services.core.dates import dated, format_day
from webapp.services.core.errors import IllegalTransition, InvalidInput, NotFound
from webapp.services.core.i18n import N_, _, ngettext
from webapp.services.core.listing import FilterReader
from webapp.services.engagement import comments
from webapp.services.engagement.comments import CommentView
from webapp.services.engagement.projects import (
    APPROVAL_LABELS,
    APPROVED,
    DISAPPROVED,
    PENDING,
    EntryView,
    entry_views,
    format_minutes,
    get_project,
    parse_hours,
)

APPROVE, DISAPPROVE = "approve", "disapprove"
MAX_REASON = 2000
MAX_MINUTES = 24 * 60
TIME_ENTRIES_DECIDED = "time_entries_decided"  # admin list only


@dataclass(frozen=True)
class TimesheetFilters:
    project_id: int | None = None
    approval: str | None = None

    def query_args(self, **overrides) -> dict:
        args = {"project": self.project_id, "status": self.approval} | overrides
        return {k: v for k, v in args.items() if v is not None}


def read_filters(params: Mapping[str, str]) -> tuple[TimesheetFilters, list[str]]:
    reader = FilterReader(params)
    filters = TimesheetFilters(project_id=reader.integer("project", "project"),
                               approval=reader.choice("status", tuple(APPROVAL_LABELS),
                                                      "status"))
    return filters, reader.messages


@dataclass(frozen=True)
class Week:
    start: date  # Monday
    entries: tuple[EntryView, ...]

    @property
    def total(self) -> str:
        return format_minutes(sum(e.minutes for e in self.entries))


@dataclass(frozen=True)
class ProjectGroup:
    project_id: int
    name: str
    client_approval: bool
    weeks: tuple[Week, ...]

    @property
    def total(self) -> str:
        return format_minutes(sum(e.minutes for w in self.weeks for e in w.entries))


@dataclass(frozen=True)
class Timesheet:
    groups: tuple[ProjectGroup, ...]
    projects: tuple[tuple[int, str], ...]  # for the project filter

    @property
    def any_decidable(self) -> bool:
        return any(e.decidable for g in self.groups for w in g.weeks for e in w.entries)


def _weeks(entries: Iterable[EntryView]) -> tuple[Week, ...]:
    by_week: dict[date, list[EntryView]] = {}
    for entry in entries:
        monday = entry.work_date - timedelta(days=entry.work_date.weekday())
        by_week.setdefault(monday, []).append(entry)
    return tuple(Week(start, tuple(items)) for start, items in sorted(by_week.items(),
                                                                      reverse=True))


def timesheet(session: Session, *, customer_id: int, filters: TimesheetFilters) -> Timesheet:
    """The customer's entries grouped by project (by name), then week (newest first)."""
    projects = session.exec(select(Project.id, Project.name)
                            .where(Project.customer_id == customer_id)
                            .order_by(col(Project.name), col(Project.id))).all()
    conditions = [TimeEntry.customer_id == customer_id]
    if filters.project_id is not None:
        conditions.append(TimeEntry.project_id == filters.project_id)
    if filters.approval:
        conditions.append(TimeEntry.approval == filters.approval)
    entries = entry_views(session, *conditions)
    groups = []
    for project_id, name in projects:
        mine = [e for e in entries if e.project_id == project_id]
        if mine:
            groups.append(ProjectGroup(project_id, name, mine[0].client_approval, _weeks(mine)))
    return Timesheet(tuple(groups), tuple(projects))


def owned_entry(session: Session, customer_id: int, entry_id: int) -> TimeEntry:
    entry = session.get(TimeEntry, entry_id)
    if entry is None or entry.customer_id != customer_id:
        raise NotFound(_("No such time entry."))
    return entry


def _view(session: Session, entry: TimeEntry) -> EntryView:
    (view,) = entry_views(session, TimeEntry.id == entry.id)
    return view


@dataclass(frozen=True)
class EntryDetail:
    entry: EntryView
    customer_id: int
    comments: tuple[CommentView, ...]
    locale: str = "en_US"  # the customer's: the comment thread's title names the entry's date

    @property
    def subject(self) -> comments.Subject:
        return comments.Subject(comments.TIME_ENTRY, self.entry.id, self.customer_id,
                                f"the time entry of {format_day(self.entry.work_date, self.locale)} on "
                                f"{self.entry.project_name}",
                                outbox.page("timesheets.entry", entry_id=self.entry.id))


def detail_of(session: Session, entry: TimeEntry) -> EntryDetail:
    org, customer = session.get(Organization, 1), session.get(Customer, entry.customer_id)
    return EntryDetail(_view(session, entry), entry.customer_id,
                       comments.thread(session, subject_type=comments.TIME_ENTRY,
                                       subject_id=entry.id, customer_id=entry.customer_id),
                       locales.for_customer(customer.locale if customer else None,
                                            org.locale if org else None))


def entry_detail(session: Session, *, customer_id: int, entry_id: int) -> EntryDetail:
    """One of the customer's time entries with its comment thread."""
    return detail_of(session, owned_entry(session, customer_id, entry_id))


def decide(session: Session, *, customer_id: int, user_id: int | None,
           entry_ids: Iterable[int], decision: str, reason: str, now: datetime) -> int:
    """Approve or disapprove entries of projects with client approval; returns how many.

    Entries that are not the customer's, or whose project has no client approval, are not
    found; any entry decided already refuses the whole request and nothing changes.
    """
    ids = sorted(set(entry_ids))
    if decision not in (APPROVE, DISAPPROVE):
        raise InvalidInput(_("Choose Approve or Disapprove."), field="entries")
    if not ids:
        raise InvalidInput(_("Choose at least one time entry."), field="entries")
    reason = (reason or "").strip()
    if decision == DISAPPROVE and not reason:
        raise InvalidInput(_("Say why you disapprove, so we can correct it."), field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(ngettext("Keep the reason under %(num)d character.",
                                    "Keep the reason under %(num)d characters.", MAX_REASON),
                           field="reason")
    views = entry_views(session, col(TimeEntry.id).in_(ids), TimeEntry.customer_id == customer_id)
    if len(views) != len(ids) or not all(v.client_approval for v in views):
        raise NotFound(_("No such time entry."))
    decided = [v for v in views if not v.decidable]
    if decided:
        first = decided[0]
        raise IllegalTransition(dated(
            N_("The entry of %(day)s (%(duration)s) is approved already; approved entries are "
               "locked. Nothing was changed.") if first.approval == APPROVED else
            N_("The entry of %(day)s (%(duration)s) is disapproved already; approved entries "
               "are locked. Nothing was changed."),
            day=first.work_date, duration=first.duration))
    result = session.execute(
        update(TimeEntry)
        .where(col(TimeEntry.id).in_(ids), TimeEntry.customer_id == customer_id,
               TimeEntry.approval == PENDING)
        .values(approval=APPROVED if decision == APPROVE else DISAPPROVED,
                disapproval_reason=reason if decision == DISAPPROVE else "",
                decided_at=now, decided_by_user_id=user_id, updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != len(ids):  # another request decided some in between
        raise IllegalTransition(_("Some of these entries were decided meanwhile. "
                                  "Reload the page and try again."))
    entries = session.exec(select(TimeEntry).where(col(TimeEntry.id).in_(ids))
                           .order_by(TimeEntry.id)
                           .execution_options(populate_existing=True)).all()
    type_ = "time_entry.approved" if decision == APPROVE else "time_entry.disapproved"
    events.emit_many(session, [(type_, events.public("time_entry", entry), {"approval": PENDING})
                               for entry in entries], now=now)
    _notify(session, customer_id=customer_id, views=views, decision=decision, reason=reason,
            now=now)
    return len(ids)


def _notify(session: Session, *, customer_id: int, views: tuple[EntryView, ...],
            decision: str, reason: str, now: datetime) -> None:
    name = session.get(Customer, customer_id).display_name
    org = session.get(Organization, 1)  # the organization reads it, in its own locale
    hours = format_minutes(sum(v.minutes for v in views))
    entries = [f"{format_day(v.work_date, org.locale if org else None)} · "
               f"{v.project_name} · {v.duration}" for v in views]
    title = notifications.lazy_ngettext(
        "%(customer)s approved %(num)d time entry (%(hours)s h)",
        "%(customer)s approved %(num)d time entries (%(hours)s h)", len(views),
        customer=name, hours=hours) if decision == APPROVE else notifications.lazy_ngettext(
        "%(customer)s disapproved %(num)d time entry (%(hours)s h)",
        "%(customer)s disapproved %(num)d time entries (%(hours)s h)", len(views),
        customer=name, hours=hours)
    notifications.notify_org(session, event=TIME_ENTRIES_DECIDED, title=title,
                             body=N_("%(entries)s\n\nTheir reason: %(reason)s") if reason
                             else N_("%(entries)s"), now=now, customer_id=customer_id,
                             params={"entries": entries, "reason": reason})


def add_comment(session: Session, *, customer_id: int, user_id: int | None, entry_id: int,
                body: str, now: datetime) -> tuple[CommentView, ...]:
    """The customer comments on a time entry; returns the thread, oldest first."""
    detail = entry_detail(session, customer_id=customer_id, entry_id=entry_id)
    return comments.add_customer_comment(session, detail.subject, user_id=user_id, body=body,
                                         now=now)


# --- The organization's side ------------------------------------------------------------------

def parse_duration(text: str) -> int:
    """Typed time as minutes: "1:30" or "1.5" hours, up to a day."""
    minutes = parse_hours(text, field="hours", max_minutes=MAX_MINUTES)
    if minutes is None:
        raise InvalidInput(_("Enter the hours worked, such as 1:30 or 1.5."), field="hours")
    return minutes


@dataclass(frozen=True)
class EntryInput:
    """The admin's form: hours as typed ("1:30" or "1.5")."""

    task_id: int | None
    work_date: date | None
    hours: str
    description: str
    billable: bool
    billed: bool


def entry_form_data(entry: TimeEntry | None) -> dict:
    """An entry as its edit form shows it (a new entry is billable, with no task)."""
    if entry is None:
        return {"task_id": 0, "billable": True}
    return {"task_id": entry.task_id or 0, "work_date": entry.work_date,
            "hours": format_minutes(entry.minutes), "description": entry.description,
            "billable": entry.billable, "billed": entry.billed}


def get_entry(session: Session, entry_id: int) -> TimeEntry:
    entry = session.get(TimeEntry, entry_id)
    if entry is None:
        raise NotFound(_("No such time entry."))
    return entry


def _task_of(session: Session, project: Project, task_id: int | None) -> int | None:
    if task_id is None:
        return None
    task = session.get(ProjectTask, task_id)
    if task is None or task.project_id != project.id:
        raise InvalidInput(_("Choose one of the project's tasks."), field="task_id")
    return task.id


def save_entry(session: Session, *, project_id: int, entry_id: int | None, data: EntryInput,
               now: datetime) -> TimeEntry:
    """Log time on a project, or correct an entry; approved entries are locked, and a
    corrected disapproved entry goes back to the customer as pending."""
    project = get_project(session, project_id)
    task_id = _task_of(session, project, data.task_id)
    if data.work_date is None:
        raise InvalidInput(_("Enter the date worked."), field="work_date")
    minutes = parse_duration(data.hours)
    description = " ".join((data.description or "").split())
    if len(description) > 500:
        raise InvalidInput(_("Keep the description under 500 characters."), field="description")
    if entry_id is None:
        entry = TimeEntry(project_id=project.id, customer_id=project.customer_id,
                          work_date=data.work_date, minutes=minutes, created_at=now,
                          updated_at=now)
        session.add(entry)
    else:
        entry = get_entry(session, entry_id)
        if entry.project_id != project.id:
            raise NotFound(_("No such time entry."))
        if entry.approval == APPROVED:
            raise IllegalTransition(_("The customer approved this entry; it is locked."))
        if entry.approval == DISAPPROVED:
            entry.approval, entry.decided_at, entry.decided_by_user_id = PENDING, None, None
    entry.task_id, entry.work_date, entry.minutes = task_id, data.work_date, minutes
    entry.description, entry.billable, entry.billed = description, data.billable, data.billed
    entry.updated_at = now
    session.flush()
    return entry


def reply(session: Session, *, entry_id: int, user_id: int | None, body: str,
          now: datetime) -> tuple[CommentView, ...]:
    """An admin replies on a time entry's thread (the customer is emailed if preferred)."""
    detail = detail_of(session, get_entry(session, entry_id))
    org = session.get(Organization, 1)
    return comments.add_admin_reply(session, detail.subject, user_id=user_id,
                                    organization_name=org.name, body=body, now=now)
