"""The table: each page beside the bare floor it is compared with, and the targets."""

from __future__ import annotations

import os
import platform
import subprocess

from bench.wrk import Load

# Issue 6's targets, as ratios to the floor in the same run.
TARGETS = {"table": 0.60, "fragment": 0.50}
P99_LIMIT = 2.0
FLOORS = {"table": "bare query + table", "fragment": "bare 1 KB fragment"}
BARE_FLASK = "plain Flask + SQLModel app, same table"
LAYOUT = "portal layout, no data (reference)"
SIGNED_IN_FRAGMENT = "1 KB fragment, signed in (reference)"
ONE_READ_FRAGMENT = "1 KB fragment, signed in, SELECT 1 (ceiling)"
PORTAL_FRAGMENT = "1 KB fragment, signed in, portal template (ceiling)"


def machine() -> str:
    memory_kb = 0
    try:
        with open("/proc/meminfo") as meminfo:
            memory_kb = int(meminfo.readline().split()[1])
    except OSError:
        pass
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return (f"machine: {os.cpu_count()} CPUs (nproc), {memory_kb // 1024} MiB memory, "
            f"Python {platform.python_version()}, {wrk_version.splitlines()[0] if wrk_version else 'wrk'}")


def table(backend: str, results: dict[str, dict], load: Load, rounds: int) -> str:
    lines = [f"\n{backend}: wrk -t{load.threads} -c{load.connections} -d{load.duration}s × "
             f"{rounds} rounds (medians), gunicorn 2 sync workers\n",
             "| page | req/s | p50 ms | p99 ms | non-2xx | req/s vs floor | p99 vs floor | target "
             "| req/s vs plain Flask |",
             "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    plain = results.get(BARE_FLASK, {}).get("result")
    for label, entry in results.items():
        r, floor = entry["result"], entry["page"]["floor"]
        if floor is None:
            ratio = p99 = verdict = "floor"
        else:
            base = results[FLOORS[floor]]["result"]
            rate = r["requests_per_second"] / base["requests_per_second"]
            slow = r["p99_ms"] / base["p99_ms"]
            met = rate >= TARGETS[floor] and slow <= P99_LIMIT
            ratio, p99 = f"{rate:.0%}", f"{slow:.2f}×"
            verdict = (("met" if met else "missed") + f" (≥{TARGETS[floor]:.0%}, ≤{P99_LIMIT:.0f}×)"
                       if entry["page"].get("judged", True) else "reference, no target")
        versus_plain = (f"{r['requests_per_second'] / plain['requests_per_second']:.0%}"
                        if plain and floor != "fragment" and label != BARE_FLASK else "")
        lines.append(f"| {label} | {r['requests_per_second']:.0f} | {r['p50_ms']:.2f} | "
                     f"{r['p99_ms']:.2f} | {r['non_2xx']} | {ratio} | {p99} | {verdict} | "
                     f"{versus_plain} |")
    return "\n".join(lines)


def _ms(results: dict[str, dict], label: str) -> float:
    """Milliseconds of the server's time per request (across its workers), from req/s."""
    return 1000 / results[label]["result"]["requests_per_second"]


def ceilings(results: dict[str, dict]) -> str:
    """The most a page or a fragment of the portal can reach in this run, from the reference
    rows.

    A page pays the portal's layout (login, preferences, sidebar, CSRF: the layout row) and
    then its own reads and rows. Were those no dearer than the bare route's own query and 25
    rows (the table floor less the bare fragment, which is Flask and HTTP alone), the page
    would take layout + (table − fragment) per request: that ratio is what a page can reach.
    A fragment of the portal pays at least the login: the signed-in fragment row."""
    table, fragment = _ms(results, FLOORS["table"]), _ms(results, FLOORS["fragment"])
    lines = []
    if LAYOUT in results:
        page = _ms(results, LAYOUT) + (table - fragment)
        lines.append(f"- a page whose own reads and rows cost what the bare route's do, inside "
                     f"the portal's layout: {page:.2f} ms per request, **{table / page:.0%}** "
                     f"of the table floor (target {TARGETS['table']:.0%})")
    if SIGNED_IN_FRAGMENT in results:
        signed_in = _ms(results, SIGNED_IN_FRAGMENT)
        lines.append(f"- a fragment that reads nothing but the login: {signed_in:.2f} ms per "
                     f"request, **{fragment / signed_in:.0%}** of the bare fragment "
                     f"(target {TARGETS['fragment']:.0%})")
    if not lines:
        return ""
    return "\nCeilings in this run (the most a page or fragment of the portal can reach):\n" + \
        "\n".join(lines)


# Issue 32's targets: the first screens beside the invoice list and the floors.
FIRST_SCREEN = (
    ("dashboard /", "/invoices (page 1)", 0.90),
    ("dashboard /", FLOORS["table"], 0.45),
    ("/subscriptions", "/invoices (page 1)", 0.90),
    ("/subscriptions", FLOORS["table"], 0.45),
    ("htmx forward status (polled)", SIGNED_IN_FRAGMENT, 0.90),
)
# What a target can reach at most in the same run (bench/routes.py): a fragment that reads
# the login and a statement of its own costs at least the signed-in fragment with a
# `SELECT 1`; a fragment written by the portal's templates in the reader's language costs at
# least the signed-in fragment written that way.
FIRST_SCREEN_CEILINGS = (
    (ONE_READ_FRAGMENT, SIGNED_IN_FRAGMENT, 0.90, "a fragment with one statement"),
    (PORTAL_FRAGMENT, SIGNED_IN_FRAGMENT, 0.90, "a fragment written by the portal's templates"),
)


def _rate(results: dict[str, dict], page: str, beside: str) -> float:
    return (results[page]["result"]["requests_per_second"]
            / results[beside]["result"]["requests_per_second"])


def first_screen(results: dict[str, dict]) -> str:
    """Issue 32's ratios in this run, each with its verdict, and every page's p99 against
    its floor's (at most 2×)."""
    lines = ["\nThe first screen first (issue 32):", "| page | beside | req/s ratio | target |",
             "|---|---|---:|---|"]
    for page, beside, target in FIRST_SCREEN:
        if page not in results or beside not in results:
            continue
        rate = _rate(results, page, beside)
        verdict = "met" if rate >= target else "missed"
        lines.append(f"| {page} | {beside} | {rate:.0%} | {verdict} (≥{target:.0%}) |")
    for page, beside, target, what in FIRST_SCREEN_CEILINGS:
        if page in results and beside in results:
            rate = _rate(results, page, beside)
            reach = "can reach" if rate >= target else "cannot reach"
            lines.append(f"| {page} | {beside} | {rate:.0%} | ceiling: {what} {reach} "
                         f"≥{target:.0%} |")
    slow = [label for label, entry in results.items() if entry["page"]["floor"] is not None
            and entry["result"]["p99_ms"] > P99_LIMIT
            * results[FLOORS[entry["page"]["floor"]]]["result"]["p99_ms"]]
    lines.append(f"\np99 within {P99_LIMIT:.0f}× its floor's on every page: "
                 + ("met" if not slow else "missed on " + ", ".join(slow)))
    return "\n".join(lines)
