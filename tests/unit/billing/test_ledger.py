from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from tests.factories import make_customer, make_invoice, moment_on, pay
from webapp import demo
from webapp.models import CreditApplication, Invoice, InvoiceLine, PaymentAllocation
from webapp.services.billing import invoices, ledger
from webapp.services.core import numbering


def test_an_invoice_total_is_the_sum_of_its_lines_with_tax_per_line(session, now):
    customer = make_customer(session, now=now)
    invoice = make_invoice(session, customer=customer, now=now, amount=1999, tax_rate_bp=2000)
    lines = session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
    assert invoice.total == sum(line.amount + line.tax_amount for line in lines) == 2399


def test_a_payment_over_several_invoices_is_allocated_oldest_first(session, now):
    customer = make_customer(session, now=now)
    newer = make_invoice(session, customer=customer, now=now, amount=1000)
    older = make_invoice(session, customer=customer, now=now, amount=1000,
                         issue=now.date() - timedelta(days=10))
    pay(session, customer=customer, invoices=[newer, older], amount=1500, now=now)
    assert older.status == "paid" and older.amount_paid == 1000
    assert newer.status == "open" and newer.amount_paid == 500


def test_an_invoice_with_part_paid_is_partially_paid_until_due(session, now):
    customer = make_customer(session, now=now)
    invoice = make_invoice(session, customer=customer, now=now, amount=1000, due_days=5)
    pay(session, customer=customer, invoices=[invoice], amount=300, now=now)
    assert invoices.derived_status(invoice, now.date()) == "partially_paid"
    assert ledger.balance_due(invoice) == 700
    assert invoices.derived_status(invoice, now.date() + timedelta(days=6)) == "overdue"


def test_an_open_invoice_past_its_due_date_is_overdue(session, now):
    customer = make_customer(session, now=now)
    invoice = make_invoice(session, customer=customer, now=now, due_days=0)
    assert invoices.derived_status(invoice, now.date()) == "open"
    assert invoices.derived_status(invoice, now.date() + timedelta(days=1)) == "overdue"


def test_unused_credit_is_applied_to_the_next_invoice(session, now):
    customer = make_customer(session, now=now)
    note = ledger.create_credit_note(session, customer_id=customer.id, currency="USD",
                                     total=400, reason="Goodwill", issue_date=now.date(), now=now)
    invoice = make_invoice(session, customer=customer, now=now, amount=1000)
    assert invoice.credits_applied == 400 and note.balance == 0 and note.status == "closed"
    assert ledger.balance_due(invoice) == 600


def test_credit_larger_than_the_invoice_pays_it_and_keeps_the_rest(session, now):
    customer = make_customer(session, now=now)
    note = ledger.create_credit_note(session, customer_id=customer.id, currency="USD",
                                     total=5000, reason="Goodwill", issue_date=now.date(), now=now)
    invoice = make_invoice(session, customer=customer, now=now, amount=1000)
    assert invoice.status == "paid" and note.balance == 4000


def test_invoice_numbers_are_gap_free_and_in_order(session, now):
    first = numbering.take(session, "invoice", 3)
    second = numbering.take_one(session, "invoice")
    assert first == ["INV-000001", "INV-000002", "INV-000003"] and second == "INV-000004"


def test_outstanding_sums_open_balances_and_counts_overdue(session, now):
    customer = make_customer(session, now=now)
    make_invoice(session, customer=customer, now=now, amount=1000,
                 issue=now.date() - timedelta(days=30), due_days=10)
    paid = make_invoice(session, customer=customer, now=now, amount=500)
    pay(session, customer=customer, invoices=[paid], amount=500, now=now)
    make_invoice(session, customer=customer, now=now, amount=250)
    assert invoices.outstanding(session, customer_id=customer.id,
                                at=moment_on(now.date())) == (1250, 1)


def _ledger_identity(session, customer_id):
    totals = session.exec(select(func.coalesce(func.sum(Invoice.total), 0)).where(
        Invoice.customer_id == customer_id, Invoice.status != "void")).one()
    allocated = session.exec(select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
                             .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
                             .where(Invoice.customer_id == customer_id)).one()
    credited = session.exec(select(func.coalesce(func.sum(CreditApplication.amount), 0))
                            .join(Invoice, Invoice.id == CreditApplication.invoice_id)
                            .where(Invoice.customer_id == customer_id)).one()
    open_balances = sum(ledger.balance_due(inv) for inv in session.exec(
        select(Invoice).where(Invoice.customer_id == customer_id, Invoice.status == "open")))
    return totals - allocated - credited, open_balances


def test_the_demo_data_obeys_the_ledger(session, now):
    seeded = demo.seed_demo(session, now=now)
    session.commit()
    for customer_id in (seeded.jane_customer_id, seeded.omar_customer_id):
        left, right = _ledger_identity(session, customer_id)
        assert left == right > 0
    for invoice in session.exec(select(Invoice)).all():
        lines = session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
        assert invoice.total == sum(line.amount + line.tax_amount for line in lines)


def test_jane_has_a_subscription_in_every_state(session, now):
    from webapp.models import Subscription

    seeded = demo.seed_demo(session, now=now)
    rows = session.exec(select(Subscription.status, Subscription.expired_reason)
                        .where(Subscription.customer_id == seeded.jane_customer_id)).all()
    states = {status for status, _ in rows}
    assert states == {"future", "trial", "live", "non_renewing", "paused", "dunning", "unpaid",
                      "cancelled", "expired"}
    assert {reason for status, reason in rows if status == "expired"} == {"trial_end", "term_end"}


def test_jane_has_paid_partially_paid_overdue_and_open_invoices(session, now):
    seeded = demo.seed_demo(session, now=now)
    rows = session.exec(select(Invoice).where(Invoice.customer_id == seeded.jane_customer_id)).all()
    statuses = {invoices.derived_status(inv, now.date()) for inv in rows}
    assert statuses == {"paid", "partially_paid", "overdue", "open"}


def test_seeding_twice_changes_nothing(session, now):
    demo.seed_demo(session, now=now)
    session.commit()
    count = session.exec(select(func.count()).select_from(Invoice)).one()
    assert demo.seed_demo(session, now=now).created is False
    session.commit()
    assert session.exec(select(func.count()).select_from(Invoice)).one() == count
