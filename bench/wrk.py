"""Running wrk with --latency and reading its report."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "count_non2xx.lua"
ROTATE = Path(__file__).resolve().parent / "rotate.lua"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_LATENCY = re.compile(r"^\s+(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)


@dataclass(frozen=True)
class Load:
    duration: int = 10  # seconds
    threads: int = 2
    connections: int = 8


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


def parse(output: str) -> Result:
    """Figures from wrk's --latency report (and the lua script's non-2xx line)."""
    latency = {int(p): float(value) * _UNITS[unit] for p, value, unit in _LATENCY.findall(output)}
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    requests = re.search(r"^\s+(\d+) requests in", output, re.M)
    if not (rps and requests and 50 in latency and 99 in latency):
        raise ValueError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"^non-2xx: (\d+)", output, re.M)
    if non_2xx is None:  # without the script wrk counts only 4xx/5xx
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    return Result(float(rps.group(1)), latency[50], latency[99], int(requests.group(1)),
                  int(non_2xx.group(1)) if non_2xx else 0,
                  sum(int(n) for n in errors.groups()) if errors else 0)


def run(url: str, headers: dict[str, str], load: Load, *, duration: int | None = None,
        rotation: Path | None = None) -> Result:
    """wrk on `url` with `headers`; with `rotation` (a file written by `rotation_file`),
    each request is one of its lines in turn instead (the url gives only the host)."""
    command = ["wrk", "--latency", "-t", str(load.threads), "-c", str(load.connections),
               "-d", f"{duration or load.duration}s", "-s", str(ROTATE if rotation else LUA)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if rotation:
        command += ["--", str(rotation)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse(output)


def rotation_file(path: Path, requests: list[tuple[str, dict[str, str]]]) -> Path:
    """The requests rotate.lua takes in turn: (path, headers) per signed-in customer."""
    lines = ["\t".join([target, *(f"{k}: {v}" for k, v in headers.items())])
             for target, headers in requests]
    path.write_text("\n".join(lines) + "\n")
    return path


def median(results: list[Result]) -> Result:
    """Each figure's median over several runs (non-2xx and socket errors are summed)."""
    def mid(values):
        ordered = sorted(values)
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2

    return Result(mid(r.requests_per_second for r in results), mid(r.p50_ms for r in results),
                  mid(r.p99_ms for r in results), sum(r.requests for r in results),
                  sum(r.non_2xx for r in results), sum(r.socket_errors for r in results))
