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
from pathlib import Path

from sqlalchemy import text

from bench import database, report, server, wrk
from webapp import demo
from webapp.db import make_engine
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
    bare: bool = False  # served by the plain Flask + SQLModel app (bench/bare.py), no login


FLOOR_TABLE = Page("bare query + table", "/_bench/table", 'id="bench-table"', None)
FLOOR_FRAGMENT = Page("bare 1 KB fragment", "/_bench/fragment", 'id="bench-fragment"', None)
LAYOUT = Page("portal layout, no data (reference)", "/_bench/layout", 'id="bench-layout"',
              "table", judged=False)
SIGNED_IN_FRAGMENT = Page("1 KB fragment, signed in (reference)", "/_bench/signed-in-fragment",
                          'id="bench-fragment"', "fragment", judged=False)
ONE_READ_FRAGMENT = Page("1 KB fragment, signed in, SELECT 1 (ceiling)",
                         "/_bench/signed-in-fragment/one-read", 'id="bench-fragment"',
                         "fragment", judged=False)
PORTAL_FRAGMENT = Page("1 KB fragment, signed in, portal template (ceiling)",
                       "/_bench/signed-in-fragment/portal", 'id="bench-fragment"', "fragment",
                       judged=False)
BARE_FLASK = Page("plain Flask + SQLModel app, same table", "/", 'id="bench-table"', None,
                  bare=True)
ONE = "one customer"


def many(n: int) -> str:
    return f"{n} customers in turn"


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
        Page("/invoices deep page (3/4 through)", f"/invoices?page={deep}", f"Page {deep} of",
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
        ONE_READ_FRAGMENT,
        PORTAL_FRAGMENT,
        FLOOR_TABLE,
        FLOOR_FRAGMENT,
        BARE_FLASK,
    ]


def verify(client: server.Client, admin: server.Client, pages: list[Page],
           bare: str | None = None) -> None:
    """Each URL answers 200 with its page's marker (not the login form, not a full page for
    the fragment)."""
    for page in pages:
        if page.bare:
            status, body = server.Client(bare, "").get(page.path)
        else:
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


def crowd_emails(b: database.Backend, count: int) -> list[str]:
    """`count` of the seeded customers' logins, spread over the table, the bench's own
    long-history customer not among them: each has their own invoices and subscriptions."""
    engine = make_engine(b.url)
    try:
        with engine.connect() as conn:
            # Readers of English only: the checks look for the pages' English words, and a
            # customer's own locale (de_DE for a fifth of the scale customers) writes the
            # pages in their language (issue 33).
            emails = conn.execute(text(
                "SELECT u.email FROM \"user\" u JOIN customer c ON c.id = u.customer_id "
                "WHERE u.role = 'customer' AND u.email LIKE :domain "
                "AND (c.locale IS NULL OR c.locale LIKE 'en%') ORDER BY u.id"),
                {"domain": f"%@{scale.EMAIL_DOMAIN}"}).scalars().all()
    finally:
        engine.dispose()
    if len(emails) < count:
        raise SystemExit(f"--customers-in-load {count}: only {len(emails)} seeded customers")
    step = len(emails) // count
    return [emails[i * step] for i in range(count)]


def rotations(pages: list[Page], crowd: list[server.Client]) -> dict[str, Path]:
    """Per page, the file rotate.lua reads: each customer of the crowd with their own path
    (their invoice, their forward, their deep page) and session cookie. The admin's pages
    and the plain Flask app have one visitor only: they are measured once, in the first mode."""
    own = [pages_for(member) for member in crowd]
    files = {}
    for index, page in enumerate(pages):
        if page.admin or page.bare:
            continue
        requests = [(theirs[index].path, member.headers(page.htmx))
                    for theirs, member in zip(own, crowd, strict=True)]
        files[page.label] = wrk.rotation_file(
            database.CACHE / f"rotation-{index}.txt", requests)
    return files


def measure(b: database.Backend, load: wrk.Load, warmup: int, rounds: int,
            customers_in_load: int) -> dict[str, dict[str, dict]]:
    """Every page, then every page again, `rounds` times: other work on the machine then
    weighs on a page and its floor alike. Each page is loaded as the one bench customer and,
    with `customers_in_load`, right after as that many customers in turn (their own data,
    their own logins). Each figure is the median over the rounds."""
    with server.gunicorn(b) as base, server.bare_flask(b) as bare:
        client = server.login(base, scale.BENCH_EMAIL, scale.PASSWORD)
        admin = server.login(base, *demo.ADMIN, home="/admin/")
        pages = pages_for(client)
        verify(client, admin, pages, bare)
        modes = {ONE: {}}
        if customers_in_load:
            crowd = [server.login(base, email, scale.PASSWORD)
                     for email in crowd_emails(b, customers_in_load)]
            modes[many(customers_in_load)] = rotations(pages, crowd)
        runs: dict[str, dict[str, list[wrk.Result]]] = {
            mode: {page.label: [] for page in pages} for mode in modes}
        for round_number in range(rounds):
            for page in pages:
                for mode, files in modes.items():
                    rotation = files.get(page.label)
                    if mode != ONE and rotation is None:
                        continue
                    url = (bare if page.bare else base) + page.path
                    headers = ({} if page.bare else
                               (admin if page.admin else client).headers(page.htmx))
                    if warmup and round_number == 0:
                        wrk.run(url, headers, load, duration=warmup, rotation=rotation)
                    runs[mode][page.label].append(wrk.run(url, headers, load,
                                                          rotation=rotation))
            print(f"[{b.name}] round {round_number + 1}/{rounds} done, load average "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
        verify(client, admin, pages, bare)  # still logged in at the end
    results = {}
    for mode, by_page in runs.items():
        # The pages measured once (the admin's, the plain app) stand in both modes' tables.
        results[mode] = {page.label: {"page": asdict(page), "runs": [
            asdict(r) for r in (by_page[page.label] or runs[ONE][page.label])],
            "result": asdict(wrk.median(by_page[page.label] or runs[ONE][page.label])),
            "measured_in": mode if by_page[page.label] else ONE} for page in pages}
    return results


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
    parser.add_argument("--customers-in-load", type=int, default=50, metavar="N",
                        help="also load each page as N signed-in customers in turn, each "
                             "with their own data (0: only the one bench customer)")
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
        results = measure(b, load, args.warmup, args.rounds, args.customers_in_load)
        (database.CACHE / f"results-{name}.json").write_text(json.dumps(results, indent=2))
        for mode, by_page in results.items():
            print(report.table(f"{name}, {mode}", by_page, load, args.rounds), flush=True)
            print(report.ceilings(by_page), flush=True)
            print(report.first_screen(by_page), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
