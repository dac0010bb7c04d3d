"""Plan changes during a trial (issue 30): nothing is invoiced; the change is written at once
and the first term, at the trial's end or on Activate Subscription, bills the new plan; the
activation summary shows it. Customers and admins alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.factories import moment_on
from tests.unit.subscriptions.test_subscription_changes import TERM_START, Book, at, day
from webapp.models import CreditNote, Invoice, ScheduledChange, Subscription
from webapp.services.admin import subscriptions as admin_subscriptions
from webapp.services.core import numbering, state_machine
from webapp.services.core.errors import IllegalTransition, InvalidInput
from webapp.services.subscriptions import actions, lifecycle
from webapp.services.subscriptions import changes as subscription_changes
from webapp.services.subscriptions.changes import IMMEDIATELY, TRIAL_END, ChangeRequest

TRIAL_END_ON = day(14)


@pytest.fixture
def book(session) -> Book:
    return Book(session, at(TERM_START))


def _trial(book: Book, amount: int = 30000) -> Subscription:
    sub = Subscription(number=numbering.take_one(book.session, "subscription"),
                       customer_id=book.customer.id, plan_id=book.plans[amount].id,
                       currency="USD", status="trial", start_date=TERM_START,
                       anchor_day=TERM_START.day, trial_start=TERM_START,
                       trial_end=TRIAL_END_ON, current_term_start=TERM_START,
                       current_term_end=TRIAL_END_ON, next_billing_date=TRIAL_END_ON,
                       created_at=at(TERM_START), updated_at=at(TERM_START))
    book.session.add(sub)
    book.session.flush()
    return sub


def _draft(book: Book, sub: Subscription, on, **request):
    return subscription_changes.draft_change(
        book.session, customer_id=book.customer.id, subscription_id=sub.id,
        request=ChangeRequest(**request), at=moment_on(on))


def test_the_state_machine_allows_a_change_only_in_a_trial_or_live():
    assert state_machine.allowed("trial", "change_in_trial")
    assert state_machine.changeable("trial") and state_machine.changeable("live")
    assert not state_machine.changeable("paused")
    with pytest.raises(IllegalTransition, match="cannot be changed during its trial"):
        state_machine.check("live", "change_in_trial")


def test_a_trial_is_changed_for_its_end_and_nothing_is_invoiced(book):
    sub = _trial(book)
    offered = subscription_changes.choices(book.session, customer_id=book.customer.id,
                                           subscription_id=sub.id)
    assert offered.timings == (TRIAL_END,)
    assert admin_subscriptions.change_choices(book.session, subscription_id=sub.id).timings == (
        TRIAL_END,)
    draft = _draft(book, sub, day(3), plan_id=book.plans[50000].id, timing=TRIAL_END)
    assert (draft.timing, draft.invoice, draft.amount_due) == (TRIAL_END, None, 0)
    assert draft.effective_on == TRIAL_END_ON and draft.renewal_price.total == 50000
    applied = book.change(sub, day(3), plan=50000, timing=TRIAL_END)
    assert (applied.invoice, applied.payment, applied.scheduled) == (None, None, False)
    assert (sub.status, sub.plan_id) == ("trial", book.plans[50000].id)
    assert book.session.exec(select(Invoice)).all() == []
    assert book.session.exec(select(CreditNote)).all() == []
    assert book.session.exec(select(ScheduledChange)).all() == []


def test_an_immediate_change_is_refused_during_a_trial(book):
    sub = _trial(book)
    with pytest.raises(InvalidInput) as refused:
        _draft(book, sub, day(3), plan_id=book.plans[50000].id, timing=IMMEDIATELY)
    assert refused.value.field == "timing"
    assert sub.plan_id == book.plans[30000].id


def test_the_activation_summary_shows_the_new_plan(book):
    sub = _trial(book)
    book.change(sub, day(3), plan=70000, seats=2, timing=TRIAL_END)
    summary = actions.activation_summary(book.session, customer_id=book.customer.id,
                                         subscription_id=sub.id, now=at(day(5)))
    assert [(x.description, x.amount) for x in summary.invoice.priced.lines] == [
        ("Plan 70000", 70000), ("Seat", 6000)]
    assert summary.amount_due == 76000


def test_the_trials_end_bills_the_first_term_on_the_new_plan(book):
    sub = _trial(book)
    book.change(sub, day(3), plan=50000, timing=TRIAL_END)
    lifecycle.tick(book.session, now=at(TRIAL_END_ON))
    first = book.session.exec(select(Invoice).where(Invoice.subscription_id == sub.id)).one()
    assert (first.kind, first.subtotal, first.period_start) == ("first_term", 50000, TRIAL_END_ON)
    assert sub.status == "live" and sub.current_term_end == TRIAL_END_ON + timedelta(days=30)
