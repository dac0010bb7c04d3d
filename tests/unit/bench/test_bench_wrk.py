"""The bench reads wrk's --latency report, whatever the time units."""

import pytest

from bench import wrk

REPORT = """Running 10s test @ http://127.0.0.1:8000/invoices
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    23.10ms   11.52ms 120.31ms   71.18%
    Req/Sec   174.94     25.07   240.00     68.00%
  Latency Distribution
     50%  850.00us
     75%   28.01ms
     90%   37.73ms
     99%    1.21s
  3487 requests in 10.01s, 61.35MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:    348.41
Transfer/sec:      6.13MB
non-2xx: 4
"""


def test_figures_come_from_the_report_in_milliseconds():
    result = wrk.parse(REPORT)
    assert result.requests_per_second == 348.41 and result.requests == 3487
    assert result.p50_ms == 0.85 and result.p99_ms == 1210.0
    assert result.non_2xx == 4 and result.socket_errors == 3


def test_without_the_script_the_non_2xx_count_is_wrks_own():
    report = REPORT.replace("non-2xx: 4\n", "").replace(
        "Requests/sec:", "  Non-2xx or 3xx responses: 7\nRequests/sec:")
    assert wrk.parse(report).non_2xx == 7


def test_the_median_of_runs_sums_the_failures():
    runs = [wrk.Result(100, 1, 10, 1000, 0, 0), wrk.Result(300, 3, 30, 3000, 2, 1),
            wrk.Result(200, 2, 20, 2000, 1, 0)]
    assert wrk.median(runs) == wrk.Result(200, 2, 20, 6000, 3, 1)


def _entry(floor, rps, p99, judged=True):
    return {"page": {"floor": floor, "judged": judged},
            "result": {"requests_per_second": rps, "p50_ms": 1.0, "p99_ms": p99, "non_2xx": 0}}


def test_the_table_judges_pages_and_leaves_a_reference_row_unjudged():
    from bench import report

    results = {"bare query + table": _entry(None, 1000, 10.0),
               "bare 1 KB fragment": _entry(None, 2000, 5.0),
               "fast page": _entry("table", 700, 15.0),
               "slow fragment": _entry("fragment", 500, 20.0),
               "layout": _entry("table", 900, 9.0, judged=False)}
    lines = {line.split(" | ")[0].lstrip("| "): line
             for line in report.table("sqlite", results, wrk.Load(), 3).splitlines()}
    assert lines["fast page"].endswith("| 70% | 1.50× | met (≥60%, ≤2×) |  |")
    assert lines["slow fragment"].endswith("| 25% | 4.00× | missed (≥50%, ≤2×) |  |")
    assert lines["layout"].endswith("| 90% | 0.90× | reference, no target |  |")


def test_pages_are_also_compared_with_the_plain_flask_app():
    from bench import report

    results = {"bare query + table": _entry(None, 1000, 10.0),
               "bare 1 KB fragment": _entry(None, 2000, 5.0),
               report.BARE_FLASK: _entry(None, 1600, 8.0),
               "page": _entry("table", 400, 15.0),
               "fragment": _entry("fragment", 1000, 5.0)}
    lines = {line.split(" | ")[0].lstrip("| "): line
             for line in report.table("postgresql", results, wrk.Load(), 1).splitlines()}
    assert lines["page"].endswith("| 25% |") and lines["fragment"].endswith("|  |")


def test_the_first_screen_targets_are_judged_in_the_same_run():
    from bench import report

    results = {"bare query + table": _entry(None, 1000, 10.0),
               "bare 1 KB fragment": _entry(None, 2000, 5.0),
               report.SIGNED_IN_FRAGMENT: _entry("fragment", 1000, 6.0, judged=False),
               "/invoices (page 1)": _entry("table", 500, 12.0),
               "dashboard /": _entry("table", 460, 12.0),
               "/subscriptions": _entry("table", 440, 25.0),
               "htmx forward status (polled)": _entry("fragment", 890, 6.0)}
    text = report.first_screen(results)
    assert "| dashboard / | /invoices (page 1) | 92% | met (≥90%) |" in text
    assert "| dashboard / | bare query + table | 46% | met (≥45%) |" in text
    assert "| /subscriptions | /invoices (page 1) | 88% | missed (≥90%) |" in text
    assert "| htmx forward status (polled) | 1 KB fragment, signed in (reference) | 89% | " \
           "missed (≥90%) |" in text
    assert "missed on /subscriptions" in text


@pytest.mark.parametrize(("ceiling", "what"), [
    ("ONE_READ_FRAGMENT", "a fragment with one statement"),
    ("PORTAL_FRAGMENT", "a fragment written by the portal's templates")])
def test_the_first_screen_shows_what_a_fragment_can_reach(ceiling, what):
    from bench import report

    label = getattr(report, ceiling)
    results = {"bare 1 KB fragment": _entry(None, 2000, 5.0),
               report.SIGNED_IN_FRAGMENT: _entry("fragment", 1000, 6.0, judged=False),
               label: _entry("fragment", 850, 6.0, judged=False)}
    assert f"| {label} | 1 KB fragment, signed in (reference) | 85% | ceiling: {what} cannot " \
           "reach ≥90% |" in report.first_screen(results)
    results[label] = _entry("fragment", 950, 6.0, judged=False)
    assert f"95% | ceiling: {what} can reach ≥90% |" in report.first_screen(results)


def test_a_rotation_file_holds_each_customers_request_on_a_line(tmp_path):
    written = wrk.rotation_file(tmp_path / "r.txt", [
        ("/invoices/7", {"Cookie": "session=a", "User-Agent": "b"}),
        ("/invoices/9", {"Cookie": "session=c", "User-Agent": "b", "HX-Request": "true"})])
    assert written.read_text().splitlines() == [
        "/invoices/7\tCookie: session=a\tUser-Agent: b",
        "/invoices/9\tCookie: session=c\tUser-Agent: b\tHX-Request: true"]


def test_the_ceilings_come_from_the_reference_rows():
    from bench import report

    results = {"bare query + table": _entry(None, 1000, 10.0),  # 1.0 ms a request
               "bare 1 KB fragment": _entry(None, 2000, 5.0),  # 0.5 ms
               report.LAYOUT: _entry("table", 800, 9.0, judged=False),  # 1.25 ms
               report.SIGNED_IN_FRAGMENT: _entry("fragment", 1600, 6.0, judged=False)}
    lines = report.ceilings(results).splitlines()
    # layout 1.25 + (table 1.0 - fragment 0.5) = 1.75 ms; 1.0 / 1.75 = 57%
    assert "1.75 ms per request, **57%** of the table floor (target 60%)" in lines[2]
    # 0.5 / 0.625 = 80%
    assert "0.62 ms per request, **80%** of the bare fragment (target 50%)" in lines[3]


def test_without_reference_rows_there_is_no_ceiling():
    from bench import report

    assert report.ceilings({"bare query + table": _entry(None, 1000, 10.0),
                            "bare 1 KB fragment": _entry(None, 2000, 5.0)}) == ""
