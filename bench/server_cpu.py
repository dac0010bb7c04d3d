"""Client and PostgreSQL CPU per request, in-process: python -m bench.server_cpu [--requests N]

`bench.cpu` counts this process's CPU only; a page's statement also costs the PostgreSQL
backend that runs it, on the same cores under load. This serves the bench pages through
Flask's test client on the PostgreSQL bench database, its connections named by
`application_name`, and reads their backends' CPU from /proc (Linux, the server on this
machine) before and after each page's requests. It prints a table and asserts nothing.
It found that each page's statement was planned on every request (issue 32, bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import re
import time

import psycopg
from sqlalchemy.engine import make_url

from bench import cpu, database
from webapp import demo

_TICK = os.sysconf("SC_CLK_TCK")


def _backends_cpu(admin: psycopg.Connection, name: str) -> float:
    """CPU seconds of the backends serving connections named `name`."""
    total = 0
    for (pid,) in admin.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                                (name,)):
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.server_cpu")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--admin", action="store_true",
                        help="the admin's lists instead of the customer's pages")
    args = parser.parse_args()
    name = f"bench-server-cpu-{os.getpid()}"
    url = make_url(database.backend("postgresql", args.customers).url)
    named = url.update_query_dict({"application_name": name}).render_as_string(
        hide_password=False)
    if args.admin:  # the back office's pages
        client = cpu.signed_in_client(named, *demo.ADMIN)
        pages = [(f"admin {path}", path, False) for path in
                 ("/admin/", "/admin/subscriptions", "/admin/invoices", "/admin/payments")]
    else:
        client = cpu.signed_in_client(named)
        body = client.get("/invoices").get_data(as_text=True)
        invoice_id = re.search(r'href="/invoices/(\d+)"', body).group(1)
        forward = cpu.start_forward(client, invoice_id)
        pages = [("dashboard /", "/", False), ("/subscriptions", "/subscriptions", False),
                 ("/invoices (page 1)", "/invoices", False),
                 ("invoice detail", f"/invoices/{invoice_id}", False),
                 ("htmx forward status (polled)", forward, True),
                 ("portal layout (reference)", "/_bench/layout", False),
                 ("signed-in fragment (reference)", "/_bench/signed-in-fragment", False)]
    admin_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
    print(f"\nCPU ms per request, in-process, {args.requests} requests per page\n")
    print("| page | wall ms | client CPU ms | PostgreSQL CPU ms |\n|---|---:|---:|---:|")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for label, path, htmx in pages:
            headers = {"HX-Request": "true"} if htmx else {}
            for _ in range(30):
                assert client.get(path, headers=headers).status_code == 200, path
            server, started, wall = (_backends_cpu(admin, name), time.process_time(),
                                     time.perf_counter())
            for _ in range(args.requests):
                client.get(path, headers=headers)
            per = 1000 / args.requests
            print(f"| {label} | {(time.perf_counter() - wall) * per:.2f} | "
                  f"{(time.process_time() - started) * per:.2f} | "
                  f"{(_backends_cpu(admin, name) - server) * per:.2f} |")


if __name__ == "__main__":
    main()
