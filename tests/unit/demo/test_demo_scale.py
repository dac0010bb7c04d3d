"""The scale seeder's data obeys the ledger, like data the services write."""

from collections import Counter
from functools import cache

import pytest
from sqlalchemy import func
from sqlmodel import select

from tests.factories import moment_on
from webapp import demo
from webapp.demo import scale as demo_scale
from webapp.models import (
    CreditApplication,
    CreditNote,
    Customer,
    Invoice,
    InvoiceLine,
    Organization,
    Payment,
    PaymentAllocation,
    Subscription,
    User,
)
from webapp.services.accounts.auth import hash_password
from webapp.services.billing import invoices, ledger
from webapp.services.core.money import percent_of


def _seed(session, now, customers=5, seed=7):
    for _ in demo_scale.seed_scale(session, customers=customers, now=now, seed=seed,
                                   password_hash=_hash(), batch_size=2):
        session.flush()


@cache
def _hash():
    return hash_password(demo_scale.PASSWORD)


@pytest.fixture
def scaled(session, now):
    demo.seed_organization(session, now=now)
    _seed(session, now)
    session.commit()
    return session


def _by_invoice(session, column, key):
    return dict(session.exec(select(key, func.sum(column)).group_by(key)).all())


def test_each_invoice_total_is_the_sum_of_its_lines_with_tax(scaled):
    lines = _by_invoice(scaled, InvoiceLine.amount + InvoiceLine.tax_amount,
                        InvoiceLine.invoice_id)
    totals = dict(scaled.exec(select(Invoice.id, Invoice.total)).all())
    assert len(totals) > 400
    assert totals == lines


def test_lines_carry_the_organizations_tax_rate(scaled):
    rate = scaled.exec(select(Organization.tax_rate_bp)).one()
    assert rate
    for amount, tax in scaled.exec(select(InvoiceLine.amount, InvoiceLine.tax_amount)):
        assert tax == percent_of(amount, rate)


def test_amount_paid_is_the_sum_of_allocations(scaled):
    allocated = _by_invoice(scaled, PaymentAllocation.amount, PaymentAllocation.invoice_id)
    for invoice in scaled.exec(select(Invoice)):
        assert invoice.amount_paid == allocated.get(invoice.id, 0), invoice.number


def test_credits_applied_is_the_sum_of_credit_applications(scaled):
    applied = _by_invoice(scaled, CreditApplication.amount, CreditApplication.invoice_id)
    assert applied, "some credit should have been applied"
    for invoice in scaled.exec(select(Invoice)):
        assert invoice.credits_applied == applied.get(invoice.id, 0), invoice.number


def test_an_invoice_is_paid_exactly_when_nothing_is_left_to_pay(scaled):
    statuses = Counter()
    for invoice in scaled.exec(select(Invoice)):
        statuses[invoice.status] += 1
        if invoice.status != "void":
            assert (invoice.status == "paid") == (ledger.balance_due(invoice) == 0), invoice.number
            assert ledger.balance_due(invoice) >= 0
    assert statuses["paid"] and statuses["open"]


def test_totals_less_payments_and_credits_are_the_open_balances_per_customer(scaled, now):
    for customer in scaled.exec(select(Customer)):
        rows = scaled.exec(select(Invoice).where(Invoice.customer_id == customer.id,
                                                 Invoice.status != "void")).all()
        ids = [row.id for row in rows]
        allocated = scaled.exec(select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
                                .where(PaymentAllocation.invoice_id.in_(ids))).one()
        credited = scaled.exec(select(func.coalesce(func.sum(CreditApplication.amount), 0))
                               .where(CreditApplication.invoice_id.in_(ids))).one()
        open_balance, _ = invoices.outstanding(scaled, customer_id=customer.id,
                                               at=moment_on(now.date()))
        assert sum(row.total for row in rows) - allocated - credited == open_balance


def test_credit_notes_keep_what_was_not_applied(scaled):
    applied = _by_invoice(scaled, CreditApplication.amount, CreditApplication.credit_note_id)
    for note in scaled.exec(select(CreditNote)):
        assert note.balance == note.total - applied.get(note.id, 0)
        assert (note.status == "closed") == (note.balance == 0)


def test_allocations_come_from_succeeded_payments_and_never_exceed_them(scaled):
    allocated = _by_invoice(scaled, PaymentAllocation.amount, PaymentAllocation.payment_id)
    for payment in scaled.exec(select(Payment)):
        if payment.status == "failed":
            assert payment.id not in allocated and payment.number is None
        else:
            assert allocated.get(payment.id, 0) <= payment.amount


def _unique_and_gap_free(session, model) -> bool:
    numbers = [n for n in session.exec(select(model.number)) if n is not None]
    values = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    return len(set(numbers)) == len(numbers) == len(values) > 0 and \
        values == list(range(values[0], values[0] + len(values)))


@pytest.mark.parametrize("model", [Invoice, Payment, CreditNote, Subscription])
def test_document_numbers_are_unique_and_gap_free(scaled, model):
    assert _unique_and_gap_free(scaled, model)


def test_customers_get_about_a_hundred_invoices_and_subscriptions_in_mixed_states(scaled):
    per_customer = dict(scaled.exec(select(Invoice.customer_id, func.count())
                                    .group_by(Invoice.customer_id)).all())
    bench = scaled.exec(select(User).where(User.email == demo_scale.BENCH_EMAIL)).one()
    others = [n for cid, n in per_customer.items() if cid != bench.customer_id]
    assert len(others) == 5 and all(60 <= n <= 200 for n in others), others
    assert per_customer[bench.customer_id] >= 500
    states = set(scaled.exec(select(Subscription.status)).all())
    assert {"live", "cancelled"} <= states and len(states) >= 5


def test_another_run_adds_customers_and_keeps_one_bench_login(scaled, now):
    before = scaled.exec(select(func.count()).select_from(Customer)).one()
    _seed(scaled, now, customers=2, seed=8)
    assert scaled.exec(select(func.count()).select_from(Customer)).one() == before + 2
    assert scaled.exec(select(func.count()).select_from(User)
                       .where(User.email == demo_scale.BENCH_EMAIL)).one() == 1
    assert _unique_and_gap_free(scaled, Invoice) and _unique_and_gap_free(scaled, Payment)


def test_euro_customers_read_german_formats_and_some_others_british(scaled):
    rows = scaled.exec(select(Customer.currency, Customer.locale)).all()
    assert {locale for currency, locale in rows if currency == "EUR"} == {"de_DE"}
    assert {locale for currency, locale in rows if currency != "EUR"} == {"en_GB", None}
