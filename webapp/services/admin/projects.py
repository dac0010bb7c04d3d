"""The organization's side of projects: create and edit projects and their tasks.

Amounts and hours arrive as typed and are parsed here in the project's currency, so a bad
value comes back as InvalidInput on its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from webapp.models import Customer, Project, ProjectTask, TimeEntry
from webapp.services.core.errors import InvalidInput, NotFound
from webapp.services.core.i18n import _
from webapp.services.core.money import parse_money, to_decimal
from webapp.services.engagement.projects import (
    BILLING_METHODS,
    FIXED,
    PROJECT_HOURLY,
    STATUS_LABELS,
    TASK_HOURLY,
    Hours,
    format_minutes,
    get_project,
    hours_by,
    parse_hours,
)


def parse_amount(text: str | None, currency: str, *, field: str) -> int | None:
    """A typed amount in minor units of `currency`; blank is None."""
    if not (text or "").strip():
        return None
    try:
        amount = parse_money(text, currency)
    except ValueError as exc:
        raise InvalidInput(str(exc), field=field) from None
    if amount < 0:
        raise InvalidInput(_("Enter an amount of zero or more."), field=field)
    return amount


@dataclass(frozen=True)
class ProjectInput:
    """The admin's form as typed: amounts and hours are parsed in the project's currency."""

    name: str
    description: str
    status: str
    billing_method: str
    fixed_amount: str
    hourly_rate: str
    budget_hours: str
    budget_amount: str
    client_approval: bool

    @classmethod
    def of(cls, project: Project) -> ProjectInput:
        """A saved project as its edit form shows it."""
        def amount(value: int | None) -> str:
            return "" if value is None else typed_amount(value, project.currency)
        hours = project.budget_minutes
        return cls(project.name, project.description, project.status, project.billing_method,
                   amount(project.fixed_amount), amount(project.hourly_rate),
                   "" if hours is None else format_minutes(hours), amount(project.budget_amount),
                   project.client_approval)


def typed_amount(amount: int, currency: str) -> str:
    """Minor units as a form shows them: 9500 USD -> "95.00"."""
    return f"{to_decimal(amount, currency):f}"


@dataclass(frozen=True)
class TaskInput:
    name: str
    description: str
    hourly_rate: str

    @classmethod
    def of(cls, task: ProjectTask | None, currency: str) -> TaskInput:
        if task is None:
            return cls("", "", "")
        return cls(task.name, task.description,
                   "" if task.hourly_rate is None else typed_amount(task.hourly_rate, currency))


@dataclass(frozen=True)
class AdminProjectRow:
    project: Project
    customer_name: str
    billing_label: str
    status_label: str
    hours: Hours


def admin_projects(session: Session, *,
                   customer_id: int | None = None) -> tuple[AdminProjectRow, ...]:
    """Every customer's projects, active first; two queries."""
    query = select(Project, Customer.display_name).join(Customer,
                                                        Customer.id == Project.customer_id)
    if customer_id is not None:
        query = query.where(Project.customer_id == customer_id)
    rows = session.exec(query.order_by(col(Project.status), col(Project.name))).all()
    hours = hours_by(session, TimeEntry.project_id,
                     col(TimeEntry.project_id).in_([p.id for p, _ in rows]))
    return tuple(AdminProjectRow(p, name, BILLING_METHODS[p.billing_method],
                                 STATUS_LABELS[p.status], hours.get(p.id, Hours()))
                 for p, name in rows)


def _values(data: ProjectInput, currency: str) -> dict:
    """The project's columns from the typed input, or InvalidInput on the first bad field."""
    name = " ".join((data.name or "").split())
    if not name:
        raise InvalidInput(_("Enter the project's name."), field="name")
    if data.billing_method not in BILLING_METHODS:
        raise InvalidInput(_("Choose a billing method."), field="billing_method")
    if data.status not in STATUS_LABELS:
        raise InvalidInput(_("Choose a status."), field="status")
    values = {
        "name": name[:200], "description": (data.description or "").strip(),
        "status": data.status, "billing_method": data.billing_method,
        "client_approval": data.client_approval,
        "fixed_amount": parse_amount(data.fixed_amount, currency, field="fixed_amount"),
        "hourly_rate": parse_amount(data.hourly_rate, currency, field="hourly_rate"),
        "budget_amount": parse_amount(data.budget_amount, currency, field="budget_amount"),
        "budget_minutes": parse_hours(data.budget_hours, field="budget_hours",
                                      max_minutes=100_000 * 60)}
    if data.billing_method == FIXED and values["fixed_amount"] is None:
        raise InvalidInput(_("A fixed-cost project needs its price."), field="fixed_amount")
    if data.billing_method == PROJECT_HOURLY and values["hourly_rate"] is None:
        raise InvalidInput(_("Hourly billing by project needs an hourly rate."),
                           field="hourly_rate")
    return values


def create_project(session: Session, *, customer_id: int | None, data: ProjectInput,
                   now: datetime) -> Project:
    """A project for a customer, in their currency."""
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer is None:
        raise InvalidInput(_("Choose a customer."), field="customer_id")
    project = Project(customer_id=customer.id, currency=customer.currency, created_at=now,
                      updated_at=now, **_values(data, customer.currency))
    session.add(project)
    session.flush()
    return project


def update_project(session: Session, *, project_id: int, data: ProjectInput,
                   now: datetime) -> Project:
    """Change a project's details, billing, budget or client approval."""
    project = get_project(session, project_id)
    for name, value in _values(data, project.currency).items():
        setattr(project, name, value)
    project.updated_at = now
    session.flush()
    return project


def get_task(session: Session, project_id: int, task_id: int) -> ProjectTask:
    task = session.get(ProjectTask, task_id)
    if task is None or task.project_id != project_id:
        raise NotFound(_("No such task."))
    return task


def save_task(session: Session, *, project_id: int, task_id: int | None, name: str,
              description: str, hourly_rate: str, now: datetime) -> ProjectTask:
    """Add a task to a project, or change one of its tasks."""
    project = get_project(session, project_id)
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Enter the task's name."), field="name")
    rate = parse_amount(hourly_rate, project.currency, field="hourly_rate")
    if project.billing_method == TASK_HOURLY and rate is None:
        raise InvalidInput(_("Hourly billing by task needs each task's rate."),
                           field="hourly_rate")
    if task_id is None:
        task = ProjectTask(project_id=project.id, customer_id=project.customer_id, name=name,
                           created_at=now)
        session.add(task)
    else:
        task = get_task(session, project.id, task_id)
    task.name, task.description, task.hourly_rate = name[:200], (description or "").strip(), rate
    session.flush()
    return task


def tasks_of(session: Session, project_id: int) -> tuple[ProjectTask, ...]:
    """A project's tasks by name (for the entry form)."""
    return tuple(session.exec(select(ProjectTask).where(ProjectTask.project_id == project_id)
                              .order_by(col(ProjectTask.name), col(ProjectTask.id))))
