"""The billing core: catalog, subscriptions, invoices, credit notes, payments.

Money is integer minor units beside an ISO 4217 code. Invoice status stores open/paid/void;
"partially paid" and "overdue" are derived (services/billing/invoices.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint, text
from sqlalchemy.types import JSON
from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = [
    "Plan", "PlanPrice", "Addon", "AddonPrice", "Coupon", "CouponAmount", "CouponPlan",
    "Subscription", "SubscriptionAddon", "SubscriptionCoupon", "ScheduledChange",
    "Invoice", "InvoiceLine", "CreditNote", "CreditApplication",
    "PaymentMethod", "Payment", "PaymentAllocation", "Reminder", "FixLink",
]


class Plan(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=1000)
    interval_unit: str = Field(default="month", max_length=8)  # day | week | month | year
    interval_count: int = Field(default=1)
    trial_days: int = Field(default=0)
    billing_cycles: int | None = None  # None: until cancelled
    status: str = Field(default="active", max_length=16)  # active | archived
    created_at: datetime = Field(sa_type=UTCDateTime)


class PlanPrice(SQLModel, table=True):
    __tablename__ = "plan_price"
    __table_args__ = (UniqueConstraint("plan_id", "currency"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id")
    currency: str = Field(max_length=3)
    amount: int  # per interval, minor units
    setup_fee: int = Field(default=0)


class Addon(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(default="recurring", max_length=16)  # one_time | recurring
    unit_name: str = Field(default="unit", max_length=32)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AddonPrice(SQLModel, table=True):
    __tablename__ = "addon_price"
    __table_args__ = (UniqueConstraint("addon_id", "currency"),)

    id: int | None = Field(default=None, primary_key=True)
    addon_id: int = Field(foreign_key="addon.id")
    currency: str = Field(max_length=3)
    unit_amount: int


class Coupon(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    discount_type: str = Field(max_length=16)  # percentage | fixed
    percent_bp: int | None = None  # basis points: 1500 is 15.00 %
    duration: str = Field(default="once", max_length=16)  # once | n_terms | forever
    duration_terms: int | None = None
    expires_on: date | None = None
    max_redemptions: int | None = None
    redemptions: int = Field(default=0)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)


class CouponAmount(SQLModel, table=True):
    """A fixed coupon's amount in one currency."""

    __tablename__ = "coupon_amount"
    __table_args__ = (UniqueConstraint("coupon_id", "currency"),)

    id: int | None = Field(default=None, primary_key=True)
    coupon_id: int = Field(foreign_key="coupon.id")
    currency: str = Field(max_length=3)
    amount: int


