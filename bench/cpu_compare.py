"""Same-run before/after by CPU: python -m bench.cpu_compare REF [--db sqlite|postgresql]
[--batches N]

What `bench.compare` measures with wrk, measured as in-process CPU time per request, for a
machine too busy for wrk to see 5%: REF (checked out into bench/.cache/cpu-<sha>) and this
checkout each serve the bench pages through Flask's test client in their own process, on the
same seeded database; each page is requested in batches of 30, alternating between the two
processes, and the fastest batch per side is kept. Two identical checkouts measured this way
differ by at most 4% on the real pages. It prints a table and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from bench import database
from bench.compare import worktree
from bench.database import ROOT

# Runs inside each checkout: "path htmx n" on stdin -> CPU ms per request on stdout.
SERVE = r"""
import os, re, sys, time
sys.path.insert(0, os.getcwd())
from bench import cpu
client = getattr(cpu, "signed_in_client", None) or cpu._client
forward = getattr(cpu, "start_forward", None) or cpu._forward
app = client(sys.argv[1])
body = app.get("/invoices").get_data(as_text=True)
invoice_id = re.search(r'href="/invoices/(\d+)"', body).group(1)
print(f"READY {invoice_id} {forward(app, invoice_id)}", flush=True)
for line in sys.stdin:
    path, htmx, n = line.split()
    headers = {"HX-Request": "true"} if htmx == "1" else {}
    started = time.process_time()
    for _ in range(int(n)):
        response = app.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code)
    print((time.process_time() - started) / int(n) * 1000, flush=True)
"""

PAGES = (("dashboard /", "/", 0), ("/subscriptions", "/subscriptions", 0),
         ("/invoices (page 1)", "/invoices", 0), ("/invoices?page=18 (deep)", "/invoices?page=18", 0),
         ("invoice detail", "invoice", 0), ("htmx /invoices?status=paid (list swap)",
                                            "/invoices?status=paid", 1),
         ("htmx forward status (polled)", "forward", 1))


class _Side:
    def __init__(self, root: Path, url: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVE, url], cwd=root, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        while not (line := self._line()).startswith("READY"):
            pass
        _, self.invoice, self.forward = line.split()

    def _line(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("a checkout's process died; see its output above")
        return line

    def ms(self, path: str, htmx: int, n: int) -> float:
        path = {"invoice": f"/invoices/{self.invoice}", "forward": self.forward}.get(path, path)
        self.process.stdin.write(f"{path} {htmx} {n}\n")
        self.process.stdin.flush()
        return float(self._line())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ref")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--batches", type=int, default=24)
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()
    backend = database.backend(args.db, args.customers)
    database.prepare(backend, args.customers)
    sides = [_Side(worktree(args.ref, "cpu"), backend.url), _Side(ROOT, backend.url)]
    best: dict[tuple[str, int], float] = {}
    try:
        for batch in range(args.batches):
            for label, path, htmx in PAGES:
                for i in ((0, 1) if batch % 2 == 0 else (1, 0)):
                    if batch == 0:
                        sides[i].ms(path, htmx, 10)  # warm up
                    ms = sides[i].ms(path, htmx, 30)
                    best[label, i] = min(best.get((label, i), ms), ms)
    finally:
        for side in sides:
            side.close()
    print(f"\n{args.db}: CPU ms per request, fastest of {args.batches} alternated batches of 30,"
          f" {args.ref} -> this checkout")
    print("| page | before ms | after ms | after req/s ÷ before |\n|---|---:|---:|---:|")
    for label, _, _ in PAGES:
        before, after = best[label, 0], best[label, 1]
        print(f"| {label} | {before:.2f} | {after:.2f} | {before / after:.2f} |")


if __name__ == "__main__":
    main()
