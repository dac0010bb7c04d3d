"""What every subscription action shares: the day, the preferences, ownership, confirmations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from webapp.models import Customer, Organization, Preferences, Subscription
from webapp.services.core import notifications, outbox, preferences, state_machine
from webapp.services.core.dates import today_in
from webapp.services.core.errors import DomainError
from webapp.services.core.money import format_money
from webapp.services.subscriptions.views import owned_subscription

# Admin-list events (notifications.EMAILED_EVENTS decides which are also emailed).
ACTIVATED = "subscription_activated"
TRIAL_EXTENDED = "trial_extended"
CANCELLATION_REMOVED = "cancellation_removed"
RETENTION_ACCEPTED = "retention_offer_accepted"
REACTIVATED = "subscription_reactivated"
AUTOCHARGE_CHANGED = "autocharge_changed"
PAUSE_SCHEDULED = "pause_scheduled"
PAUSE_SCHEDULE_DELETED = "pause_schedule_deleted"
PAYMENT_NOT_APPLIED = "payment_not_applied"


class PaymentInProgress(DomainError):
    """A charge whose outcome decides this subscription's next state is still running."""

    def __init__(self) -> None:
        super().__init__("A payment for this subscription is being processed. "
                         "Wait a moment, then reload the page.")


@dataclass(frozen=True)
class Context:
    session: Session
    now: datetime
    today: date
    org: Organization
    prefs: Preferences

    def money(self, amount: int, currency: str) -> str:
        return format_money(amount, currency, self.org.locale)


def context(session: Session, now: datetime) -> Context:
    org = session.get(Organization, 1)
    return Context(session, now, today_in(org.timezone, now), org, preferences.load(session))


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


def confirm(ctx: Context, sub: Subscription, *, event: str, subject: str, message: str,
            details: Iterable[str] = (), org_title: str, org_body: str) -> None:
    """Email the customer a confirmation and tell the organization, in this transaction."""
    customer = ctx.session.get(Customer, sub.customer_id)
    outbox.enqueue(ctx.session, template="subscription_update", to=customer.email,
                   subject=subject, customer_id=customer.id,
                   context={"name": customer.display_name, "number": sub.number,
                            "message": message, "details": list(details),
                            "path": f"/subscriptions/{sub.id}"}, now=ctx.now)
    notifications.notify_org(ctx.session, event=event, title=org_title,
                             body=f"{customer.display_name}: {org_body}", now=ctx.now,
                             customer_id=customer.id)