class CouponPlan(SQLModel, table=True):
    """Plans a coupon applies to; a coupon with no rows applies to every plan."""

    __tablename__ = "coupon_plan"

    coupon_id: int = Field(foreign_key="coupon.id", primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", primary_key=True)


class PaymentMethod(SQLModel, table=True):
    """A saved card: only the gateway's token and what a person needs to recognise it."""

    __tablename__ = "payment_method"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    gateway_token: str = Field(max_length=128, unique=True)
    brand: str = Field(max_length=32)
    last4: str = Field(max_length=4)
    exp_month: int
    exp_year: int
    is_default: bool = Field(default=False)
    status: str = Field(default="active", max_length=16)  # active | removed | single_use
    created_at: datetime = Field(sa_type=UTCDateTime)


class FixLink(SQLModel, table=True):
    """A dunning email's link: pays one invoice and updates one subscription's card, no login.

    Only the SHA-256 of the random token is stored, so a database leak reveals no usable link.
    """

    __tablename__ = "fix_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    customer_id: int = Field(foreign_key="customer.id")
    invoice_id: int = Field(foreign_key="invoice.id")
    subscription_id: int = Field(foreign_key="subscription.id")
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Subscription(SQLModel, table=True):
    __table_args__ = (
        Index("ix_subscription_customer_status", "customer_id", "status"),
        # The tick's due queries over live subscriptions (the big state): renewals and
        # renewal reminders by next billing date, scheduled pauses by pause date.
        Index("ix_subscription_status_next_billing", "status", "next_billing_date"),
        Index("ix_subscription_status_pause_on", "status", "pause_on"),
        # The admin's list of every customer's subscriptions, newest first (issue 31).
        Index("ix_subscription_start", "start_date", "id"),
        # The admin home's subscriptions in dunning, next retry first.
        Index("ix_subscription_status_retry", "status", "next_retry_on", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    customer_id: int = Field(foreign_key="customer.id")
    plan_id: int = Field(foreign_key="plan.id")
    currency: str = Field(max_length=3)
    status: str = Field(max_length=16, index=True)
    expired_reason: str | None = Field(default=None, max_length=16)  # trial_end | term_end
    # Where a non_renewing subscription returns when its scheduled cancellation is removed.
    status_before_cancel: str | None = Field(default=None, max_length=16)
    start_date: date
    trial_start: date | None = None
    trial_end: date | None = None
    current_term_start: date | None = None
    current_term_end: date | None = None
    next_billing_date: date | None = Field(default=None, index=True)
    # The day of month billing is anchored on (31 stays 31 across short months).
    anchor_day: int | None = None
    autocharge: bool = Field(default=False)
    payment_method_id: int | None = Field(default=None, foreign_key="payment_method.id")
    trial_extensions_used: int = Field(default=0)
    cycles_billed: int = Field(default=0)
    pause_on: date | None = None
    resume_on: date | None = None
    dunning_attempts: int = Field(default=0)
    dunning_started_on: date | None = None
    next_retry_on: date | None = None
    # A charge whose outcome decides this subscription's next state is in flight.
    awaiting_payment_id: int | None = None
    # The invoice whose time-based lines pay for the rest of the current term: what the
    # customer holds now, at the price paid for it (DESIGN.md: Proration). None: nothing paid
    # is held (a trial, a change to free items, a cancellation that credited it).
    held_invoice_id: int | None = None
    # Days the current term's prices are spread over; None means the term's own length. Set
    # when a mid-term pause carries the term's unused days past its resume date.
    term_days: int | None = None
    cancelled_on: date | None = None
    cancel_reason: str = Field(default="", max_length=1000)
    # Its MRR and recurring amount per term as last recorded (`billing.mrr.record`, with the
    # movement that changed them; 0 while it does not count): the admin home sums these.
    mrr_num: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    mrr_den: int = Field(default=12)
    mrr_amount: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    # Why a new subscription's first charge failed (status creation_failed, issue 30): the
    # gateway's message, shown until an admin retries or discards it.
    creation_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SubscriptionAddon(SQLModel, table=True):
    __tablename__ = "subscription_addon"
    __table_args__ = (UniqueConstraint("subscription_id", "addon_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id")
    addon_id: int = Field(foreign_key="addon.id")
    quantity: int = Field(default=1)


class SubscriptionCoupon(SQLModel, table=True):
    __tablename__ = "subscription_coupon"
    __table_args__ = (UniqueConstraint("subscription_id", "coupon_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id")
    coupon_id: int = Field(foreign_key="coupon.id")
    terms_used: int = Field(default=0)
    # Counted for the current term: its proration invoices discount with it, counting nothing.
    in_current_term: bool = Field(default=False)
    applied_at: datetime = Field(sa_type=UTCDateTime)


class ScheduledChange(SQLModel, table=True):
    """A plan/addon/coupon change waiting for the subscription's next renewal."""

    __tablename__ = "scheduled_change"

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    kind: str = Field(max_length=32)  # change
    effective_on: date
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)


class Invoice(SQLModel, table=True):
    __table_args__ = (
        Index("ix_invoice_customer_issued", "customer_id", "issue_date", "id"),
        # A status filter keeps the list's newest-first order (and serves the balances).
        Index("ix_invoice_customer_status_issued", "customer_id", "status", "issue_date", "id"),
        Index("ix_invoice_subscription", "subscription_id", "issue_date"),
        # The admin home's receivables (open invoices by due date) and the admin's list of
        # every customer's invoices, newest first (issue 31).
        # Wide enough for the home's sums over open invoices to read the index alone.
        Index("ix_invoice_status_due", "status", "due_date", "currency", "customer_id",
              "total", "amount_paid", "credits_applied"),
        Index("ix_invoice_issued", "issue_date", "id"),
        # Invoices the engine makes on its own are unique per term, so a re-run is harmless; a
        # voided one (a failed creation's, issue 30) leaves its term free to be billed again.
        Index("uq_invoice_engine_term", "subscription_id", "period_start", "kind", unique=True,
              sqlite_where=text("kind IN ('first_term', 'renewal') AND status != 'void'"),
              postgresql_where=text("kind IN ('first_term', 'renewal') AND status != 'void'")),
        UniqueConstraint("customer_id", "idempotency_key"),
        # Releasing the invoices a charge held: few rows ever have one.
        Index("ix_invoice_pending_payment", "pending_payment_id",
              sqlite_where=text("pending_payment_id IS NOT NULL"),
              postgresql_where=text("pending_payment_id IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    customer_id: int = Field(foreign_key="customer.id")
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id")
    kind: str = Field(max_length=16)  # first_term | renewal | proration | reactivation | one_off
    status: str = Field(default="open", max_length=8)  # open | paid | void
    currency: str = Field(max_length=3)
    issue_date: date
    due_date: date
    period_start: date | None = None
    period_end: date | None = None
    subtotal: int = 0
    tax_total: int = 0
    total: int = 0
    # The rate its lines were taxed at, in basis points (None: no tax), as it was on the day.
    tax_rate_bp: int | None = None
    # What the invoice says about its tax: an exemption's reason or the reverse charge's note.
    tax_note: str = Field(default="", max_length=300)
    amount_paid: int = 0  # Σ allocations of succeeded payments
    credits_applied: int = 0  # Σ credit applications
    idempotency_key: str | None = Field(default=None, max_length=64)
    paid_on: date | None = None
    voided_on: date | None = None
    # The one charge in flight for this invoice; a second payer waits for its outcome.
    pending_payment_id: int | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)


class InvoiceLine(SQLModel, table=True):
    __tablename__ = "invoice_line"

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    position: int = 0
    # plan | addon | setup_fee | discount | proration_charge | proration_credit | one_off
    kind: str = Field(max_length=24)
    description: str = Field(max_length=500)
    quantity: int = 1
    unit_amount: int = 0
    amount: int  # before tax; negative for discounts and credits
    tax_amount: int = 0
    # The line's tax as it was decided on the day: its rate (None: no tax), label ("VAT")
    # and basis (the amount the tax was computed on), kept when the customer moves later.
    tax_rate_bp: int | None = None
    tax_label: str = Field(default="", max_length=50)
    tax_basis: int = 0


class CreditNote(SQLModel, table=True):
    __tablename__ = "credit_note"
    __table_args__ = (Index("ix_credit_note_customer_issued", "customer_id", "issue_date"),
                      # The admin home's unused credits across customers (issue 31).
                      Index("ix_credit_note_status", "status", "currency"))

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    customer_id: int = Field(foreign_key="customer.id")
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id")  # where it came from
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id")
    currency: str = Field(max_length=3)
    reason: str = Field(max_length=500)
    total: int
    balance: int  # not yet applied
    issue_date: date
    status: str = Field(default="open", max_length=8)  # open | closed | void
    created_at: datetime = Field(sa_type=UTCDateTime)


class CreditApplication(SQLModel, table=True):
    __tablename__ = "credit_application"

    id: int | None = Field(default=None, primary_key=True)
    credit_note_id: int = Field(foreign_key="credit_note.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    amount: int
    applied_on: date


class Payment(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key"),
        # Payments Made lists newest paid first.
        Index("ix_payment_customer_paid", "customer_id", "paid_on", "id"),
        # The admin home's payments (succeeded by day paid, failed by day tried) and the
        # admin's list of every customer's payments, newest first (issue 31).
        Index("ix_payment_status_paid", "status", "paid_on", "currency", "kind", "amount"),
        Index("ix_payment_status_created", "status", "created_at"),
        Index("ix_payment_created", "created_at", "id"),
        # The tick's sweep for charges left pending: only pending rows are indexed.
        Index("ix_payment_pending_created", "created_at", "id",
              sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
        # A processor's webhook names the intent: its payment is found by that reference.
        Index("ix_payment_gateway_reference", "gateway_reference"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, max_length=32, unique=True)
    customer_id: int = Field(foreign_key="customer.id")
    kind: str = Field(default="payment", max_length=8)  # payment | refund
    status: str = Field(default="pending", max_length=16)  # pending | succeeded | failed
    method: str = Field(default="card", max_length=16)  # card | cash | bank_transfer | cheque
    payment_method_id: int | None = Field(default=None, foreign_key="payment_method.id")
    amount: int
    currency: str = Field(max_length=3)
    idempotency_key: str = Field(max_length=64)
    gateway_reference: str | None = Field(default=None, max_length=128)
    failure_reason: str | None = Field(default=None, max_length=500)
    reference: str = Field(default="", max_length=200)  # offline payments: cheque no. etc.
    refund_of_id: int | None = Field(default=None, foreign_key="payment.id")
    # Why the charge was made, and what to do with its outcome (DESIGN.md: Payments).
    # manual | first_term | trial_end | renewal | dunning_retry | resume | activation | ...
    purpose: str = Field(default="manual", max_length=24)
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id")
    attempt: int = 0
    intent: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Whoever is asking the gateway holds this lease; others wait for the outcome.
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paid_on: date | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Reminder(SQLModel, table=True):
    """One row per reminder sent, so each is sent once whatever reruns."""

    __table_args__ = (UniqueConstraint("subscription_id", "kind", "for_date"),
                      UniqueConstraint("invoice_id", "kind", "for_date"))

    id: int | None = Field(default=None, primary_key=True)
    # A subscription's reminders (trial ending, upcoming renewal) or an invoice's (overdue).
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id")
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id")
    kind: str = Field(max_length=24)  # trial_ending | renewal_upcoming | invoice_overdue
    for_date: date
    created_at: datetime = Field(sa_type=UTCDateTime)


class PaymentAllocation(SQLModel, table=True):
    __tablename__ = "payment_allocation"

    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    amount: int
