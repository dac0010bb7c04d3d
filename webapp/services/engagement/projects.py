"""Projects: the customer's active projects with their hours, tasks and time entries.

Hours are whole minutes. Logged is every entry; approved counts entries the customer approved
(projects with client approval only); unbilled is billable time not billed yet and not
disapproved. The organization's side (creating and editing) is in services/project_admin.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from webapp.models import Customer, Project, ProjectTask, TimeEntry
from webapp.services.core.errors import InvalidInput, NotFound
from webapp.services.core.i18n import _

ACTIVE, COMPLETED = "active", "completed"
STATUS_LABELS = {ACTIVE: _("Active"), COMPLETED: _("Completed")}
FIXED, PROJECT_HOURLY, TASK_HOURLY = "fixed", "project_hourly", "task_hourly"
BILLING_METHODS = {FIXED: _("Fixed cost"), PROJECT_HOURLY: _("Hourly, by project"),
                   TASK_HOURLY: _("Hourly, by task")}
PENDING, APPROVED, DISAPPROVED = "pending", "approved", "disapproved"
APPROVAL_LABELS = {PENDING: _("Awaiting approval"), APPROVED: _("Approved"),
                   DISAPPROVED: _("Disapproved")}


def format_minutes(minutes: int) -> str:
    """Minutes as hours and minutes: 450 -> "7:30"."""
    return f"{minutes // 60}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Hours:
    logged: int = 0
    approved: int = 0
    unbilled: int = 0

    @property
    def logged_text(self) -> str:
        return format_minutes(self.logged)

    @property
    def approved_text(self) -> str:
        return format_minutes(self.approved)

    @property
    def unbilled_text(self) -> str:
        return format_minutes(self.unbilled)


def hours_by(session: Session, key, *conditions) -> dict[int, Hours]:
    """Logged, approved and unbilled minutes grouped by `key` (a TimeEntry column); one query."""
    unbilled = and_(col(TimeEntry.billable).is_(True), col(TimeEntry.billed).is_(False),
                    TimeEntry.approval != DISAPPROVED)
    rows = session.exec(select(
        key, func.sum(TimeEntry.minutes),
        func.sum(case((TimeEntry.approval == APPROVED, TimeEntry.minutes), else_=0)),
        func.sum(case((unbilled, TimeEntry.minutes), else_=0)))
        .where(*conditions).group_by(key))
    return {k: Hours(int(logged or 0), int(approved or 0), int(open_ or 0))
            for k, logged, approved, open_ in rows}


@dataclass(frozen=True)
class ProjectRow:
    project: Project
    billing_label: str
    hours: Hours


def list_projects(session: Session, *, customer_id: int) -> tuple[ProjectRow, ...]:
    """The customer's active projects, by name, with their hours; two queries."""
    projects = session.exec(select(Project).where(Project.customer_id == customer_id,
                                                  Project.status == ACTIVE)
                            .order_by(col(Project.name), col(Project.id))).all()
    hours = hours_by(session, TimeEntry.project_id, TimeEntry.customer_id == customer_id,
                     col(TimeEntry.project_id).in_([p.id for p in projects]))
    return tuple(ProjectRow(p, BILLING_METHODS[p.billing_method], hours.get(p.id, Hours()))
                 for p in projects)


def owned_project(session: Session, customer_id: int, project_id: int) -> Project:
    """One of the customer's projects, or NotFound."""
    project = session.get(Project, project_id)
    if project is None or project.customer_id != customer_id:
        raise NotFound(_("No such project."))
    return project


@dataclass(frozen=True)
class EntryView:
    """A time entry as both sides see it, with what may be done to it."""

    id: int
    project_id: int
    project_name: str
    task_id: int | None
    task_name: str
    work_date: date
    minutes: int
    description: str
    billable: bool
    billed: bool
    approval: str
    approval_label: str
    disapproval_reason: str
    client_approval: bool

    @property
    def duration(self) -> str:
        return format_minutes(self.minutes)

    @property
    def decidable(self) -> bool:
        """The customer may approve or disapprove it now."""
        return self.client_approval and self.approval == PENDING

    @property
    def locked(self) -> bool:
        """Approved entries are final: no decision and no edit changes them."""
        return self.approval == APPROVED

    @classmethod
    def of(cls, entry: TimeEntry, project: Project, task_name: str | None) -> EntryView:
        return cls(entry.id, project.id, project.name, entry.task_id, task_name or "",
                   entry.work_date, entry.minutes, entry.description, entry.billable,
                   entry.billed, entry.approval, APPROVAL_LABELS[entry.approval],
                   entry.disapproval_reason, project.client_approval)


