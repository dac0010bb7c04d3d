"""Same-run before/after: python -m bench.compare REF [--db sqlite|postgresql|both]
[--rounds R] [--duration S]

Checks REF (a commit, branch or tag) out into bench/.cache/compare-<sha> as a detached git
worktree, serves it and this checkout under gunicorn side by side on the same seeded database
(`python -m bench` seeds it), and loads each portal page on one, then the other, round after
round, so whatever else the machine does weighs on both alike. It prints req/s before and
after per page and their ratio (the median over the rounds). It prints figures and asserts
nothing. The two checkouts must share the database schema.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from bench import database, server, wrk
from bench.__main__ import pages_for, verify
from bench.database import CACHE, ROOT
from webapp.demo import scale


def worktree(ref: str, prefix: str = "compare") -> Path:
    """REF checked out (detached) into bench/.cache/<prefix>-<sha>, once."""
    sha = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    tree = CACHE / f"{prefix}-{sha}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), sha], cwd=ROOT,
                       check=True, capture_output=True)
    return tree


def _settings(b: database.Backend) -> dict[str, str]:
    return {"DATABASE_URL": b.url, "LOGIN_RATE_LIMIT": "1000 per minute"}


def compare(b: database.Backend, before: Path, load: wrk.Load, rounds: int,
            warmup: int) -> list[tuple[str, float, float]]:
    """(page, before req/s, after req/s) for each real page (not the bench's floors)."""
    with server.gunicorn_serving(f"compare-before-{b.name}", _settings(b), root=before) as old, \
            server.gunicorn_serving(f"compare-after-{b.name}", _settings(b)) as new:
        sides = {}
        for name, base in (("before", old), ("after", new)):
            client = server.login(base, scale.BENCH_EMAIL, scale.PASSWORD)
            # The admin pages are new with the admin home: not in every tree compared. The
            # plain Flask app (`bare`) is no checkout's page.
            pages = [p for p in pages_for(client)
                     if not p.path.startswith("/_bench") and not p.admin and not p.bare]
            verify(client, client, pages)
            sides[name] = (base, client, pages)
        runs: dict[tuple[str, str], list[wrk.Result]] = {}
        for round_number in range(rounds):
            for index in range(len(sides["after"][2])):
                for name, (base, client, pages) in sides.items():
                    page = pages[index]
                    url, headers = base + page.path, client.headers(page.htmx)
                    if warmup and round_number == 0:
                        wrk.run(url, headers, load, duration=warmup)
                    runs.setdefault((page.label, name), []).append(wrk.run(url, headers, load))
            print(f"[{b.name}] round {round_number + 1}/{rounds} done, load average "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
        labels = [p.label for p in sides["after"][2]]
    return [(label, wrk.median(runs[(label, "before")]).requests_per_second,
             wrk.median(runs[(label, "after")]).requests_per_second) for label in labels]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("ref", help="the commit to compare this checkout with")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    load = replace(wrk.Load(), duration=args.duration)
    CACHE.mkdir(parents=True, exist_ok=True)
    before = worktree(args.ref)
    names = ("postgresql", "sqlite") if args.db == "both" else (args.db,)
    for name in names:
        b = database.backend(name, args.customers)
        database.prepare(b, args.customers)
        rows = compare(b, before, load, args.rounds, args.warmup)
        print(f"\n{name}: {args.ref} ({before.name}) against this checkout, req/s, median of "
              f"{args.rounds} rounds of {args.duration} s\n")
        print("| page | before | after | after / before |\n|---|---:|---:|---:|")
        for label, old, new in rows:
            print(f"| {label} | {old:.0f} | {new:.0f} | {new / old:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
