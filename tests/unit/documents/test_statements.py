"""Statements of accounts: ranges, the running balance, the summary identity and aging."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_customer, make_invoice, moment_on, pay
from webapp.models import Invoice, Payment
from webapp.services.billing import ledger
from webapp.services.core import numbering
from webapp.services.documents import statements
from webapp.services.documents.statements import StatementPeriod

BASE = date(2026, 6, 1)
_emails = count()


def custom(start: date, end: date) -> StatementPeriod:
    return StatementPeriod("custom", start, end)


def refund(session, *, customer, amount: int, on: date, now) -> Payment:
    payment = Payment(number=numbering.take_one(session, "payment"), customer_id=customer.id,
                      kind="refund", status="succeeded", method="card", amount=amount,
                      currency=customer.currency, idempotency_key=f"refund-{next(_emails)}",
                      paid_on=on, created_at=now, updated_at=now)
    session.add(payment)
    session.flush()
    return payment


def void(invoice: Invoice, on: date) -> None:
    invoice.status, invoice.voided_on = "void", on


# --- Ranges ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("preset", "start", "end"), [
    ("this_month", date(2026, 11, 1), date(2026, 11, 30)),
    ("last_month", date(2026, 10, 1), date(2026, 10, 31)),
    ("this_quarter", date(2026, 10, 1), date(2026, 12, 31)),
    ("last_quarter", date(2026, 7, 1), date(2026, 9, 30)),
    ("this_year", date(2026, 1, 1), date(2026, 12, 31)),
])
def test_preset_ranges_are_calendar_periods_around_today(preset, start, end):
    assert statements.preset_period(preset, date(2026, 11, 26)) == \
        StatementPeriod(preset, start, end)


def test_last_month_and_last_quarter_in_january_are_in_the_previous_year():
    today = date(2027, 1, 15)
    assert statements.preset_period("last_month", today).start == date(2026, 12, 1)
    assert statements.preset_period("last_quarter", today) == \
        StatementPeriod("last_quarter", date(2026, 10, 1), date(2026, 12, 31))


def test_a_custom_range_is_read_from_its_dates():
    period, messages = statements.read_period(
        {"preset": "custom", "from": "2026-02-03", "to": "2026-04-05"}, date(2026, 11, 26))
    assert period == custom(date(2026, 2, 3), date(2026, 4, 5)) and messages == []


def test_a_custom_range_that_ends_before_it_starts_falls_back_to_this_month_with_a_message():
    period, messages = statements.read_period(
        {"preset": "custom", "from": "2026-05-01", "to": "2026-04-01"}, date(2026, 11, 26))
    assert period.preset == "this_month" and len(messages) == 1


def test_an_unknown_range_falls_back_to_this_month_with_a_message():
    period, messages = statements.read_period({"preset": "forever"}, date(2026, 11, 26))
    assert period.preset == "this_month" and len(messages) == 1


# --- The statement ---------------------------------------------------------------------------

def test_the_statement_lists_invoices_payments_credits_and_refunds_in_date_order(session, now):
    customer = make_customer(session, now=now)
    invoice = make_invoice(session, customer=customer, now=now, amount=5000, issue=BASE)
    ledger.create_credit_note(session, customer_id=customer.id, currency="USD", total=700,
                              reason="Goodwill", issue_date=BASE + timedelta(days=2), now=now)
    pay(session, customer=customer, invoices=[invoice], amount=3000, now=now)
    refund(session, customer=customer, amount=200, on=BASE + timedelta(days=1), now=now)
    view = statements.statement(session, customer_id=customer.id,
                                period=custom(BASE, now.date()), at=moment_on(now.date()))
    assert [e.kind for e in view.entries] == ["invoice", "refund", "credit_note",
                                              "credit_application", "payment"]
    assert [e.balance for e in view.entries] == [5000, 5200, 4500, 4500, 1500]
    assert view.summary.balance_due == 1500


def test_a_credit_applied_to_an_open_invoice_is_a_row_and_the_balance_is_what_is_owed(
        session, now):
    customer = make_customer(session, now=now)
    invoice = make_invoice(session, customer=customer, now=now, amount=5000, issue=BASE)
    note = ledger.create_credit_note(session, customer_id=customer.id, currency="USD",
                                     total=700, reason="Unused time",
                                     issue_date=BASE + timedelta(days=2), now=now)
    view = statements.statement(session, customer_id=customer.id,
                                period=custom(BASE, now.date()), at=moment_on(now.date()))
    applied = view.entries[-1]
    assert (applied.kind, applied.label, applied.number, applied.on) == (
        "credit_application", "Credit applied", note.number, BASE + timedelta(days=2))
    assert (applied.applied, applied.details) == (700, f"applied to {invoice.number}")
    assert (applied.debit, applied.credit, applied.balance) == (0, 0, 4300)
    # the statement's balance due is the open invoices' balance: no credit sits beside it
    assert view.summary.balance_due == ledger.balance_due(invoice) == 4300


def test_the_opening_balance_is_everything_before_the_range(session, now):
    customer = make_customer(session, now=now)
    make_invoice(session, customer=customer, now=now, amount=4000, issue=BASE)
    inside = make_invoice(session, customer=customer, now=now, amount=1000,
                          issue=BASE + timedelta(days=40))
    view = statements.statement(session, customer_id=customer.id,
                                period=custom(BASE + timedelta(days=30), BASE + timedelta(days=60)),
                                at=moment_on(now.date()))
    assert view.summary.opening == 4000
    assert [e.number for e in view.entries] == [inside.number]


def test_a_void_invoice_is_left_out_of_the_statement(session, now):
    customer = make_customer(session, now=now)
    kept = make_invoice(session, customer=customer, now=now, amount=1000, issue=BASE)
    voided = make_invoice(session, customer=customer, now=now, amount=9000, issue=BASE)
    void(voided, BASE)
    view = statements.statement(session, customer_id=customer.id, period=custom(BASE, BASE),
                                at=moment_on(now.date()))
    assert [e.number for e in view.entries] == [kept.number]
    assert view.summary.invoiced == 1000


def test_another_customers_transactions_are_not_on_the_statement(session, now):
    jane = make_customer(session, now=now, email="jane@example.com")
    omar = make_customer(session, now=now, email="omar@example.com")
    make_invoice(session, customer=omar, now=now, amount=1000, issue=BASE)
    view = statements.statement(session, customer_id=jane.id, period=custom(BASE, BASE),
                                at=moment_on(now.date()))
    assert view.entries == () and view.summary.balance_due == 0


# --- The identity, over random ledgers ---------------------------------------------------------

_day = st.integers(0, 90)
_amount = st.integers(1, 100_000)
_operation = st.one_of(
    st.tuples(st.just("invoice"), _day, _amount),
    st.tuples(st.just("pay"), _day, _amount),
    st.tuples(st.just("credit"), _day, _amount),
    st.tuples(st.just("refund"), _day, _amount),
    st.tuples(st.just("void"), _day, st.integers(0, 10)),
)


def build_ledger(session, customer, operations, now) -> list[tuple[date, int]]:
    """Write the operations; returns every (date, signed amount) the statement should count."""
    moves: dict[str, tuple[date, int]] = {}
    issued: list[Invoice] = []
    for index, (kind, day, amount) in enumerate(operations):
        on = BASE + timedelta(days=day)
        if kind == "invoice":
            invoice = make_invoice(session, customer=customer, now=now, amount=amount, issue=on)
            issued.append(invoice)
            moves[invoice.number] = (on, invoice.total)
        elif kind == "pay":
            payable = [inv for inv in issued if ledger.balance_due(inv) > 0]
            payment = ledger.record_payment(
                session, customer_id=customer.id, amount=amount, currency=customer.currency,
                invoices=payable, paid_on=on, now=now, idempotency_key=f"p-{index}")
            moves[payment.number] = (on, -amount)
        elif kind == "credit":
            note = ledger.create_credit_note(session, customer_id=customer.id, currency="USD",
                                             total=amount, reason="Credit", issue_date=on,
                                             now=now)
            moves[note.number] = (on, -amount)
        elif kind == "refund":
            moves[refund(session, customer=customer, amount=amount, on=on, now=now).number] = \
                (on, amount)
        elif issued:
            invoice = issued[amount % len(issued)]
            void(invoice, on)
            moves.pop(invoice.number, None)
    session.flush()
    return list(moves.values())


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(operations=st.lists(_operation, max_size=20), start=_day, length=st.integers(0, 60))
def test_opening_plus_movements_always_equals_the_balance_due(session, now, operations, start,
                                                              length):
    customer = make_customer(session, now=now, email=f"random{next(_emails)}@example.com")
    moves = build_ledger(session, customer, operations, now)
    period = custom(BASE + timedelta(days=start), BASE + timedelta(days=start + length))
    view = statements.statement(session, customer_id=customer.id, period=period,
                                at=moment_on(now.date()))
    s = view.summary
    assert s.opening == sum(amount for on, amount in moves if on < period.start)
    assert s.opening == statements.opening_balance(session, customer_id=customer.id,
                                                   before=period.start)
    assert s.balance_due == s.opening + s.invoiced - s.payments - s.credits + s.refunds
    assert s.balance_due == sum(amount for on, amount in moves if on <= period.end)
    assert (view.entries[-1].balance if view.entries else s.opening) == s.balance_due
    assert [e.on for e in view.entries] == sorted(e.on for e in view.entries)


# --- Aging -----------------------------------------------------------------------------------

def test_open_invoices_are_aged_by_days_past_due(session, now):
    customer = make_customer(session, now=now)
    today = now.date()
    for days_late, amount in ((-3, 100), (0, 200), (1, 300), (30, 400), (31, 500), (75, 600),
                              (91, 700)):
        make_invoice(session, customer=customer, now=now, amount=amount,
                     issue=today - timedelta(days=100), due_days=100 - days_late)
    aging = statements.aging(session, customer=customer, as_of=today)
    assert {b.key: b.amount for b in aging.buckets} == {
        "current": 300, "1_30": 700, "31_60": 500, "61_90": 600, "over_90": 700}
    assert aging.total == 2800


def test_aging_counts_what_was_owed_on_the_range_end_not_today(session, now):
    customer = make_customer(session, now=now)
    invoice = make_invoice(session, customer=customer, now=now, amount=1000, due_days=0,
                           issue=now.date() - timedelta(days=40))
    pay(session, customer=customer, invoices=[invoice], amount=1000, now=now)  # paid today
    then = statements.aging(session, customer=customer, as_of=now.date() - timedelta(days=5))
    assert {b.key: b.amount for b in then.buckets}["31_60"] == 1000
    assert statements.aging(session, customer=customer, as_of=now.date()).total == 0


def test_a_part_paid_invoice_is_aged_by_what_is_left(session, now):
    customer = make_customer(session, now=now)
    invoice = make_invoice(session, customer=customer, now=now, amount=1000, due_days=0,
                           issue=now.date() - timedelta(days=10))
    pay(session, customer=customer, invoices=[invoice], amount=250, now=now)
    aging = statements.aging(session, customer=customer, as_of=now.date())
    assert {b.key: b.amount for b in aging.buckets}["1_30"] == 750


def test_a_statement_past_the_row_limit_is_big(session, now):
    customer = make_customer(session, now=now)
    for _ in range(3):
        make_invoice(session, customer=customer, now=now, issue=BASE)
    view = statements.statement(session, customer_id=customer.id, period=custom(BASE, BASE),
                                at=moment_on(now.date()), row_limit=2)
    assert view.big
    with pytest.raises(statements.StatementTooBig):
        statements.statement_pdf(session, customer_id=customer.id, period=view.period,
                                 at=moment_on(now.date()), row_limit=2)


def test_the_statement_pdf_shows_the_summary_and_its_rows(session, now):
    from tests.unit.documents.test_documents import pdf_text
    from webapp import demo

    demo.seed_organization(session, now=now)
    customer = make_customer(session, now=now, currency="INR")
    invoice = make_invoice(session, customer=customer, now=now, amount=250000, issue=BASE)
    document = statements.statement_pdf(session, customer_id=customer.id,
                                        period=custom(BASE, BASE), at=moment_on(now.date()))
    text = pdf_text(document.content)
    assert invoice.number in text and "Balance Due ₹2,500.00" in text
    # Every summary figure beside its label, and what the statement is of.
    assert ("Opening Balance ₹0.00 Invoiced ₹2,500.00 Payments ₹0.00 Credits ₹0.00 "
            "Refunds ₹0.00 Balance Due ₹2,500.00") in text
    assert "1 Jun 2026 – 1 Jun 2026" in text and "Amounts in INR" in text
    assert "Prepared on" in text
    for label in ("Current", "1–30 days", "31–60 days", "61–90 days", "Over 90 days", "Total"):
        assert label in text
    assert document.filename == "statement-2026-06-01-to-2026-06-01.pdf"


def test_the_summary_signs_only_what_was_taken_off(session, now):
    from tests.unit.documents.test_documents import pdf_text
    from webapp import demo

    demo.seed_organization(session, now=now)
    customer = make_customer(session, now=now, currency="INR")
    invoice = make_invoice(session, customer=customer, now=now, amount=250000, issue=BASE)
    pay(session, customer=customer, invoices=[invoice], amount=100000, now=now)
    text = pdf_text(statements.statement_pdf(session, customer_id=customer.id,
                                             period=custom(BASE, now.date()),
                                             at=moment_on(now.date())).content)
    assert "Payments −₹1,000.00 Credits ₹0.00 " in text
