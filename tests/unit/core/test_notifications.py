"""notify_org: every event reaches the admin list; the listed ones email the organization."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from webapp import demo
from webapp.models import Customer, Notification, OutboxMessage, Preferences
from webapp.services.core import notifications
from webapp.services.core.errors import NotFound


@pytest.fixture
def org(session, now):
    org = demo.seed_organization(session, now=now)
    session.commit()
    return org


@pytest.fixture
def jane(session, now, org):
    customer = Customer(display_name="Jane Cooper", email="jane@example.com", currency="USD",
                        created_at=now)
    session.add(customer)
    session.commit()
    return customer


def _notify(session, now, event=notifications.PAYMENT_RECEIVED, customer_id=None):
    return notifications.notify_org(session, event=event, title="Payment received",
                                    body="Jane Cooper paid INV-000001.", now=now,
                                    customer_id=customer_id)


def _mails(session):
    return list(session.exec(select(OutboxMessage)))


def test_every_event_adds_an_unread_admin_notification(session, now, org):
    _notify(session, now, event="subscription_paused")
    (note,) = session.exec(select(Notification)).all()
    assert (note.event, note.title, note.read_at) == ("subscription_paused", "Payment received",
                                                      None)


def test_an_emailed_event_mails_the_organization_with_the_customer_as_reply_to(session, now,
                                                                               jane):
    _notify(session, now, customer_id=jane.id)
    (mail,) = _mails(session)
    assert (mail.to_address, mail.reply_to, mail.subject, mail.template) == (
        "billing@northwind.example", "jane@example.com", "Payment received", "org_notification")


@pytest.mark.parametrize("event", sorted(notifications.EMAILED_EVENTS))
def test_each_event_design_lists_is_emailed(session, now, org, event):
    _notify(session, now, event=event)
    assert len(_mails(session)) == 1


def test_other_events_go_to_the_admin_list_only(session, now, org):
    _notify(session, now, event="subscription_paused")
    assert _mails(session) == []


def test_no_email_while_notify_organization_is_off(session, now, org):
    session.add(Preferences(organization_id=1, notify_organization=False))
    session.flush()
    _notify(session, now)
    assert _mails(session) == []
    assert len(session.exec(select(Notification)).all()) == 1


def test_marking_read_keeps_the_first_time_it_was_read(session, now, org):
    note = _notify(session, now)
    first = notifications.mark_read(session, notification_id=note.id, now=now)
    again = notifications.mark_read(session, notification_id=note.id,
                                    now=now + timedelta(hours=1))
    assert (first.unread, first.read_at, again.read_at) == (False, now, now)


def test_marking_a_missing_notification_read_is_not_found(session, now, org):
    with pytest.raises(NotFound):
        notifications.mark_read(session, notification_id=999, now=now)


def test_the_list_is_newest_first_and_counts_unread(session, now, org):
    for hours in range(3):
        notifications.notify_org(session, event="x", title=f"n{hours}", body="",
                                 now=now + timedelta(hours=hours))
    listing = notifications.list_page(session)
    assert [n.title for n in listing.items] == ["n2", "n1", "n0"]
    assert (listing.unread_count, listing.next_page, listing.previous_page) == (3, None, None)
