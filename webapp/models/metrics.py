"""Recurring revenue history (issue 31): one row per change of a subscription's MRR.

A subscription's MRR is its recurring amount per term ÷ months per term, an exact fraction
kept as numerator / denominator (the denominator is 12 × the plan's interval count, so
monthly, yearly, weekly and daily plans share one). A row holds the MRR before and after the
change; MRR on a day is the sum of (after − before) over the rows up to it, so the movements
reconcile by construction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["DataVersion", "MrrCohort", "MrrCohortDay", "MrrCohortTotal", "MrrMonth", "MrrMovement"]


class MrrMovement(SQLModel, table=True):
    __tablename__ = "mrr_movement"
    __table_args__ = (
        # MRR on a day and the movements of a window: by day, per currency.
        Index("ix_mrr_movement_moved_on", "moved_on", "currency"),
        # A subscription's last row (its current MRR), and the customer's, for retention.
        Index("ix_mrr_movement_subscription", "subscription_id", "id"),
        Index("ix_mrr_movement_customer", "customer_id", "moved_on"),
        # The movements since a retention cohort was taken (`admin.metrics.retention`).
        Index("ix_mrr_movement_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id")
    customer_id: int = Field(foreign_key="customer.id")
    currency: str = Field(max_length=3)
    moved_on: date  # the organization's date of the change
    kind: str = Field(max_length=16)  # new | expansion | contraction | churn | reactivation
    before_num: int = Field(sa_column=Column(BigInteger, nullable=False))
    before_den: int
    after_num: int = Field(sa_column=Column(BigInteger, nullable=False))
    after_den: int
    # The recurring amount per term before and after the change (net of ongoing coupons,
    # before tax; 0 while it does not count): Σ after − before is a subscription's amount now.
    before_amount: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    after_amount: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    # Rebuilt from invoices for subscriptions older than this table (an approximation).
    estimated: bool = Field(default=False)
    created_at: datetime = Field(sa_type=UTCDateTime)


class MrrMonth(SQLModel, table=True):
    """The movements of a month added up, per currency, kind and denominators, kept in the
    same transaction as the rows they add up (`billing.mrr.record`): the admin home reads a few
    hundred of these instead of every movement."""

    __tablename__ = "mrr_month"
    __table_args__ = (UniqueConstraint("month", "currency", "kind", "after_den", "before_den"),)

    id: int | None = Field(default=None, primary_key=True)
    month: date  # its first day
    currency: str = Field(max_length=3)
    kind: str = Field(max_length=16)
    after_den: int
    before_den: int
    after_sum: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    before_sum: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    movements: int = Field(default=0)


class MrrCohortDay(SQLModel, table=True):
    """Net revenue retention's cohort for a day was taken (`admin.metrics.retention`): its
    MRR then and now were summed over the movements up to `last_movement_id` written up to
    `cutoff`; the views that day add the others."""

    __tablename__ = "mrr_cohort_day"

    day: date = Field(primary_key=True)
    last_movement_id: int = Field(default=0)
    cutoff: datetime = Field(sa_type=UTCDateTime)
    made_at: datetime = Field(sa_type=UTCDateTime)


class MrrCohortTotal(SQLModel, table=True):
    """A day's cohort's MRR a year back and when it was taken, per currency (exact
    fractions)."""

    __tablename__ = "mrr_cohort_total"

    day: date = Field(primary_key=True, foreign_key="mrr_cohort_day.day")
    currency: str = Field(primary_key=True, max_length=3)
    then_num: int = Field(sa_column=Column(BigInteger, nullable=False))
    then_den: int = Field(sa_column=Column(BigInteger, nullable=False))
    now_num: int = Field(sa_column=Column(BigInteger, nullable=False))
    now_den: int = Field(sa_column=Column(BigInteger, nullable=False))


class MrrCohort(SQLModel, table=True):
    """The customers who had MRR 12 months before `day`, with that MRR (an exact fraction):
    it cannot change during the day (it is about a day a year back), so it is read once a
    day rather than summed from every movement on every view."""

    __tablename__ = "mrr_cohort"
    __table_args__ = (UniqueConstraint("day", "customer_id", "currency"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(foreign_key="mrr_cohort_day.day")
    customer_id: int = Field(foreign_key="customer.id")
    currency: str = Field(max_length=3)
    then_num: int = Field(sa_column=Column(BigInteger, nullable=False))
    then_den: int


class DataVersion(SQLModel, table=True):
    """The database's data version where no Redis holds it (webapp/data_version.py): one
    row, moved on by every transaction that writes, inside that transaction, so the number
    and the data it stands for commit together. The admin home's figures snapshot is keyed
    by it."""

    __tablename__ = "data_version"

    id: int = Field(primary_key=True)
    version: int = Field(sa_column=Column(BigInteger, nullable=False))
