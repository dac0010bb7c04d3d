"""Manage Subscription's immediate changes and cancellations, to the cent (issue 22).

Each test walks one 30-day term (1 Nov – 1 Dec 2026) through the real change and cancel
services; the organization charges no tax here, so the figures are the issue's own.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import make_customer, moment_on
from webapp.demo import seed_organization
from webapp.models import (
    Addon,
    AddonPrice,
    Coupon,
    CouponAmount,
    CreditNote,
    Invoice,
    InvoiceLine,
    Plan,
    PlanPrice,
    ScheduledChange,
    Subscription,
    SubscriptionCoupon,
)
from webapp.services.billing import ledger, terms
from webapp.services.core import i18n, numbering, wording
from webapp.services.core.preferences import seed_demo_preferences
from webapp.services.subscriptions import actions, lifecycle
from webapp.services.subscriptions import changes as subscription_changes
from webapp.services.subscriptions.changes import END_OF_TERM, IMMEDIATELY, ChangeRequest

TERM_START = date(2026, 11, 1)  # a 30-day term: 1 Nov – 1 Dec


def day(n: int) -> date:
    """Day n of the term (day 10 leaves 20 days)."""
    return TERM_START + timedelta(days=n)


def at(on: date) -> datetime:
    return datetime(on.year, on.month, on.day, 10, 0, tzinfo=UTC)


class Book:
    """An organization without tax whose every switch is on, and one customer."""

    def __init__(self, session: Session, now: datetime):
        self.session = session
        org = seed_organization(session, now=now)
        org.tax_name, org.tax_rate_bp = None, None
        seed_demo_preferences(session, now=now)
        self.customer = make_customer(session, now=now)
        self.plans = {amount: self.plan(amount) for amount in (30000, 50000, 70000)}
        self.seat = Addon(code="seat", name="Seat", created_at=now)
        session.add(self.seat)
        session.flush()
        session.add(AddonPrice(addon_id=self.seat.id, currency="USD", unit_amount=3000))
        session.flush()

    def plan(self, amount: int) -> Plan:
        plan = Plan(code=f"plan-{amount}", name=f"Plan {amount}", created_at=at(TERM_START))
        self.session.add(plan)
        self.session.flush()
        self.session.add(PlanPrice(plan_id=plan.id, currency="USD", amount=amount))
        self.session.flush()
        return plan

    def coupon(self, code: str, *, amount: int | None = None, percent_bp: int | None = None,
               duration: str = "forever", limit: int | None = None) -> Coupon:
        coupon = Coupon(code=code, name=code.title(), created_at=at(TERM_START),
                        discount_type="fixed" if amount else "percentage", percent_bp=percent_bp,
                        duration=duration, max_redemptions=limit)
        self.session.add(coupon)
        self.session.flush()
        if amount:
            self.session.add(CouponAmount(coupon_id=coupon.id, currency="USD", amount=amount))
            self.session.flush()
        return coupon

    def live(self, amount: int, *, coupon: Coupon | None = None) -> Subscription:
        """Live on the plan at `amount`, its term invoice issued and paid on day 0."""
        sub = Subscription(number=numbering.take_one(self.session, "subscription"),
                           customer_id=self.customer.id, plan_id=self.plans[amount].id,
                           currency="USD", status="live", start_date=TERM_START,
                           anchor_day=TERM_START.day, created_at=at(TERM_START),
                           updated_at=at(TERM_START))
        self.session.add(sub)
        self.session.flush()
        if coupon is not None:
            coupon.redemptions += 1
            self.session.add(SubscriptionCoupon(subscription_id=sub.id, coupon_id=coupon.id,
                                                applied_at=at(TERM_START)))
            self.session.flush()
        draft = terms.draft(self.session, sub, terms.Term(TERM_START, "first_term"),
                            tax_rate_bp=None)
        invoice = terms.issue(self.session, sub, draft, issue_date=TERM_START,
                              due_date=TERM_START, now=at(TERM_START))
        ledger.record_payment(self.session, customer_id=self.customer.id, amount=invoice.total,
                              currency="USD", invoices=[invoice], paid_on=TERM_START,
                              now=at(TERM_START), idempotency_key=f"paid-{invoice.id}")
        sub.current_term_start, sub.current_term_end = draft.period.start, draft.period.end
        sub.next_billing_date, sub.cycles_billed = draft.period.end, 1
        self.session.flush()
        return sub

    def change(self, sub: Subscription, on: date, *, plan: int | None = None,
               seats: int | None = None, coupon: str | None = None,
               timing: str = IMMEDIATELY) -> subscription_changes.ChangeApplied:
        """Preview the change as the customer does, then confirm exactly that preview."""
        request = ChangeRequest(plan_id=self.plans[plan].id if plan else None,
                                addons={self.seat.id: seats} if seats is not None else None,
                                coupon_code=coupon, timing=timing)
        ids = {"customer_id": self.customer.id, "subscription_id": sub.id}
        draft = subscription_changes.draft_change(self.session, **ids, request=request,
                                                  at=moment_on(on))
        return subscription_changes.confirm_change(
            self.session, **ids, request=request, fingerprint=draft.fingerprint(),
            at=moment_on(on, at(on)))

    def cancel_now(self, sub: Subscription, on: date) -> actions.CancelResult:
        return actions.cancel(self.session, customer_id=self.customer.id,
                              subscription_id=sub.id, timing=actions.IMMEDIATELY,
                              reason="Other", details="", now=at(on))

    def lines(self, invoice: Invoice, kind: str) -> list[int]:
        return [line.amount for line in self.session.exec(
            select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id,
                                      InvoiceLine.kind == kind)
            .order_by(InvoiceLine.position))]

    def credit_notes(self) -> list[int]:
        return [n.total for n in self.session.exec(select(CreditNote).order_by(CreditNote.id))]


@pytest.fixture
def book(session) -> Book:
    return Book(session, at(TERM_START))


# -- Defect 1: credits come from what the customer holds now ------------------------------------

def test_a_second_upgrade_credits_the_unused_days_of_the_current_plan(book):
    sub = book.live(30000)
    first = book.change(sub, day(10), plan=50000)
    assert book.credit_notes() == [20000] and book.lines(first.invoice, "proration_charge") == [33333]
    second = book.change(sub, day(20), plan=70000)
    # 10 days of the 50000 plan held now are credited, not 10 days of the original 30000
    assert book.credit_notes() == [20000, 16667]
    assert book.lines(second.invoice, "proration_charge") == [23333]
    assert ledger.balance_due(second.invoice) == 23333 - 16667


def test_cancelling_after_a_downgrade_credits_the_last_days_once(book):
    sub = book.live(50000)
    book.change(sub, day(10), plan=30000)  # credits 33333, charges 20000: 13333 left as credit
    result = book.cancel_now(sub, day(20))
    # 10 days of the 30000 plan held now, not 10 days of the 50000 plan credited a second time
    assert result.credit_note.total == 10000
    assert book.credit_notes() == [33333, 10000]


def test_removing_seats_added_mid_term_credits_their_unused_days(book):
    sub = book.live(30000)
    book.change(sub, day(10), seats=2)  # 2 seats for 20 days: R(6000·20, 30) = 4000
    book.change(sub, day(20), seats=0)
    # the plan and both seats for the last 10 days
    assert book.credit_notes() == [20000, 10000 + 2000]


def test_a_plan_change_after_an_addon_change_credits_the_addon_too(book):
    sub = book.live(30000)
    book.change(sub, day(10), seats=1)
    second = book.change(sub, day(20), plan=50000)
    assert book.credit_notes() == [20000, 10000 + 1000]
    assert book.lines(second.invoice, "proration_charge") == [16667, 1000]


# -- Defect 2: a coupon's value per term is its value ---------------------------------------

def _renew(book: Book, sub: Subscription) -> Invoice:
    """Run the engine on the day the term ends; returns the renewal invoice."""
    lifecycle.tick(book.session, now=at(day(30)))
    return book.session.exec(select(Invoice).where(Invoice.subscription_id == sub.id,
                                                   Invoice.kind == "renewal")).one()


def test_a_fixed_coupon_is_prorated_on_each_proration_invoice(book):
    sub = book.live(30000, coupon=book.coupon("TAKE30", amount=3000))
    first = book.change(sub, day(10), plan=50000)
    second = book.change(sub, day(20), plan=70000)
    assert book.lines(first.invoice, "discount") == [-2000]  # 20 of 30 days of 3000
    assert book.lines(second.invoice, "discount") == [-1000]
    # the unused days of each discount are taken back with the line they discounted
    assert book.credit_notes() == [20000 - 2000, 16667 - 1000]
    # the term nets 10 days of each plan less 3000 once: 10000 + 16666 + 23333 − 3000
    invoiced = sum(i.total for i in book.session.exec(select(Invoice)))
    assert invoiced - sum(book.credit_notes()) == 46999


def test_a_once_coupon_added_with_an_immediate_change_is_spent_on_this_term(book):
    sub = book.live(30000)
    book.coupon("ONCE30", amount=3000, duration="once")
    applied = book.change(sub, day(10), coupon="ONCE30")
    assert book.lines(applied.invoice, "discount") == [-2000]
    link = book.session.exec(select(SubscriptionCoupon)).one()
    assert link.terms_used == 1
    renewal = _renew(book, sub)
    assert book.lines(renewal, "discount") == []


def test_a_coupon_added_at_the_end_of_the_term_counts_against_its_limit(book):
    coupon = book.coupon("LIMIT1", percent_bp=1000, limit=1)
    sub = book.live(30000)
    scheduled = book.change(sub, day(10), coupon="LIMIT1", timing=END_OF_TERM)
    assert scheduled.scheduled and book.session.exec(select(ScheduledChange)).one()
    renewal = _renew(book, sub)
    assert book.lines(renewal, "discount") == [-3000]
    book.session.refresh(coupon)
    assert coupon.redemptions == 1


# -- The preview's lines add up to what is due today (issue 24; presentation only) -------------

def _sheet(book: Book, sub: Subscription, on: date, **change):
    request = ChangeRequest(plan_id=book.plans[change["plan"]].id if "plan" in change else None,
                            addons={book.seat.id: change["seats"]} if "seats" in change else None,
                            coupon_code=None, timing=IMMEDIATELY)
    draft = subscription_changes.draft_change(
        book.session, customer_id=book.customer.id, subscription_id=sub.id, request=request,
        at=moment_on(on))
    return draft, draft.sheet()


def _adds_up(sheet) -> bool:
    return sum(c.amount for c in sheet.charges) == sheet.subtotal and \
        sheet.subtotal + sheet.tax == sheet.total and \
        sheet.credit_applied == min(sheet.total, sum(c.total for c in sheet.credits)) and \
        sheet.total - sheet.credit_applied == sheet.due


def test_an_upgrade_preview_shows_the_charge_the_credit_and_what_is_due_today(book):
    sub = book.live(30000)
    draft, sheet = _sheet(book, sub, day(10), plan=50000)  # DESIGN.md's check figures
    assert [(c.description, c.amount) for c in sheet.charges] == [("Plan 50000 (20 of 30 days)", 33333)]
    assert [(c.description, c.total) for c in sheet.credits] == \
        [("Unused time: Plan 30000 (20 of 30 days)", 20000)]
    assert (sheet.subtotal, sheet.tax, sheet.total, sheet.credit_applied, sheet.due) == \
        (33333, 0, 33333, 20000, 13333)
    assert _adds_up(sheet) and sheet.due == draft.amount_due


def test_adding_seats_previews_the_seats_proration_not_the_plan_billed_again(book):
    sub = book.live(30000)
    draft, sheet = _sheet(book, sub, day(10), seats=2)
    # the invoice still bills the plan's 20 days and the credit note credits them back
    assert [line.amount for line in draft.invoice.lines] == [20000, 4000]
    assert [line.amount for line in draft.credit_lines] == [20000]
    assert [(c.description, c.quantity, c.amount) for c in sheet.charges] == \
        [("Seat (20 of 30 days)", 2, 4000)]
    assert (sheet.credits, sheet.subtotal, sheet.credit_applied, sheet.due) == ((), 4000, 0, 4000)
    assert _adds_up(sheet) and sheet.due == draft.amount_due == 4000
    book.change(sub, day(10), seats=2)
    draft, sheet = _sheet(book, sub, day(20), seats=5)  # 3 more for the last 10 days
    assert [(c.quantity, c.amount) for c in sheet.charges] == [(3, 3000)]
    assert _adds_up(sheet) and sheet.due == draft.amount_due == 3000


def test_removing_seats_keeps_their_charge_and_credit_as_lines(book):
    sub = book.live(30000)
    book.change(sub, day(10), seats=3)
    draft, sheet = _sheet(book, sub, day(20), seats=1)
    assert [(c.quantity, c.amount) for c in sheet.charges] == [(1, 1000)]
    assert [(c.quantity, c.total) for c in sheet.credits] == [(3, 3000)]
    assert (sheet.total, sheet.credit_applied, sheet.due, sheet.credit_left) == (1000, 1000, 0, 2000)
    assert _adds_up(sheet) and sheet.due == draft.amount_due and sheet.credit_left == draft.credit_left


# -- Issue 33: the records in English, shown in the reader's language ---------------------------

def test_the_records_are_written_in_english_and_read_in_the_readers_language(book):
    """A German customer's change writes the same English records as anyone's (the ledger's
    record, and what a later change matches lines on); each is shown in German."""
    sub = book.live(30000, coupon=book.coupon("TAKE30", amount=3000))
    with i18n.use_locale("de_DE"):
        changed = book.change(sub, day(10), plan=50000)
        cancelled = book.cancel_now(sub, day(20))
    descriptions = [line.description for line in book.session.exec(
        select(InvoiceLine).where(InvoiceLine.invoice_id == changed.invoice.id)
        .order_by(InvoiceLine.position))]
    reasons = [n.reason for n in book.session.exec(select(CreditNote).order_by(CreditNote.id))]

    assert descriptions == ["Plan 50000 (20 of 30 days)", "Coupon TAKE30: Take30 (20 of 30 days)"]
    assert reasons == [f"Unused time on {sub.number}: Change plan to Plan 50000",
                       f"Unused time on {sub.number} (10 of 30 days)"]
    assert cancelled.credit_note.reason == reasons[1]
    with i18n.use_locale("de_DE"):
        assert [wording.reword_now(text) for text in descriptions + reasons] == [
            "Plan 50000 (20 von 30 Tagen)", "Gutschein TAKE30: Take30 (20 von 30 Tagen)",
            f"Ungenutzte Zeit von {sub.number}: Tarifwechsel zu Plan 50000",
            f"Ungenutzte Zeit von {sub.number} (10 von 30 Tagen)"]
