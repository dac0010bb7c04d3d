"""Back office: one-off invoices, voids, offline payments, refunds and credit — and every one
of them keeps the customer's statement equal to their account."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from tests.factories import make_customer, make_invoice, moment_on, pay
from webapp.demo import seed_organization
from webapp.models import CreditNote, Notification, OutboxMessage, Payment
from webapp.services.admin import Actor, billing
from webapp.services.billing import ledger
from webapp.services.core.errors import IllegalTransition
from webapp.services.core.preferences import InvalidChanges
from webapp.services.documents import statements

ADMIN = Actor(None, "admin@example.com")


@pytest.fixture
def org(session, now):
    org = seed_organization(session, now=now)
    org.timezone = "UTC"
    return org


@pytest.fixture
def customer(session, now, org):
    return make_customer(session, now=now)


def _statement(session, customer, now):
    period = statements.StatementPeriod("custom", date(2000, 1, 1), now.date())
    return statements.statement(session, customer_id=customer.id, period=period,
                                at=moment_on(now.date()))


def assert_statement_balances(session, customer, now) -> int:
    """Opening + Invoiced − Payments − Credits + Refunds = Balance Due = the running balance =
    what the account says (owed, less unused credit and payments on no invoice)."""
    session.flush()
    report = _statement(session, customer, now)
    s = report.summary
    assert s.opening + s.invoiced - s.payments - s.credits + s.refunds == s.balance_due
    if report.entries:
        assert report.entries[-1].balance == s.balance_due
    position = billing.account_position(session, customer_id=customer.id,
                                        at=moment_on(now.date()))
    assert position.balance == s.balance_due
    return s.balance_due


def _invoice(session, customer, now, amount=1000, days_ago=0):
    return make_invoice(session, customer=customer, now=now, amount=amount,
                        issue=now.date() - timedelta(days=days_ago))


# --- One-off invoices ---------------------------------------------------------------------------

def test_a_one_off_invoice_carries_the_organizations_tax_and_is_emailed(session, now, customer):
    invoice = billing.issue_one_off(
        session, actor=ADMIN, customer_id=customer.id, idempotency_key="k" * 20,
        lines=[billing.LineInput("Consulting", "3", "100.00"), billing.LineInput(),
               billing.LineInput("Travel", "", "45.50")],
        due_date=None, at=moment_on(now.date(), now))
    assert (invoice.kind, invoice.subtotal, invoice.tax_total, invoice.total) == (
        "one_off", 34550, 6910, 41460)
    assert invoice.due_date == now.date() + timedelta(days=7)
    assert [m.template for m in session.exec(select(OutboxMessage))] == ["invoice_issued"]
    again = billing.issue_one_off(session, actor=ADMIN, customer_id=customer.id,
                                  idempotency_key="k" * 20, lines=[], due_date=None,
                                  at=moment_on(now.date(), now))
    assert again.id == invoice.id
    assert_statement_balances(session, customer, now)


def test_one_off_lines_with_mistakes_are_named_by_row_and_field(session, now, customer):
    with pytest.raises(InvalidChanges) as refused:
        billing.issue_one_off(session, actor=ADMIN, customer_id=customer.id,
                              idempotency_key="x" * 20, due_date=now.date() - timedelta(days=1),
                              at=moment_on(now.date(), now),
                              lines=[billing.LineInput("", "1", "10"),
                                     billing.LineInput("Seats", "-2", "1.234")])
    assert set(refused.value.errors) == {"lines-0-description", "lines-1-quantity",
                                         "lines-1-unit_price"}


# --- Voids --------------------------------------------------------------------------------------

def test_voiding_an_unpaid_invoice_takes_it_off_the_statement(session, now, customer):
    invoice = _invoice(session, customer, now)
    assert assert_statement_balances(session, customer, now) == 1000
    voided = billing.void_invoice(session, actor=ADMIN, invoice_id=invoice.id, reason="Sent twice",
                                  at=moment_on(now.date(), now))
    assert (voided.invoice.status, voided.credit_note, voided.credit_returned) == (
        "void", None, 0)
    assert assert_statement_balances(session, customer, now) == 0


def test_voiding_a_partly_settled_invoice_gives_back_what_was_paid_and_credited(
        session, now, customer):
    earlier = ledger.create_credit_note(session, customer_id=customer.id, currency="USD",
                                        total=200, reason="Goodwill", issue_date=now.date(),
                                        now=now)
    invoice = _invoice(session, customer, now)  # uses the 200 of credit at once
    pay(session, customer=customer, invoices=[invoice], amount=400, now=now, method="cash")
    assert (invoice.credits_applied, invoice.amount_paid) == (200, 400)
    assert assert_statement_balances(session, customer, now) == 400
    voided = billing.void_invoice(session, actor=ADMIN, invoice_id=invoice.id, reason="",
                                  at=moment_on(now.date(), now))
    assert voided.credit_returned == 200 and earlier.balance == 200 and earlier.status == "open"
    assert voided.credit_note.total == 400 and voided.credit_note.invoice_id == invoice.id
    assert assert_statement_balances(session, customer, now) == -600
    assert billing.account_position(session, customer_id=customer.id,
                                    at=moment_on(now.date())).unused_credit == 600
    # The credit pays the next invoice by itself.
    later = _invoice(session, customer, now, amount=700)
    assert later.credits_applied == 600
    assert assert_statement_balances(session, customer, now) == 100


def test_only_open_invoices_can_be_voided(session, now, customer):
    invoice = _invoice(session, customer, now)
    pay(session, customer=customer, invoices=[invoice], amount=1000, now=now)
    with pytest.raises(IllegalTransition):
        billing.void_invoice(session, actor=ADMIN, invoice_id=invoice.id, reason="",
                             at=moment_on(now.date(), now))


# --- Offline payments ---------------------------------------------------------------------------

def test_an_offline_payment_pays_the_oldest_invoices_and_sends_a_receipt(session, now, customer):
    old, new = _invoice(session, customer, now, 600, days_ago=20), _invoice(session, customer,
                                                                            now, 600)
    payment = billing.record_offline_payment(
        session, actor=ADMIN, customer_id=customer.id, idempotency_key="p" * 20,
        data=billing.OfflinePayment("8.00", "cheque", "Cheque 000123"),
        at=moment_on(now.date(), now))
    assert (payment.method, payment.reference, payment.status) == ("cheque", "Cheque 000123",
                                                                   "succeeded")
    assert (old.status, new.amount_paid) == ("paid", 200)
    assert "payment_receipt" in [m.template for m in session.exec(select(OutboxMessage))]
    assert session.exec(select(Notification)).first().event == "payment_received"
    assert assert_statement_balances(session, customer, now) == 400


def test_an_offline_payment_is_checked_before_it_is_recorded(session, now, customer):
    with pytest.raises(InvalidChanges) as refused:
        billing.record_offline_payment(
            session, actor=ADMIN, customer_id=customer.id, idempotency_key="q" * 20,
            data=billing.OfflinePayment("0", "card", paid_on=now.date() + timedelta(days=1),
                                        invoice_ids=(12345,)),
            at=moment_on(now.date(), now))
    assert set(refused.value.errors) == {"amount", "method", "paid_on", "invoice_ids"}
    assert session.exec(select(Payment)).all() == []


# --- Refunds and credit -------------------------------------------------------------------------

def _paid(session, customer, now, amount=1000, paid=1000):
    invoice = _invoice(session, customer, now, amount)
    payment = billing.record_offline_payment(
        session, actor=ADMIN, customer_id=customer.id, idempotency_key=f"pay-{amount}-{paid}",
        data=billing.OfflinePayment(str(paid / 100), "bank_transfer", "TRX-1"),
        at=moment_on(now.date(), now))
    return invoice, payment


def test_a_refund_reopens_what_it_paid_and_the_statement_follows(session, now, customer):
    invoice, payment = _paid(session, customer, now)
    refund = billing.refund_payment(session, actor=ADMIN, payment_id=payment.id, amount="3",
                                    reference="Returned", at=moment_on(now.date(), now))
    assert (refund.kind, refund.method, refund.amount, refund.refund_of_id) == (
        "refund", "bank_transfer", 300, payment.id)
    assert (invoice.status, ledger.balance_due(invoice)) == ("open", 300)
    assert assert_statement_balances(session, customer, now) == 300
    with pytest.raises(InvalidChanges) as refused:
        billing.refund_payment(session, actor=ADMIN, payment_id=payment.id, amount="7.01",
                               reference="", at=moment_on(now.date(), now))
    assert refused.value.errors["amount"].format("en_GB") == "At most US$7.00 can be refunded."
    billing.refund_payment(session, actor=ADMIN, payment_id=payment.id, amount="7",
                           reference="", at=moment_on(now.date(), now))
    assert ledger.balance_due(invoice) == 1000
    assert assert_statement_balances(session, customer, now) == 1000


def test_a_refund_comes_out_of_an_overpayment_first(session, now, customer):
    invoice, payment = _paid(session, customer, now, amount=1000, paid=1500)
    billing.refund_payment(session, actor=ADMIN, payment_id=payment.id, amount="5",
                           reference="", at=moment_on(now.date(), now))
    assert invoice.status == "paid"
    assert assert_statement_balances(session, customer, now) == 0


def test_an_overpayment_turns_into_credit_for_the_next_invoice(session, now, customer):
    _, payment = _paid(session, customer, now, amount=1000, paid=1500)
    assert assert_statement_balances(session, customer, now) == -500
    with pytest.raises(InvalidChanges):
        billing.payment_to_credit(session, actor=ADMIN, payment_id=payment.id, amount="5.01",
                                  at=moment_on(now.date(), now))
    note = billing.payment_to_credit(session, actor=ADMIN, payment_id=payment.id, amount="5",
                                     at=moment_on(now.date(), now))
    assert (note.total, note.balance) == (500, 500)
    view = billing.payment_view(session, payment_id=payment.id)
    assert (view.unapplied, view.refundable, view.can_credit) == (0, 1000, False)
    assert assert_statement_balances(session, customer, now) == -500
    later = _invoice(session, customer, now, amount=800)
    assert later.credits_applied == 500
    assert assert_statement_balances(session, customer, now) == 300


def test_statement_balances_through_a_mix_of_everything(session, now, customer):
    first, payment = _paid(session, customer, now, amount=1000, paid=1200)
    second = _invoice(session, customer, now, amount=900)
    billing.payment_to_credit(session, actor=ADMIN, payment_id=payment.id, amount="1",
                              at=moment_on(now.date(), now))
    billing.refund_payment(session, actor=ADMIN, payment_id=payment.id, amount="2.50",
                           reference="", at=moment_on(now.date(), now))
    billing.void_invoice(session, actor=ADMIN, invoice_id=second.id, reason="",
                         at=moment_on(now.date(), now))
    assert first.status == "open"
    assert len(session.exec(select(CreditNote)).all()) == 1
    assert assert_statement_balances(session, customer, now) == 50
