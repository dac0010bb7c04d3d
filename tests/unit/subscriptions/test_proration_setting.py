"""The organization's proration setting (issue 30): `prorate` (the default, as before),
`no_proration_upgrade_now` (the change takes effect at once, nothing is charged or credited,
the new price applies from the next term) and `end_of_term_only` (changes can only be scheduled
for the term's end), for customers and admins alike; the draft names which applies.
Figures on the 30-day term of tests/unit/subscriptions/test_subscription_changes.py."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.factories import moment_on
from tests.unit.subscriptions.test_subscription_changes import Book, _renew, at, day
from webapp.models import (
    AuditEntry,
    CreditNote,
    Invoice,
    Preferences,
    ScheduledChange,
    Subscription,
)
from webapp.services.admin import subscriptions as admin_subscriptions
from webapp.services.core import preferences
from webapp.services.core.errors import InvalidInput
from webapp.services.subscriptions import changes as subscription_changes
from webapp.services.subscriptions.changes import END_OF_TERM, IMMEDIATELY, ChangeRequest


@pytest.fixture
def book(session) -> Book:
    return Book(session, at(day(0)))


def _set(book: Book, mode: str) -> None:
    book.session.get(Preferences, 1).proration = mode
    book.session.flush()


def _draft(book: Book, sub: Subscription, on, **request):
    return subscription_changes.draft_change(
        book.session, customer_id=book.customer.id, subscription_id=sub.id,
        request=ChangeRequest(**request), at=moment_on(on))


def test_prorate_is_the_default_and_bills_the_days_left(book):
    assert Preferences().proration == preferences.PRORATE
    sub = book.live(30000)
    draft = _draft(book, sub, day(10), plan_id=book.plans[50000].id)
    assert (draft.proration, draft.prorated) == ("prorate", True)
    assert draft.amount_due == 33333 - 20000


def test_no_proration_changes_now_charges_nothing_and_bills_the_new_price_next_term(book):
    _set(book, preferences.NO_PRORATION_UPGRADE_NOW)
    sub = book.live(30000)
    draft = _draft(book, sub, day(10), plan_id=book.plans[50000].id)
    assert (draft.timing, draft.proration, draft.prorated) == (IMMEDIATELY, "no_proration_upgrade_now",
                                                               False)
    assert (draft.invoice, draft.amount_due, draft.credit_total) == (None, 0, 0)
    assert draft.effective_on == day(10) and draft.renewal_price.total == 50000
    held = sub.held_invoice_id
    applied = book.change(sub, day(10), plan=50000)
    assert applied.invoice is None and applied.payment is None
    assert sub.plan_id == book.plans[50000].id and sub.status == "live"
    # nothing invoiced or credited now; the term's invoice is still what the customer holds
    assert book.session.exec(select(CreditNote)).all() == []
    assert [i.kind for i in book.session.exec(select(Invoice))] == ["first_term"]
    assert sub.held_invoice_id == held
    assert _renew(book, sub).subtotal == 50000


def test_no_proration_adds_a_coupon_from_the_next_term(book):
    _set(book, preferences.NO_PRORATION_UPGRADE_NOW)
    book.coupon("TEN", amount=1000, duration="once")
    sub = book.live(30000)
    book.change(sub, day(5), coupon="TEN")
    assert book.session.exec(select(Invoice).where(Invoice.kind == "proration")).all() == []
    renewal = _renew(book, sub)
    assert renewal.subtotal == 30000 - 1000  # the "once" coupon is spent on the next term


def test_cancelling_after_an_unprorated_change_credits_what_was_paid(book):
    _set(book, preferences.NO_PRORATION_UPGRADE_NOW)
    sub = book.live(30000)
    book.change(sub, day(10), plan=50000)
    result = book.cancel_now(sub, day(20))
    assert result.credit_note.total == 10000  # 10 days of the 30000 actually paid


def test_end_of_term_only_offers_only_the_end_of_the_term(book):
    _set(book, preferences.END_OF_TERM_ONLY)
    sub = book.live(30000)
    offered = subscription_changes.choices(book.session, customer_id=book.customer.id,
                                           subscription_id=sub.id)
    assert offered.timings == (END_OF_TERM,)
    assert admin_subscriptions.change_choices(book.session, subscription_id=sub.id).timings == (
        END_OF_TERM,)
    with pytest.raises(InvalidInput) as refused:
        _draft(book, sub, day(10), plan_id=book.plans[50000].id, timing=IMMEDIATELY)
    assert refused.value.field == "timing"
    draft = _draft(book, sub, day(10), plan_id=book.plans[50000].id, timing=END_OF_TERM)
    assert (draft.proration, draft.effective_on, draft.invoice) == ("end_of_term_only", day(30),
                                                                   None)
    applied = book.change(sub, day(10), plan=50000, timing=END_OF_TERM)
    assert applied.scheduled and sub.plan_id == book.plans[30000].id
    assert book.session.exec(select(ScheduledChange)).one().effective_on == day(30)
    assert _renew(book, sub).subtotal == 50000


def test_a_preview_confirmed_after_the_setting_changed_is_refused(book):
    sub = book.live(30000)
    draft = _draft(book, sub, day(10), plan_id=book.plans[50000].id)
    _set(book, preferences.NO_PRORATION_UPGRADE_NOW)
    with pytest.raises(subscription_changes.PriceChanged):
        subscription_changes.confirm_change(
            book.session, customer_id=book.customer.id, subscription_id=sub.id,
            request=ChangeRequest(plan_id=book.plans[50000].id),
            fingerprint=draft.fingerprint(), at=moment_on(day(10), at(day(10))))
    assert sub.plan_id == book.plans[30000].id


def test_the_setting_is_saved_audited_and_checked(book):
    prefs = book.session.get(Preferences, 1)
    result = preferences.update(book.session, actor_user_id=None,
                                changes={"proration": "end_of_term_only"}, now=at(day(1)))
    assert [(c.field, c.new_text) for c in result.changes] == [
        ("proration", preferences.PRORATIONS["end_of_term_only"])]
    assert prefs.proration == "end_of_term_only"
    entry = book.session.exec(select(AuditEntry).where(
        AuditEntry.action == "preferences.update")).one()
    assert (entry.before, entry.after) == ({"proration": "prorate"},
                                           {"proration": "end_of_term_only"})
    with pytest.raises(preferences.InvalidChanges) as refused:
        preferences.update(book.session, actor_user_id=None, changes={"proration": "sometimes"},
                           now=at(day(1)))
    assert set(refused.value.errors) == {"proration"}
    assert prefs.proration == "end_of_term_only"
