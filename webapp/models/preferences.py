"""The organization's portal preferences: what customers may see and do (DESIGN.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlalchemy.types import JSON
from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["Preferences", "DEFAULT_CANCELLATION_REASONS", "DEFAULT_DUNNING_RETRY_DAYS",
           "DEFAULT_OVERDUE_REMINDER_DAYS"]

DEFAULT_CANCELLATION_REASONS: tuple[str, ...] = (
    "It is too expensive",
    "It is missing features I need",
    "I am moving to another product",
    "I no longer need it",
    "I had technical problems",
    "Other",
)
DEFAULT_DUNNING_RETRY_DAYS: tuple[int, ...] = (1, 3, 7)
DEFAULT_OVERDUE_REMINDER_DAYS: tuple[int, ...] = (1, 7, 14)


class Preferences(SQLModel, table=True):
    """One row (organization_id 1). Read it through services/core/preferences/, never directly.

    Defaults are a new organization's; the demo organization turns every switch on.
    """

    organization_id: int = Field(default=1, primary_key=True, foreign_key="organization.id")

    # Modules: off hides the sidebar entry and makes every URL of the module answer 404.
    module_subscriptions: bool = Field(default=True)
    module_invoices: bool = Field(default=True)
    module_payments: bool = Field(default=True)  # payments made
    module_statements: bool = Field(default=True)
    module_payment_methods: bool = Field(default=True)
    module_profile: bool = Field(default=True)
    module_estimates: bool = Field(default=True)
    module_projects: bool = Field(default=True)
    module_timesheets: bool = Field(default=True)

    # Trials.
    trial_activate: bool = Field(default=False)
    trial_extend: bool = Field(default=False)
    trial_max_extensions: int = Field(default=1)  # 0-5
    trial_cancel: bool = Field(default=False)

    # Edit subscription.
    edit_subscription: bool = Field(default=False)
    edit_change_plan: bool = Field(default=True)
    edit_change_addons: bool = Field(default=True)
    edit_change_coupons: bool = Field(default=True)
    edit_timing: str = Field(default="customer_choice", max_length=16)  # immediately | end_of_term | customer_choice
    # How a change is billed (issue 30): prorate | no_proration_upgrade_now | end_of_term_only
    proration: str = Field(default="prorate", max_length=32)

    autocharge_toggle: bool = Field(default=False)

    # Pause and resume.
    pause_resume: bool = Field(default=False)
    pause_max_days: int = Field(default=90)  # 1-365

    # Cancellation.
    cancel_subscription: bool = Field(default=False)
    cancel_timing: str = Field(default="both", max_length=16)  # immediately | end_of_term | both
    cancel_credit_unused: bool = Field(default=True)
    cancellation_reasons: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CANCELLATION_REASONS),
        sa_column=Column(JSON, nullable=False))
    retention_coupon_code: str | None = Field(default=None, max_length=64)
    retention_offer_text: str = Field(default="", max_length=500)

    reactivation: bool = Field(default=False)

    # Documents.
    forward_documents: bool = Field(default=True)
    forward_max_recipients_per_hour: int = Field(default=20)

    update_customer_details: bool = Field(default=True)
    reviews: bool = Field(default=True)

    # Payments.
    add_payment_methods: bool = Field(default=True)
    partial_payments: bool = Field(default=False)

    # Notifications.
    notify_organization: bool = Field(default=True)
    email_customer_on_reply: bool = Field(default=True)

    # Dunning: retry a failed renewal charge this many days after the failure, then act.
    dunning_retry_days: list[int] = Field(
        default_factory=lambda: list(DEFAULT_DUNNING_RETRY_DAYS),
        sa_column=Column(JSON, nullable=False))
    dunning_final_action: str = Field(default="unpaid", max_length=16)  # unpaid | cancelled

    # Reminders: days before the event.
    reminder_trial_ending_days: int = Field(default=3)
    reminder_renewal_days: int = Field(default=7)

    # Invoices nobody charges automatically: remind this many days past their due date, and
    # after `overdue_action_days` past due, act on the subscription (as dunning's final action).
    overdue_reminder_days: list[int] = Field(
        default_factory=lambda: list(DEFAULT_OVERDUE_REMINDER_DAYS),
        sa_column=Column(JSON, nullable=False))
    overdue_action: str = Field(default="nothing", max_length=16)  # nothing | unpaid | cancelled
    overdue_action_days: int = Field(default=30)

    # Portal access: new customers get a portal login automatically.
    portal_auto_enable: bool = Field(default=False)

    # Signed-in sessions end this long after sign-in, or after this long without a request.
    session_lifetime_days: int = Field(default=30)  # 1-365
    session_idle_days: int = Field(default=7)  # 1-90

    # Two-factor sign-in: off | optional | admins (required for admins) | everyone; and
    # whether a sign-in from a browser new to the account is emailed to its owner.
    two_factor_policy: str = Field(default="optional", max_length=16)
    two_factor_new_device_email: bool = Field(default=False)

    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
