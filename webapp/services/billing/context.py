"""What a subscription's billing outcome needs around it: the day and the organization's
settings (`Context`), the customer's subscription, and the confirmation a customer and the
organization get. Shared by the customer's actions (subscriptions/) and the outcomes of their
charges (payment_effects), so an outcome never reaches back up into subscriptions/.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from webapp.models import Customer, Organization, Preferences, Subscription
from webapp.services.core import (
    dates,
    i18n,
    locales,
    notifications,
    outbox,
    preferences,
    state_machine,
)
from webapp.services.core.dates import Dated, Moment, format_day
from webapp.services.core.errors import NotFound
from webapp.services.core.i18n import N_, _
from webapp.services.core.money import format_money

# Admin-list events (notifications.EMAILED_EVENTS decides which are also emailed).
ACTIVATED = "subscription_activated"


REACTIVATED = "subscription_reactivated"


PAYMENT_NOT_APPLIED = "payment_not_applied"


@dataclass(frozen=True)
class Context:
    session: Session
    at: Moment  # the instant and the organization's date at it
    org: Organization
    prefs: Preferences

    @property
    def now(self) -> datetime:
        return self.at.now

    @property
    def today(self) -> date:
        return self.at.today

    def money(self, amount: int, currency: str) -> str:
        """An amount in the organization's own text (its notifications)."""
        return format_money(amount, currency, self.org.locale)

    def day(self, value: date | None) -> str:
        """A date in the organization's own text (its notifications)."""
        return format_day(value, self.org.locale)

    def say(self, message: Dated | str) -> str:
        """A message as the organization's notifications store it (its own locale); the
        customer's mail keeps the message itself (`confirm`): in the organization's language
        too, whoever's request writes it."""
        with i18n.use_locale(self.org.locale):
            return dates.say(message, self.org.locale)


def context(session: Session, now: datetime) -> Context:
    org = session.get(Organization, 1)
    return Context(session, Moment.at(now, org.timezone), org, preferences.load(session))


def customer_locale(ctx: Context, sub: Subscription) -> str:
    """The locale the subscription's customer reads their mail in (a stored subject's)."""
    customer = ctx.session.get(Customer, sub.customer_id)
    return locales.for_customer(customer.locale, ctx.org.locale)


def confirm(ctx: Context, sub: Subscription, *, event: str, subject: Dated | object,
            message: Dated | str, details: Iterable[Dated | str] = (), org_title: str,
            org_body: str, org_params: Mapping[str, Any] | None = None) -> None:
    """Email the customer a confirmation and tell the organization, in this transaction.
    The message and details keep their dates and amounts as values (written in the
    customer's locale when the mail is sent); the subject, a stored header, is written in
    that locale now. `org_title` and `org_body` (what the customer did: "extended the trial
    by %(days)s days.") are message ids, `org_params` their values (notifications.notify_org):
    each admin reads them in their own language."""
    customer = ctx.session.get(Customer, sub.customer_id)
    state_machine.changed(ctx.session, sub.id, now=ctx.now)  # a coupon may have moved its MRR
    locale = customer_locale(ctx, sub)
    with i18n.use_locale(locale):  # a subject marked with `_`: in their language, too
        subject = str(dates.say(subject, locale))
    outbox.enqueue(ctx.session, template="subscription_update", to=customer.email,
                   subject=subject, customer_id=customer.id,
                   context={"name": customer.display_name, "number": sub.number,
                            "message": dates.as_json(message),
                            "details": [dates.as_json(line) for line in details],
                            "page": outbox.page("subscriptions.detail", subscription_id=sub.id)}, now=ctx.now)
    org_params = dict(org_params or {})
    notifications.notify_org(ctx.session, event=event, title=org_title,
                             body=N_("%(customer)s: %(text)s"), now=ctx.now,
                             customer_id=customer.id,
                             params={**org_params, "customer": customer.display_name,
                                     "text": notifications.message(org_body, **org_params)})
    # Every confirmation is of the customer's own action: the audit trail has it too.
    details = {"number": sub.number, "title": org_title, "body": org_body,
               "status": sub.status,
               notifications.MESSAGE_PARAMS: notifications.stored_params(ctx.session, org_params)}
    if sub.status in ("cancelled", "non_renewing") and sub.cancel_reason:
        details["reason"] = sub.cancel_reason
    notifications.record_customer_action(ctx.session, event=event, customer_id=customer.id,
                                         subject_type="subscription", subject_id=sub.id,
                                         details=details, now=ctx.now)


def owned_subscription(session: Session, customer_id: int, subscription_id: int) -> Subscription:
    """The customer's subscription, or NotFound (missing and not-yours answer alike)."""
    sub = session.get(Subscription, subscription_id)
    if sub is None or sub.customer_id != customer_id:
        raise NotFound(_("No such subscription."))
    return sub
