"""python -m bench [--db sqlite|postgresql|both] [--customers N] [--duration S] [--rounds R]
[--reseed]: the portal's pages beside the bare floor, PostgreSQL and SQLite."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from dataclasses import asdict, dataclass, replace

from bench import database, report, server, wrk
from webapp import demo
from webapp.demo import scale


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    marker: str
    floor: str | None  # the floor it is compared with: "table" or "fragment"; None for floors
    htmx: bool = False
    judged: bool = True  # False: a reference shown beside the floor, with no target of its own
    admin: bool = False  # requested signed in as the demo's admin (the back office)


FLOOR_TABLE = Page("bare query + table", "/_bench/table", 'id="bench-table"', None)
FLOOR_FRAGMENT = Page("bare 1 KB fragment", "/_bench/fragment", 'id="bench-fragment"', None)
LAYOUT = Page("portal layout, no data (reference)", "/_bench/layout", 'id="bench-layout"',
              "table", judged=False)
SIGNED_IN_FRAGMENT = Page("1 KB fragment, signed in (reference)", "/_bench/signed-in-fragment",
                          'id="bench-fragment"', "fragment", judged=False)


def pages_for(client: server.Client) -> list[Page]:
    """The real pages, with an invoice and a deep page number read off the invoice list."""
    status, body = client.get("/invoices")
    if status != 200:
        raise SystemExit(f"/invoices answered {status}; is the bench customer logged in?")
    invoice_id = re.search(r'href="/invoices/(\d+)"', body).group(1)
    last_page = int(re.search(r"Page 1 of (\d+)", body).group(1))
    deep = max(3, last_page * 3 // 4)
    forward = client.post_form(f"/invoices/{invoice_id}/forward",
                               {"addresses": "bench-forward@example.com"})
    return [
        Page("dashboard /", "/", "<h1>Home</h1>", "table"),
        Page("/subscriptions", "/subscriptions", "<h1>Subscriptions</h1>", "table"),
        Page("/invoices (page 1)", "/invoices", "Page 1 of", "table"),
        Page(f"/invoices?page={deep} (deep)", f"/invoices?page={deep}", f"Page {deep} of",
             "table"),
        Page("invoice detail", f"/invoices/{invoice_id}", "<h1>Invoice ", "table"),
        # The list's htmx swap is 25 rows read and rendered, the floor table's shape.
        Page("htmx /invoices?status=paid (list swap)", "/invoices?status=paid",
             '<section id="invoice-list"', "table", htmx=True),
        # The fragment htmx polls every second while a forwarded document's mail is queued.
        Page("htmx forward status (polled)", forward, '<section id="document-forward-status"',
             "fragment", htmx=True),
        # The back office over every customer (issue 31): at least a third of /invoices' req/s.
        Page("admin home /admin/", "/admin/", 'id="admin-home-panels"', "table", admin=True),
        Page("admin /admin/subscriptions", "/admin/subscriptions", "Page 1 ", "table",
             admin=True),
        Page("admin /admin/invoices", "/admin/invoices", "Page 1 ", "table", admin=True),
        Page("admin /admin/payments", "/admin/payments", "Page 1 ", "table", admin=True),
        LAYOUT,
        SIGNED_IN_FRAGMENT,
        FLOOR_TABLE,
        FLOOR_FRAGMENT,
    ]


def verify(client: server.Client, admin: server.Client, pages: list[Page]) -> None:
    """Each URL answers 200 with its page's marker (not the login form, not a full page for
    the fragment)."""
    for page in pages:
        status, body = (admin if page.admin else client).get(page.path, htmx=page.htmx)
        problems = []
        if status != 200:
            problems.append(f"status {status}")
        if page.marker not in body:
            problems.append(f"no {page.marker!r}")
        if page.htmx and "<html" in body:
            problems.append("a full page where a fragment was asked for")
        if problems:
            raise SystemExit(f"{page.path}: {', '.join(problems)}")


def measure(b: database.Backend, load: wrk.Load, warmup: int, rounds: int) -> dict[str, dict]:
    """Every page, then every page again, `rounds` times: other work on the machine then
    weighs on a page and its floor alike. Each figure is the median over the rounds."""
    with server.gunicorn(b) as base:
        client = server.login(base, scale.BENCH_EMAIL, scale.PASSWORD)
        admin = server.login(base, *demo.ADMIN, home="/admin/")
        pages = pages_for(client)
        verify(client, admin, pages)
        runs: dict[str, list[wrk.Result]] = {page.label: [] for page in pages}
        for round_number in range(rounds):
            for page in pages:
                url = base + page.path
                headers = (admin if page.admin else client).headers(page.htmx)
                if warmup and round_number == 0:
                    wrk.run(url, headers, load, duration=warmup)
                runs[page.label].append(wrk.run(url, headers, load))
            print(f"[{b.name}] round {round_number + 1}/{rounds} done, load average "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
        verify(client, admin, pages)  # still logged in at the end
    return {page.label: {"page": asdict(page), "runs": [asdict(r) for r in runs[page.label]],
                         "result": asdict(wrk.median(runs[page.label]))} for page in pages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10,
                        help="seconds of load per page and round")
    parser.add_argument("--rounds", type=int, default=2, help="times each page is loaded")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load first")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--reseed", action="store_true", help="rebuild the cached databases")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    load = replace(wrk.Load(), duration=args.duration, threads=args.threads,
                   connections=args.connections)
    names = ("postgresql", "sqlite") if args.db == "both" else (args.db,)
    database.CACHE.mkdir(parents=True, exist_ok=True)  # logs and results go there from the start
    print(report.machine())
    for name in names:
        b = database.backend(name, args.customers)
        database.prepare(b, args.customers, reseed=args.reseed)
        results = measure(b, load, args.warmup, args.rounds)
        (database.CACHE / f"results-{name}.json").write_text(json.dumps(results, indent=2))
        print(report.table(name, results, load, args.rounds), flush=True)
        print(report.ceilings(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
