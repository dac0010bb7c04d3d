"""CPU per request, in-process: python -m bench.cpu [--db sqlite|postgresql] [--customers N]

The same pages and floors as `python -m bench`, through Flask's test client against the cached
bench database, timed by this process's CPU clock (the best of several batches). A shared,
busy machine moves wall-clock figures a lot and CPU time much less, so this tells where the
time goes when wrk's numbers are noisy. The database server's own CPU is not counted.
"""

from __future__ import annotations

import argparse
import re
import time

from bench import database
from bench.__main__ import FLOOR_FRAGMENT, FLOOR_TABLE, LAYOUT, SIGNED_IN_FRAGMENT
from bench.wsgi import create_app
from webapp.demo import scale

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def signed_in_client(url: str, email: str = scale.BENCH_EMAIL, password: str = scale.PASSWORD):
    """A test client signed in as the bench customer (or as `email`: the demo's admin)."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key",
                      "LOGIN_RATE_LIMIT": "1000 per minute", "REDIS_URL": None})
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    return client


def start_forward(client, invoice_id: str) -> str:
    """A forward of the invoice, as the customer makes one: its status page's path."""
    path = f"/invoices/{invoice_id}/forward"
    token = CSRF.search(client.get(path).get_data(as_text=True)).group(1)
    response = client.post(path, data={"addresses": "bench-forward@example.com",
                                       "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def cpu_ms(client, path: str, htmx: bool, batches: int = 7, size: int = 60) -> float:
    headers = {"HX-Request": "true"} if htmx else {}
    for _ in range(20):
        assert client.get(path, headers=headers).status_code == 200, path
    best = float("inf")
    for _ in range(batches):
        started = time.process_time()
        for _ in range(size):
            client.get(path, headers=headers)
        best = min(best, (time.process_time() - started) / size * 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()
    client = signed_in_client(database.backend(args.db, args.customers).url)
    body = client.get("/invoices").get_data(as_text=True)
    invoice_id = re.search(r'href="/invoices/(\d+)"', body).group(1)
    forward = start_forward(client, invoice_id)
    pages = [("dashboard /", "/", False, FLOOR_TABLE), ("/subscriptions", "/subscriptions", False,
             FLOOR_TABLE), ("/invoices (page 1)", "/invoices", False, FLOOR_TABLE),
             ("/invoices?page=18 (deep)", "/invoices?page=18", False, FLOOR_TABLE),
             ("invoice detail", f"/invoices/{invoice_id}", False, FLOOR_TABLE),
             ("htmx /invoices?status=paid (list swap)", "/invoices?status=paid", True,
              FLOOR_TABLE),
             ("htmx forward status (polled)", forward, True, FLOOR_FRAGMENT),
             (LAYOUT.label, LAYOUT.path, False, FLOOR_TABLE),
             (SIGNED_IN_FRAGMENT.label, SIGNED_IN_FRAGMENT.path, False, FLOOR_FRAGMENT)]
    floors = {floor.path: cpu_ms(client, floor.path, False)
              for floor in (FLOOR_TABLE, FLOOR_FRAGMENT)}
    print(f"\n{args.db}: CPU ms per request in-process (best of 7 × 60)\n")
    print("| page | CPU ms | floor CPU ms | floor ÷ page |\n|---|---:|---:|---:|")
    for label, path, htmx, floor in pages:
        ms = cpu_ms(client, path, htmx)
        print(f"| {label} | {ms:.2f} | {floors[floor.path]:.2f} | "
              f"{floors[floor.path] / ms:.0%} |")
    for floor in (FLOOR_TABLE, FLOOR_FRAGMENT):
        print(f"| {floor.label} | {floors[floor.path]:.2f} | | |")


if __name__ == "__main__":
    main()
