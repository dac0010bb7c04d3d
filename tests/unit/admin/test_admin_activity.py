"""Every customer action is an audit entry (issue 31): a subscription action through the
confirmation every one sends, an engagement event through the organization's notification;
the admin home reads the portal activity and the cancellation reasons from the trail."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from tests.factories import moment_on
from webapp import demo
from webapp.models import AuditEntry, Subscription
from webapp.services.admin import metrics
from webapp.services.core import preferences
from webapp.services.engagement import reviews
from webapp.services.subscriptions import actions as cancelling


def test_a_customer_cancelling_is_in_the_trail_with_the_reason(session, now):
    seeded = demo.seed_demo(session, now=now)
    session.commit()
    reasons = tuple(preferences.load(session).cancellation_reasons)
    sub = session.exec(select(Subscription).where(
        Subscription.customer_id == seeded.jane_customer_id,
        Subscription.status == "live").order_by(Subscription.id)).first()
    at = moment_on(now.date(), now)
    before = metrics.cancellation_reasons(session, at=at, reasons=reasons)
    seeded_entries = session.exec(select(AuditEntry.id).order_by(AuditEntry.id.desc())).first() or 0
    timing = cancelling.cancel_options(session, customer_id=sub.customer_id,
                                   subscription_id=sub.id, now=now).timings[0]
    cancelling.cancel(session, customer_id=sub.customer_id, subscription_id=sub.id, timing=timing,
                  reason=reasons[1], details="we merged with another team", now=now)
    reviews.submit(session, customer_id=sub.customer_id, user_id=None, rating=5,
                   body="Lovely portal.", now=now)
    session.commit()
    entries = session.exec(select(AuditEntry).where(
        AuditEntry.action.startswith("customer."), AuditEntry.id > seeded_entries)
        .order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["customer.subscription_cancelled",
                                           "customer.review_submitted"]
    cancelled = entries[0]
    assert (cancelled.subject_type, cancelled.subject_id, cancelled.customer_id) == \
        ("subscription", sub.id, sub.customer_id)
    assert cancelled.actor_label == "Jane Cooper"
    assert cancelled.after["reason"] == f"{reasons[1]}: we merged with another team"

    activity = metrics.portal_activity(session)
    assert [a.action for a in activity[:2]] == ["customer.review_submitted",
                                                "customer.subscription_cancelled"]
    assert len(activity) <= 20
    counts = metrics.cancellation_reasons(session, at=at, reasons=reasons)
    assert counts == {r: before[r] + (1 if r == reasons[1] else 0) for r in reasons}
    later = moment_on(now.date() + timedelta(days=90), now + timedelta(days=90))
    assert sum(metrics.cancellation_reasons(session, at=later, reasons=reasons).values()) == 0
    # A reason no longer offered is counted as "Other".
    assert metrics.cancellation_reasons(session, at=at, reasons=reasons[:1]) == \
        {reasons[0]: 0, metrics.OTHER_REASON: before.get(metrics.OTHER_REASON, 0) + 1}
