"""Telling the organization what happened in the portal: the admin list, and email for some.

Features call `notify_org` with one of the event names below. Every call adds an admin
notification; the events DESIGN.md lists as emailed also write an outbox email to the
organization's primary contact while "notify organization of portal activity" is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, select

from webapp.models import Customer, Notification, Organization
from webapp.services.core import audit, bulk, outbox, preferences
from webapp.services.core.errors import NotFound

# Emailed to the organization (when the preference is on).
PAYMENT_RECEIVED = "payment_received"
DUNNING_FINAL_ACTION = "dunning_final_action"  # failed charges reached the final action
SUBSCRIPTION_CANCELLED = "subscription_cancelled"
REVIEW_SUBMITTED = "review_submitted"
ESTIMATE_ACCEPTED = "estimate_accepted"
ESTIMATE_DECLINED = "estimate_declined"
MESSAGE_RECEIVED = "message_received"
PROFILE_CHANGED = "profile_changed"
EMAILED_EVENTS: frozenset[str] = frozenset({
    PAYMENT_RECEIVED, DUNNING_FINAL_ACTION, SUBSCRIPTION_CANCELLED, REVIEW_SUBMITTED,
    ESTIMATE_ACCEPTED, ESTIMATE_DECLINED, MESSAGE_RECEIVED, PROFILE_CHANGED,
})
# Any other event name (e.g. "subscription_paused") goes to the admin list only.
# Events only a customer's own action causes (engagement's names are written out: core knows
# no feature): each is an audit entry too, so one trail says who did what (issue 31). A
# customer's subscription actions are recorded by billing.context.confirm.
CUSTOMER_ACTIONS: frozenset[str] = frozenset({
    REVIEW_SUBMITTED, ESTIMATE_ACCEPTED, ESTIMATE_DECLINED, "customer_message", "comment_added",
    "time_entries_decided",
})
CUSTOMER_ACTION_PREFIX = "customer."  # an audit entry's action: "customer.review_submitted"
# A charge that succeeded after the portal had marked it failed (services/charges.py).
LATE_PAYMENT = "late_payment"

PER_PAGE = 50


def notify_org(session: Session, *, event: str, title: str, body: str, now: datetime,
               customer_id: int | None = None) -> Notification:
    """Add an admin notification; email the organization too for the events it wants mailed."""
    note = Notification(event=event, title=title, body=body, customer_id=customer_id,
                        created_at=now)
    session.add(note)
    session.flush()
    if event in CUSTOMER_ACTIONS and customer_id is not None:
        record_customer_action(session, event=event, customer_id=customer_id,
                               subject_type="customer", subject_id=customer_id,
                               details={"title": title, "body": body}, now=now)
    org = _mailed_organization(session, event)
    if org is not None:
        customer = session.get(Customer, customer_id) if customer_id is not None else None
        # A reply goes straight to the customer the notification is about.
        outbox.enqueue(session, template="org_notification", to=org.email, subject=title,
                       context={"title": title, "body": body, "event": event},
                       reply_to=customer.email if customer else None, now=now)
    return note


def record_customer_action(session: Session, *, event: str, customer_id: int, subject_type: str,
                           subject_id: int | None, details: dict, now: datetime) -> None:
    """The audit entry of a customer's action: the customer as the actor, the event as the
    action ("customer.<event>"), what the organization was told as its details."""
    customer = session.get(Customer, customer_id)
    audit.record(session, actor_user_id=None,
                 actor_label=customer.display_name if customer else "A customer",
                 action=CUSTOMER_ACTION_PREFIX + event, subject_type=subject_type,
                 subject_id=subject_id, before={},
                 after={k: (v[:1000] if isinstance(v, str) else v) for k, v in details.items()},
                 now=now, customer_id=customer_id)


def notify_org_many(session: Session, *, event: str, items: list[tuple[str, str, int | None]],
                    now: datetime, emails: dict[int, str] | None = None) -> None:
    """`notify_org` for many (title, body, customer_id) of one event: one INSERT per table.
    `emails` may give the customers' addresses (the replies' address) when the caller has them."""
    if not items:
        return
    bulk.insert(session, Notification.__table__, [
        {"event": event, "title": title, "body": body, "customer_id": customer_id,
         "created_at": now} for title, body, customer_id in items])
    org = _mailed_organization(session, event)
    if org is None:
        return
    customer_ids = {customer_id for _, _, customer_id in items if customer_id is not None}
    if emails is None or not customer_ids <= emails.keys():
        emails = dict(session.exec(select(Customer.id, Customer.email).where(
            Customer.id.in_(customer_ids))).all()) if customer_ids else {}
    outbox.enqueue_many(session, [
        {"template": "org_notification", "to": org.email, "subject": title,
         "context": {"title": title, "body": body, "event": event},
         "reply_to": emails.get(customer_id)} for title, body, customer_id in items], now=now)


def _mailed_organization(session: Session, event: str) -> Organization | None:
    """The organization, when `event` is one it is emailed about and it wants the emails."""
    if event not in EMAILED_EVENTS:
        return None
    org = session.get(Organization, 1)
    if org is None or not org.email or not preferences.load(session).notify_organization:
        return None
    return org


@dataclass(frozen=True)
class NotificationView:
    id: int
    event: str
    title: str
    body: str
    customer_id: int | None
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None

    @classmethod
    def of(cls, note: Notification) -> NotificationView:
        return cls(note.id, note.event, note.title, note.body, note.customer_id,
                   note.created_at, note.read_at)


@dataclass(frozen=True)
class NotificationPage:
    items: tuple[NotificationView, ...]
    page: int
    has_next: bool
    unread_count: int

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.has_next else None


def list_page(session: Session, *, page: int = 1) -> NotificationPage:
    """Newest first, PER_PAGE at a time, with how many are unread in all."""
    page = max(page, 1)
    rows = session.exec(select(Notification)
                        .order_by(Notification.created_at.desc(), Notification.id.desc())
                        .offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    unread = session.exec(select(func.count()).select_from(Notification)
                          .where(Notification.read_at.is_(None))).one()
    return NotificationPage(tuple(NotificationView.of(n) for n in rows[:PER_PAGE]), page,
                            len(rows) > PER_PAGE, unread)


def mark_read(session: Session, *, notification_id: int, now: datetime) -> NotificationView:
    """Mark one notification read (again is harmless); NotFound if there is none."""
    session.execute(update(Notification)
                    .where(Notification.id == notification_id, Notification.read_at.is_(None))
                    .values(read_at=now).execution_options(synchronize_session=False))
    note = session.get(Notification, notification_id, populate_existing=True)
    if note is None:
        raise NotFound()
    return NotificationView.of(note)
