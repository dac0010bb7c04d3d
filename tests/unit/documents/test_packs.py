"""The accountant pack: one ZIP with the statement, every document in the range, and a CSV."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta

from tests.factories import make_customer, make_invoice, moment_on
from tests.unit.documents.test_documents import pdf_text
from tests.unit.documents.test_statements import refund
from webapp import demo
from webapp.services.billing import ledger
from webapp.services.documents import packs
from webapp.services.documents.statements import StatementPeriod

BASE = date(2026, 6, 1)
PERIOD = StatementPeriod("custom", BASE, BASE + timedelta(days=29))


def build(session, now):
    demo.seed_organization(session, now=now)
    customer = make_customer(session, now=now, currency="EUR")
    before = make_invoice(session, customer=customer, now=now, amount=999,
                          issue=BASE - timedelta(days=1))
    invoice = make_invoice(session, customer=customer, now=now, amount=1250, issue=BASE)
    note = ledger.create_credit_note(session, customer_id=customer.id, currency="EUR",
                                     total=300, reason="Goodwill",
                                     issue_date=BASE + timedelta(days=2), now=now)
    payment = ledger.record_payment(session, customer_id=customer.id, amount=500,
                                    currency="EUR", invoices=[invoice],
                                    paid_on=BASE + timedelta(days=3), now=now,
                                    idempotency_key="pack-1")
    back = refund(session, customer=customer, amount=100, on=BASE + timedelta(days=4), now=now)
    return customer, before, invoice, note, payment, back


def test_the_pack_holds_the_statement_every_document_in_the_range_and_a_csv(session, now):
    customer, before, invoice, note, payment, back = build(session, now)
    pack = packs.load_pack(session, customer_id=customer.id, period=PERIOD,
                           at=moment_on(now.date()))
    seen: list[int] = []
    document = pack.render(seen.append)
    archive = zipfile.ZipFile(io.BytesIO(document.content))
    assert sorted(archive.namelist()) == sorted([
        "statement-2026-06-01-to-2026-06-30.pdf", "transactions.csv",
        f"invoices/{invoice.number}.pdf", f"credit-notes/{note.number}.pdf",
        f"receipts/{payment.number}.pdf", f"receipts/{back.number}.pdf"])
    assert invoice.number in pdf_text(archive.read(f"invoices/{invoice.number}.pdf"))
    assert document.filename == "accountant-pack-2026-06-01-to-2026-06-30.zip"
    assert document.media_type == "application/zip" and seen[-1] == 95


def test_the_csv_lists_the_opening_balance_and_each_transaction_in_major_units(session, now):
    customer, before, invoice, note, payment, back = build(session, now)
    pack = packs.load_pack(session, customer_id=customer.id, period=PERIOD,
                           at=moment_on(now.date()))
    archive = zipfile.ZipFile(io.BytesIO(pack.render().content))
    rows = list(csv.reader(io.StringIO(archive.read("transactions.csv").decode())))
    assert rows[0] == list(packs.CSV_HEADER)
    assert rows[1] == ["2026-06-01", "Opening Balance", "", "", "", "", "9.99", "EUR"]
    assert rows[2] == ["2026-06-01", "Invoice", invoice.number, "Due 2026-06-15", "12.50", "",
                       "22.49", "EUR"]
    assert [row[1] for row in rows[3:]] == ["Credit note", "Credit applied", "Payment", "Refund"]
    # the credit went at once to the oldest open invoice; applying it moves no balance
    assert rows[4] == ["2026-06-03", "Credit applied", note.number,
                       f"3.00 applied to {before.number}", "", "", "19.49", "EUR"]
    assert rows[-1][6] == "15.49"


def test_an_empty_range_makes_a_pack_with_just_the_statement_and_csv(session, now):
    customer, *_ = build(session, now)
    empty = StatementPeriod("custom", date(2025, 1, 1), date(2025, 1, 31))
    pack = packs.load_pack(session, customer_id=customer.id, period=empty, at=moment_on(now.date()))
    names = zipfile.ZipFile(io.BytesIO(pack.render().content)).namelist()
    assert sorted(names) == ["statement-2025-01-01-to-2025-01-31.pdf", "transactions.csv"]


def test_the_csv_escapes_text_a_spreadsheet_would_run_but_keeps_negative_numbers(session, now):
    demo.seed_organization(session, now=now)
    customer = make_customer(session, now=now, currency="EUR")
    make_invoice(session, customer=customer, now=now, amount=1000, issue=BASE)
    ledger.create_credit_note(session, customer_id=customer.id, currency="EUR", total=1500,
                              reason='=HYPERLINK("http://evil.example","refund")',
                              issue_date=BASE + timedelta(days=1), now=now)
    statement = packs.load_pack(session, customer_id=customer.id, period=PERIOD,
                                at=moment_on(now.date())).statement.statement
    rows = list(csv.reader(io.StringIO(packs.transactions_csv(statement))))
    (note,) = [row for row in rows if row[1] == "Credit note"]
    assert note[3] == '\'=HYPERLINK("http://evil.example","refund")'
    # the credit pays the invoice at once (a row that moves no balance), then -5.00 is left
    assert rows[-1][1] == "Credit applied" and rows[-1][6] == "-5.00"
    assert (note[5], note[6]) == ("15.00", "-5.00")  # numbers, never escaped
