"""What every subscription action shares: the day, the preferences, ownership, confirmations."""

from __future__ import annotations

from webapp.models import Subscription
from webapp.services.billing.context import (
    Context,
    owned_subscription,
)
from webapp.services.core import preferences, state_machine
from webapp.services.core.errors import DomainError
from webapp.services.core.i18n import _

TRIAL_EXTENDED = "trial_extended"
CANCELLATION_REMOVED = "cancellation_removed"
RETENTION_ACCEPTED = "retention_offer_accepted"
AUTOCHARGE_CHANGED = "autocharge_changed"
PAUSE_SCHEDULED = "pause_scheduled"
PAUSE_SCHEDULE_DELETED = "pause_schedule_deleted"


class PaymentInProgress(DomainError):
    """A charge whose outcome decides this subscription's next state is still running."""

    def __init__(self) -> None:
        super().__init__(_("A payment for this subscription is being processed. "
                           "Wait a moment, then reload the page."))


def owned(ctx: Context, customer_id: int, subscription_id: int) -> Subscription:
    """The customer's subscription (NotFound otherwise), refused while a charge decides it."""
    sub = owned_subscription(ctx.session, customer_id, subscription_id)
    if sub.awaiting_payment_id is not None:
        raise PaymentInProgress()
    return sub


def cancel_permission(sub: Subscription) -> str:
    """Trials (also one already set to end) are cancelled under the trial switch."""
    was_trial = sub.status == "trial" or (
        sub.status == "non_renewing" and sub.status_before_cancel == "trial")
    return preferences.TRIAL_CANCEL if was_trial else preferences.SUBSCRIPTION_CANCEL


def billable(sub: Subscription) -> bool:
    """Not finished: the subscription can still bill (it could be cancelled now)."""
    return state_machine.allowed(sub.status, "cancel_now")


