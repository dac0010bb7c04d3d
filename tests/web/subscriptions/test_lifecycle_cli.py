"""`flask lifecycle tick` runs the cron's job by hand, in-process (jobs run after each commit)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from tests.conftest import FIXED_NOW
from webapp.db import db
from webapp.models import Invoice, Payment, Subscription


def test_one_tick_by_hand_catches_up_on_every_missed_term(app, seeded):
    later = FIXED_NOW + timedelta(days=95)  # three months and more without a scheduler
    result = app.test_cli_runner().invoke(args=["lifecycle", "tick", "--now", later.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Processed" in result.output
    with app.app_context():
        live = db.session.exec(select(Subscription).where(
            Subscription.status == "live", Subscription.autocharge.is_(True))).all()
        assert live, "the demo has live subscriptions charged automatically"
        for sub in live:  # every one billed up to now, charged, and waiting for nothing
            assert sub.next_billing_date > later.date() and sub.awaiting_payment_id is None
        assert db.session.exec(select(Payment).where(Payment.status == "pending")).all() == []
        renewals = db.session.exec(select(Invoice).where(
            Invoice.kind == "renewal", Invoice.issue_date == later.date())).all()
        assert len(renewals) >= 3 * len(live)