def entry_views(session: Session, *conditions) -> tuple[EntryView, ...]:
    """Entries with their project and task names (one query), by date then id."""
    rows = session.exec(
        select(TimeEntry, Project, ProjectTask.name)
        .join(Project, Project.id == TimeEntry.project_id)
        .outerjoin(ProjectTask, ProjectTask.id == TimeEntry.task_id)
        .where(*conditions)
        .order_by(col(TimeEntry.work_date), col(TimeEntry.id)))
    return tuple(EntryView.of(entry, project, task) for entry, project, task in rows)


@dataclass(frozen=True)
class TaskView:
    id: int | None  # None: time logged on the project without a task
    name: str
    description: str
    hourly_rate: int | None
    hours: Hours
    entries: tuple[EntryView, ...]


@dataclass(frozen=True)
class ProjectDetail:
    project: Project
    customer_name: str
    billing_label: str
    status_label: str
    hours: Hours
    tasks: tuple[TaskView, ...]

    @property
    def shows_fixed_amount(self) -> bool:
        return self.project.billing_method == FIXED and self.project.fixed_amount is not None

    @property
    def shows_project_rate(self) -> bool:
        return self.project.billing_method == PROJECT_HOURLY and \
            self.project.hourly_rate is not None

    @property
    def shows_task_rates(self) -> bool:
        return self.project.billing_method == TASK_HOURLY

    @property
    def budget_hours_text(self) -> str | None:
        minutes = self.project.budget_minutes
        return None if minutes is None else format_minutes(minutes)


def detail_of(session: Session, project: Project) -> ProjectDetail:
    """A project with its hours, and each task with its entries; four queries."""
    tasks = session.exec(select(ProjectTask).where(ProjectTask.project_id == project.id)
                         .order_by(col(ProjectTask.name), col(ProjectTask.id))).all()
    entries = entry_views(session, TimeEntry.project_id == project.id,
                          TimeEntry.customer_id == project.customer_id)
    by_task = hours_by(session, TimeEntry.task_id, TimeEntry.project_id == project.id)
    views = [TaskView(t.id, t.name, t.description, t.hourly_rate, by_task.get(t.id, Hours()),
                      tuple(e for e in entries if e.task_id == t.id)) for t in tasks]
    loose = tuple(e for e in entries if e.task_id is None)
    if loose:
        views.append(TaskView(None, _("No task"), "", None, by_task.get(None, Hours()), loose))
    total = Hours(*(sum(getattr(v.hours, f) for v in views)
                    for f in ("logged", "approved", "unbilled")))
    customer = session.get(Customer, project.customer_id)
    return ProjectDetail(project, customer.display_name, BILLING_METHODS[project.billing_method],
                         STATUS_LABELS[project.status], total, tuple(views))


def project_detail(session: Session, *, customer_id: int, project_id: int) -> ProjectDetail:
    """One of the customer's projects: billing, budget, hours, tasks and their entries."""
    return detail_of(session, owned_project(session, customer_id, project_id))


_HOURS = re.compile(r"^(\d{1,5}):([0-5]\d)$")


def parse_hours(text: str | None, *, field: str, max_minutes: int) -> int | None:
    """Typed hours as minutes ("1:30" or "1.5"); blank is None."""
    cleaned = (text or "").strip().lower().removesuffix("h").strip()
    if not cleaned:
        return None
    match = _HOURS.match(cleaned)
    try:
        minutes = (int(match[1]) * 60 + int(match[2]) if match
                   else int(Decimal(cleaned) * 60))
    except (ArithmeticError, ValueError):  # InvalidOperation, or an Overflow from "1e999999"
        raise InvalidInput(_("Enter hours such as 1:30 or 1.5."), field=field) from None
    if not 0 < minutes <= max_minutes:
        raise InvalidInput(_("Enter between 0:01 and %(most)s hours.",
                             most=format_minutes(max_minutes)), field=field)
    return minutes


def get_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(_("No such project."))
    return project
