"""Estimates, projects and timesheets, comments on them, reviews and customers' messages.

Every row carries `customer_id`, so each customer query is scoped by one column (time entries
and comments too, although their project or estimate would tell it).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["Estimate", "EstimateLine", "Project", "ProjectTask", "TimeEntry", "Comment",
           "Review", "CustomerMessage"]


class Estimate(SQLModel, table=True):
    """A quote the organization sends a customer: draft -> sent -> accepted | declined.

    "Expired" is derived (sent and past its expiry date), like an invoice's "overdue".
    """

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    currency: str = Field(max_length=3)
    status: str = Field(default="draft", max_length=16)  # draft | sent | accepted | declined
    subject: str = Field(default="", max_length=200)
    issue_date: date
    expiry_date: date
    notes: str = Field(default="", sa_type=Text)
    subtotal: int = Field(default=0)
    tax_total: int = Field(default=0)
    total: int = Field(default=0)
    tax_rate_bp: int | None = Field(default=None)  # its lines' rate, as on invoices
    tax_note: str = Field(default="", max_length=300)  # an exemption, the reverse charge
    decision_reason: str = Field(default="", sa_type=Text)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class EstimateLine(SQLModel, table=True):
    """One line of an estimate, priced like an invoice line (tax per line, half-up)."""

    __tablename__ = "estimate_line"

    id: int | None = Field(default=None, primary_key=True)
    estimate_id: int = Field(foreign_key="estimate.id", index=True)
    position: int = Field(default=0)
    description: str = Field(max_length=500)
    quantity: int = Field(default=1)
    unit_amount: int
    amount: int
    tax_amount: int = Field(default=0)
    tax_rate_bp: int | None = Field(default=None)  # as on invoice lines
    tax_label: str = Field(default="", max_length=50)
    tax_basis: int = Field(default=0)


class Project(SQLModel, table=True):
    """Work done for a customer, billed fixed, hourly by project or hourly by task."""

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", sa_type=Text)
    status: str = Field(default="active", max_length=16)  # active | completed
    billing_method: str = Field(max_length=16)  # fixed | project_hourly | task_hourly
    currency: str = Field(max_length=3)
    fixed_amount: int | None = Field(default=None)  # fixed: the project's price
    hourly_rate: int | None = Field(default=None)  # project_hourly: per hour
    budget_minutes: int | None = Field(default=None)
    budget_amount: int | None = Field(default=None)
    # The customer approves or disapproves time entries in the portal.
    client_approval: bool = Field(default=False)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ProjectTask(SQLModel, table=True):
    """A task of a project; with task_hourly billing each task has its own rate."""

    __tablename__ = "project_task"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    customer_id: int = Field(foreign_key="customer.id")
    name: str = Field(max_length=200)
    description: str = Field(default="", sa_type=Text)
    hourly_rate: int | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TimeEntry(SQLModel, table=True):
    """Time logged on a project: pending -> approved (locked) | disapproved (with a reason)."""

    __tablename__ = "time_entry"
    __table_args__ = (Index("ix_time_entry_customer_date", "customer_id", "work_date"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    task_id: int | None = Field(default=None, foreign_key="project_task.id")
    customer_id: int = Field(foreign_key="customer.id")
    work_date: date
    minutes: int
    description: str = Field(default="", max_length=500)
    billable: bool = Field(default=True)
    billed: bool = Field(default=False)
    approval: str = Field(default="pending", max_length=16)  # pending | approved | disapproved
    disapproval_reason: str = Field(default="", sa_type=Text)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Comment(SQLModel, table=True):
    """A message in the thread of an estimate or a time entry, by the customer or an admin."""

    __table_args__ = (Index("ix_comment_subject", "subject_type", "subject_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_type: str = Field(max_length=16)  # estimate | time_entry
    subject_id: int
    customer_id: int = Field(foreign_key="customer.id", index=True)
    author_user_id: int | None = Field(default=None, foreign_key="user.id")
    author_role: str = Field(max_length=16)  # customer | admin
    author_label: str = Field(max_length=254)
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Review(SQLModel, table=True):
    """A customer's review of the organization: private to the organization."""

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    rating: int  # 1-5
    body: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class CustomerMessage(SQLModel, table=True):
    """"Send us an email": kept with its attachment, which the outbox attaches when sending."""

    __tablename__ = "customer_message"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    subject: str = Field(max_length=200)
    body: str = Field(sa_type=Text)
    attachment_name: str = Field(default="", max_length=200)
    attachment_type: str = Field(default="", max_length=100)
    attachment: bytes | None = Field(default=None, sa_type=LargeBinary)
    outbox_message_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
