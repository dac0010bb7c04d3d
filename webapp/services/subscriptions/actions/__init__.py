"""The customer's subscription actions (issue 9), each switched by its preference.

Activate Subscription, Extend Trial, Cancel (with the retention offer and credit for unused
time), Remove Scheduled Cancellation, Proceed to Reactivate / Reactivate Subscription,
auto-charge, and the Pause & Resume schedule. `available` says which of them a subscription
offers now; every action checks the same rules again (preference, ownership, state machine)
and raises a DomainError with a message a customer can read. Managing plan, addons and coupons
lives in services/subscription_changes.py.
"""

from webapp.services.subscriptions.actions.cancel import (
    END_OF_TERM,
    IMMEDIATELY,
    CancelOptions,
    CancelResult,
    RetentionOffer,
    UnusedTime,
    accept_retention_offer,
    cancel,
    cancel_options,
    remove_cancellation,
)
from webapp.services.subscriptions.actions.common import PaymentInProgress
from webapp.services.subscriptions.actions.facts import (
    Overview,
    PastDue,
    SubscriptionActions,
    TimelineItem,
    available,
    overview,
)
from webapp.services.subscriptions.actions.schedule import (
    AT_TERM_END,
    ON_DATE,
    AutochargeResult,
    AutochargeView,
    NoPaymentMethod,
    PauseOptions,
    PauseResult,
    delete_pause_schedule,
    pause_options,
    schedule_pause,
    set_autocharge,
    use_default_card,
)
from webapp.services.subscriptions.actions.terms import (
    ACTIVATE,
    DONE,
    NOT_DONE,
    PURPOSES,
    REACTIVATE,
    PriceChanged,
    TermStarted,
    TermSummary,
    TrialExtension,
    activate,
    activation_summary,
    extend_trial,
    reactivate,
    reactivation_summary,
)

__all__ = [
    "END_OF_TERM", "IMMEDIATELY", "CancelOptions", "CancelResult", "RetentionOffer",
    "UnusedTime", "accept_retention_offer", "cancel", "cancel_options", "remove_cancellation",
    "PaymentInProgress", "Overview", "PastDue", "SubscriptionActions", "TimelineItem", "available",
    "overview", "AutochargeResult", "AutochargeView", "NoPaymentMethod", "PauseOptions",
    "PauseResult", "delete_pause_schedule", "pause_options", "schedule_pause", "set_autocharge",
    "use_default_card", "AT_TERM_END", "ON_DATE",
    "ACTIVATE", "DONE", "NOT_DONE", "PURPOSES", "REACTIVATE", "PriceChanged", "TermStarted",
    "TermSummary", "TrialExtension", "activate", "activation_summary",
    "extend_trial", "reactivate", "reactivation_summary",
]
