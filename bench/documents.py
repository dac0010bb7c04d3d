"""python -m bench.documents [--rows 10 100 1000] [--rounds R] [--page-count]: the statement PDF
beside a bare xhtml2pdf table of the same rows (same font), with the ratio. Prints a table,
asserts nothing. With --page-count: the same statement's HTML rendered three ways in the same
run: one layout with no page numbers; the footer's "Page N of M" by xhtml2pdf's
<pdf:pagecount> (as before issue 25's stamp: two layouts, to know the count); and one layout
with "Page i of M" stamped afterwards (pdf.stamp_page_numbers, what the documents do now).

No database: the statement is built in memory from synthetic rows, so the figures are the
render alone (Jinja + xhtml2pdf), which is what runs in the request or the job.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from io import BytesIO

from pypdf import PdfReader

from webapp.models import Customer, Organization
from webapp.services.core import pdf
from webapp.services.documents import statements
from webapp.services.documents.statements import (
    Aging,
    AgingBucket,
    Statement,
    StatementDocument,
    StatementEntry,
    StatementPeriod,
    StatementSummary,
)

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
START = date(2026, 1, 1)

BARE = """<html><head><meta charset="utf-8"><style>
@font-face {{ font-family: DejaVuSans; src: url("fonts/DejaVuSans.ttf"); }}
body {{ font-family: DejaVuSans; font-size: 9pt; }} td {{ padding: 2pt; }}
</style></head><body><table repeat="1">
<thead><tr><th>Date</th><th>Transaction</th><th>Details</th><th>Debit</th><th>Credit</th>
<th>Balance</th></tr></thead><tbody>{rows}</tbody></table></body></html>"""


def synthetic_statement(rows: int) -> StatementDocument:
    """A statement of `rows` alternating invoices and payments, as the service would build."""
    org = Organization(id=1, name="Northwind Cloud Ltd", email="billing@northwind.example",
                       address="12 Harbour Street, Bristol", timezone="Europe/London",
                       locale="en_GB", created_at=NOW)
    customer = Customer(id=1, display_name="Jane Cooper", company="Cooper Design Studio",
                        email="jane@example.com", currency="USD", created_at=NOW)
    entries, balance = [], 0
    for index in range(rows):
        on = START + timedelta(days=index % 330)
        if index % 2 == 0:
            balance += 2280
            entries.append(StatementEntry(on, "invoice", "Invoice", f"INV-{index:06d}", index,
                                          "", on + timedelta(days=14), 2280, 0, balance,
                                          "invoices.detail", {"invoice_id": index}))
        else:
            balance -= 2280
            entries.append(StatementEntry(on, "payment", "Payment", f"PAY-{index:06d}", index,
                                          "Card", None, 0, 2280, balance,
                                          "payments.receipt", {"payment_id": index}))
    invoiced = sum(e.debit for e in entries)
    summary = StatementSummary(0, invoiced, invoiced - balance, 0, 0)
    buckets = tuple(AgingBucket(key, label, 0, 0)
                    for key, label, _ in statements.AGING_BUCKETS)
    period = StatementPeriod("this_year", START, date(2026, 12, 31))
    return StatementDocument(org, Statement(customer, "USD", period, summary, tuple(entries),
                                            Aging(NOW.date(), buckets), NOW.date()))


def bare_html(loaded: StatementDocument) -> str:
    rows = "".join(
        f"<tr><td>{e.on.isoformat()}</td><td>{e.label} {e.number}</td><td>{e.details}</td>"
        f"<td>{e.debit / 100:.2f}</td><td>{e.credit / 100:.2f}</td>"
        f"<td>{e.balance / 100:.2f}</td></tr>"
        for e in loaded.statement.entries)
    return BARE.format(rows=rows)


def timed(render) -> tuple[float, bytes]:
    started = time.perf_counter()
    content = render()
    return time.perf_counter() - started, content


def measure(rows: int, rounds: int) -> dict:
    loaded = synthetic_statement(rows)
    bare = bare_html(loaded)
    timed(lambda: loaded.render().content)  # warm: fonts, templates
    ours, floor, pages = [], [], 0
    for _ in range(rounds):  # alternate, so other load on the machine weighs on both
        seconds, content = timed(lambda: loaded.render().content)
        ours.append(seconds)
        pages = len(PdfReader(BytesIO(content)).pages)
        floor.append(timed(lambda: pdf.html_to_pdf(bare, page_numbers=False))[0])
    ours_s, floor_s = statistics.median(ours), statistics.median(floor)
    return {"rows": rows, "pages": pages, "statement_ms": ours_s * 1000,
            "bare_ms": floor_s * 1000, "ratio": ours_s / floor_s}


# The footer as it was before the stamp: xhtml2pdf counts the pages itself.
FOOTER = re.compile(r'(<div id="page-footer">.*?)(</div>)', re.S)
PAGE_COUNT = r"\1 · Page <pdf:pagenumber> of <pdf:pagecount>\2"


def page_count_cost(rows: int, rounds: int) -> dict:
    """The statement's render: one layout alone, two layouts (<pdf:pagecount>), one + stamp."""
    loaded = synthetic_statement(rows)
    html = pdf.render_html("print/statement.html", {
        "org": loaded.org, "customer": loaded.statement.customer, "statement": loaded.statement})
    if "pdf:pagecount" in html or not FOOTER.search(html):
        raise SystemExit("print/base.html's footer is not what this compares")
    counted = FOOTER.sub(PAGE_COUNT, html, count=1)
    pdf.html_to_pdf(html)  # warm
    alone, twice, stamped = [], [], []
    for _ in range(rounds):  # alternate, so other load on the machine weighs on all three
        alone.append(timed(lambda: pdf.html_to_pdf(html, page_numbers=False))[0])
        twice.append(timed(lambda: pdf.html_to_pdf(counted, page_numbers=False))[0])
        stamped.append(timed(lambda: pdf.html_to_pdf(html))[0])
    alone_s, twice_s, stamped_s = (statistics.median(t) for t in (alone, twice, stamped))
    return {"rows": rows, "alone_ms": alone_s * 1000, "twice_ms": twice_s * 1000,
            "stamped_ms": stamped_s * 1000, "twice_ratio": twice_s / alone_s,
            "stamped_ratio": stamped_s / alone_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page-count", action="store_true",
                        help='what "Page N of M" costs: two layouts against one + stamp')
    args = parser.parse_args()
    if args.page_count:
        print(f"{'rows':>6} {'no numbers':>11} {'2 layouts':>16} {'1 layout + stamp':>17}")
        for rows in args.rows:
            r = page_count_cost(rows, args.rounds)
            print(f"{r['rows']:>6} {r['alone_ms']:>8.0f} ms {r['twice_ms']:>7.0f} ms "
                  f"{r['twice_ratio']:>5.2f}x {r['stamped_ms']:>8.0f} ms "
                  f"{r['stamped_ratio']:>5.2f}x")
        return
    print(f"{'rows':>6} {'pages':>6} {'statement PDF':>14} {'bare table':>11} {'ratio':>6}"
          "   (target ratio <= 1.2x)")
    for rows in args.rows:
        r = measure(rows, args.rounds)
        print(f"{r['rows']:>6} {r['pages']:>6} {r['statement_ms']:>11.0f} ms "
              f"{r['bare_ms']:>8.0f} ms {r['ratio']:>5.2f}x")


if __name__ == "__main__":
    main()
