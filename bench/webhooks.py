"""python -m bench.webhooks [--events 1000] [--workers 2]

Issue 28: N webhook events delivered to a receiver on loopback by K sender processes, in events
per second, printed beside the mail bench (bench.forwarding's figure in README.md).

A fresh PostgreSQL database (`portal_bench_hooks`) gets one endpoint taking every type; N events
are emitted in one transaction (`core.events.emit_many`, as a batch of the tick would), then K
processes (started and loaded first, as running workers are) each run the schedule's job
(`worker.jobs.send_webhooks`: claim a chunk of 10, POST them side by side to the checked
address, signed, record the chunk) until nothing is due. The receiver (in this process, a threaded
http.server) verifies every signature with standardwebhooks' `Webhook.verify` and counts ids.
Prints a table; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DB_NAME = "portal_bench_hooks"
DB_URL = os.environ.get("BENCH_HOOKS_PG_URL",
                        f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}")
SECRET_KEY = os.environ.get("SECRET_KEY") or "bench-webhooks"
MAIL_BENCH = "234 messages/s (bench.forwarding, 2 workers; README.md)"

os.environ.update(DATABASE_URL=DB_URL, SECRET_KEY=SECRET_KEY,
                  PORTAL_INSTANCE_PATH=tempfile.mkdtemp(prefix="portal-bench-hooks-"))
os.environ.pop("REDIS_URL", None)

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402
from standardwebhooks import Webhook  # noqa: E402

from webapp.db import make_engine  # noqa: E402
from webapp.models import metadata  # noqa: E402
from webapp.services.admin import Actor  # noqa: E402
from webapp.services.admin import webhooks as admin_webhooks  # noqa: E402
from webapp.services.core import events  # noqa: E402


class Counter:
    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.requests = 0
        self.bad = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.expected = 0
        self.hook: Webhook | None = None


def serve(counter: Counter) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["content-length"]))
            try:
                event = counter.hook.verify(body, dict(self.headers))
            except Exception:  # noqa: BLE001 - counted, answered 401
                with counter.lock:
                    counter.bad += 1
                self.send_response(401)
                self.end_headers()
                return
            with counter.lock:
                counter.requests += 1
                counter.ids.add(event["id"])
                if len(counter.ids) >= counter.expected:
                    counter.done.set()
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def fresh_database():
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    engine = make_engine(DB_URL)
    metadata.create_all(engine)
    return engine


def run(n_events: int, n_workers: int) -> dict:
    engine = fresh_database()
    counter = Counter()
    counter.expected = n_events
    server = serve(counter)
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session:
        created = admin_webhooks.create(
            session, actor=Actor(None, "bench"), now=now, key=SECRET_KEY,
            policy=admin_webhooks.Policy(production=False),
            data=admin_webhooks.EndpointInput(
                url=f"http://127.0.0.1:{server.server_address[1]}/hooks", all_types=True))
        counter.hook = Webhook(created.secret)
        events.emit_many(session, [("review.created", {"id": i, "rating": 5}, None)
                                   for i in range(n_events)], now=now)
        session.commit()
    # The workers load the app first, as running workers have; the clock starts at "go".
    go = Path(tempfile.mkdtemp(prefix="portal-bench-hooks-go-")) / "go"
    script = ("import time, pathlib; from worker import jobs\n"
              f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.01)\n"
              "jobs.send_webhooks()")
    workers = [subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
               for _ in range(n_workers)]
    time.sleep(5)
    started = time.monotonic()
    go.touch()
    finished = counter.done.wait(timeout=600)
    elapsed = time.monotonic() - started
    for worker in workers:
        worker.wait(timeout=120)
    server.shutdown()
    engine.dispose()
    return {"events": n_events, "workers": n_workers, "delivered": len(counter.ids),
            "requests": counter.requests, "refused signatures": counter.bad,
            "seconds": elapsed, "complete": finished}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    result = run(args.events, args.workers)
    rate = result["delivered"] / result["seconds"] if result["seconds"] else 0.0
    print(f"\nWebhooks: {result['events']} events, {result['workers']} sender processes, "
          f"receiver on loopback verifying every signature")
    print(f"{'path':<44} {'rate':>22}")
    print(f"{'webhooks (send_webhooks, 2 processes)':<44} {rate:>14.0f} events/s")
    print(f"{'mail (for comparison)':<44} {MAIL_BENCH}")
    print(f"\ndelivered {result['delivered']} distinct ids in {result['seconds']:.2f} s; "
          f"{result['requests']} requests answered 2xx, {result['refused signatures']} refused"
          + ("" if result["complete"] else "; NOT COMPLETE (timed out)"))


if __name__ == "__main__":
    main()
