"""Recurring revenue history (issue 31): one row per change of a subscription's MRR.

A subscription's MRR is its recurring amount per term ÷ months per term, an exact fraction
kept as numerator / denominator (the denominator is 12 × the plan's interval count, so
monthly, yearly, weekly and daily plans share one). A row holds the MRR before and after the
change; MRR on a day is the sum of (after − before) over the rows up to it, so the movements
reconcile by construction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["MrrMovement"]


class MrrMovement(SQLModel, table=True):
    __tablename__ = "mrr_movement"
    __table_args__ = (
        # MRR on a day and the movements of a window: by day, per currency.
        Index("ix_mrr_movement_moved_on", "moved_on", "currency"),
        # A subscription's last row (its current MRR), and the customer's, for retention.
        Index("ix_mrr_movement_subscription", "subscription_id", "id"),
        Index("ix_mrr_movement_customer", "customer_id", "moved_on"),
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
