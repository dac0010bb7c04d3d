"""python -m bench.forwarding [--messages 1000] [--workers 2] [--per-message] [--one-commit]

Issue 10: forwarding N messages without PDFs by K `rq worker --burst --worker-class
rq.SimpleWorker` processes to an SMTP sink on loopback, the forwarding rate limit lifted.

A fresh PostgreSQL database (`portal_bench_fwd`) gets the demo data; Jane forwards her first
invoice through `forwarding.forward` (the web action's service), ten recipients per forward,
each forward committed and dispatched as the web request does (`commit_and_dispatch`, so ten
rows per `send_outbox_messages` job); the rows' attachment reference is cleared before the
commit, so no PDF is rendered. Then K workers start, and the clock runs until the sink (aiosmtpd
in this process, counting Message-IDs and SMTP sessions) has N messages.

`--one-commit` adds a round where all N rows are committed in one transaction (jobs of up to
100 rows, as the sweep dispatches them); `--per-message` adds the old path, one
`send_outbox_message` job (three transactions, one SMTP connection) per row. Each round writes
its own N rows. Prints a table; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DB_NAME = "portal_bench_fwd"
DB_URL = os.environ.get("BENCH_FWD_PG_URL",
                        f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}")
# Not 13 or 15 (the test suite's) nor 12 (bench.tick's): the bench flushes it.
REDIS_URL = os.environ.get("BENCH_FWD_REDIS_URL", "redis://127.0.0.1:6379/11")
TARGET_PER_SECOND = 200
RECIPIENTS_PER_FORWARD = 10  # forwarding.MAX_RECIPIENTS
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)

# The bench process dispatches as the web app does: RQ, from the environment (worker/runtime).
os.environ.update(DATABASE_URL=DB_URL, REDIS_URL=REDIS_URL,
                  SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-forwarding",
                  PORTAL_INSTANCE_PATH=tempfile.mkdtemp(prefix="portal-bench-fwd-"))

from aiosmtpd.controller import Controller  # noqa: E402
from redis import Redis  # noqa: E402
from rq import Queue  # noqa: E402
from sqlalchemy import func, text, update  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from webapp import demo  # noqa: E402
from webapp.db import make_engine, write_intent  # noqa: E402
from webapp.dispatch import MAIL_QUEUE, commit_and_dispatch, dispatch  # noqa: E402
from webapp.models import Invoice, OutboxMessage, Preferences, metadata  # noqa: E402
from webapp.services.core import outbox  # noqa: E402
from webapp.services.documents import forwarding  # noqa: E402
from worker.jobs import send_outbox_message  # noqa: E402


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Sink:
    """An aiosmtpd handler keeping only what the bench reports: Message-IDs and sessions."""

    message_ids: list[bytes] = field(default_factory=list)
    sessions: int = 0  # SMTP sessions that delivered something
    first_at: float | None = None
    last_at: float | None = None
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        header = envelope.content.split(b"\r\n\r\n", 1)[0]
        match = MESSAGE_ID.search(header)
        with self.arrived:
            self.message_ids.append(match.group(1) if match else b"")
            if not getattr(session, "bench_counted", False):
                session.bench_counted = True  # one aiosmtpd Session per connection
                self.sessions += 1
            self.last_at = time.perf_counter()
            if self.first_at is None:
                self.first_at = self.last_at
            self.arrived.notify_all()
        return "250 Message accepted"

    def reset(self) -> None:
        with self.arrived:
            self.message_ids.clear()
            self.sessions = 0
            self.first_at = self.last_at = None

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.message_ids) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.arrived.wait(left)
        return True


def fresh_database():
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
    admin.dispose()
    engine = make_engine(DB_URL)
    metadata.create_all(engine)
    return engine


def seed(engine, now: datetime) -> tuple[int, int]:
    """The demo data, forwarding on with its rate limit lifted; Jane's id and first invoice."""
    with write_intent(), Session(engine, expire_on_commit=False) as s:
        seeded = demo.seed_demo(s, now=now)
        s.commit()
        s.execute(update(Preferences).values(forward_documents=True,
                                             forward_max_recipients_per_hour=10**9))
        invoice_id = s.exec(select(Invoice.id).where(Invoice.customer_id == seeded.jane_customer_id)
                            .order_by(Invoice.id)).first()
        s.commit()
        outbox.take_written_ids(s)  # the demo's own mail (if any) is not part of the bench
        s.execute(update(OutboxMessage).values(status=outbox.SENT))
        s.commit()
    return seeded.jane_customer_id, invoice_id


def write_forwards(engine, *, customer_id: int, invoice_id: int, messages: int, round_no: int,
                   mode: str) -> int:
    """`messages` forward rows, no attachment, dispatched after each commit per `mode`:
    "app" (a commit and commit_and_dispatch per forward), "one-commit" (one commit for all,
    commit_and_dispatch) or "per-message" (a commit per forward, one send job per row)."""
    jobs_before = Queue(MAIL_QUEUE, connection=Redis.from_url(REDIS_URL)).count
    forwards = range(0, messages, RECIPIENTS_PER_FORWARD)
    with write_intent(), Session(engine, expire_on_commit=False) as s:
        for start in forwards:
            count = min(RECIPIENTS_PER_FORWARD, messages - start)
            addresses = " ".join(f"r{round_no}-{start + i}@bench.example" for i in range(count))
            forwarding.forward(s, customer_id=customer_id, user_id=None, kind="invoice",
                               document_id=invoice_id, contact_ids=[], addresses=addresses,
                               message="For the books.", now=datetime.now(UTC))
            if mode == "one-commit":
                continue
            _without_pdfs(s)
            if mode == "app":
                commit_and_dispatch(s)
            else:
                s.commit()
                for message_id in outbox.take_written_ids(s):
                    dispatch(send_outbox_message, message_id, queue=MAIL_QUEUE)
        if mode == "one-commit":
            _without_pdfs(s)
            commit_and_dispatch(s)
    return Queue(MAIL_QUEUE, connection=Redis.from_url(REDIS_URL)).count - jobs_before


def _without_pdfs(session: Session) -> None:
    """The bench forwards without PDFs: the rows this transaction wrote attach nothing."""
    ids = session.info.get(outbox.WRITTEN_IDS, [])
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                    .values(attachment_kind=None, attachment_id=None)
                    .execution_options(synchronize_session=False))


def run_workers(workers: int, sink: Sink, smtp_port: int, messages: int,
                timeout: float) -> tuple[float, float | None, float | None, bool, list[int]]:
    """Start the workers; seconds until the sink has `messages`, until the first mail, and
    from the first mail to the last."""
    env = {**os.environ, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port),
           "BASE_URL": "http://portal.bench"}
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    logs = [tempfile.TemporaryFile() for _ in range(workers)]
    started = time.perf_counter()
    procs = [subprocess.Popen([rq, "worker", "--burst", "--worker-class", "rq.SimpleWorker",
                               "-u", REDIS_URL, "-q", MAIL_QUEUE], env=env,
                              stdout=subprocess.DEVNULL, stderr=log) for log in logs]
    complete = sink.wait_for(messages, timeout)
    seconds = (sink.last_at or time.perf_counter()) - started
    first = (sink.first_at - started) if sink.first_at else None
    steady = (sink.last_at - sink.first_at) if complete and sink.first_at else None
    codes = []
    for proc, log in zip(procs, logs, strict=True):
        try:
            codes.append(proc.wait(timeout=max(timeout, 30)))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes.append(proc.wait())
        if codes[-1] != 0:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
        log.close()
    return seconds, first, steady, complete, codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--per-message", action="store_true",
                        help="also time the old path: one send_outbox_message job per row")
    parser.add_argument("--one-commit", action="store_true",
                        help="also time all rows committed at once (jobs of 100 rows)")
    args = parser.parse_args()

    engine = fresh_database()
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    customer_id, invoice_id = seed(engine, datetime.now(UTC))
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    modes = ["app"] + (["one-commit"] if args.one_commit else []) + (
        ["per-message"] if args.per_message else [])
    labels = {"app": "batch jobs, a commit per forward (as the web app)",
              "one-commit": "batch jobs, one commit for all (as the sweep)",
              "per-message": "one job per message (before)"}
    results = []
    try:
        for round_no, mode in enumerate(modes, start=1):
            redis.flushdb()
            sink.reset()
            t0 = time.perf_counter()
            jobs = write_forwards(engine, customer_id=customer_id, invoice_id=invoice_id,
                                  messages=args.messages, round_no=round_no, mode=mode)
            written = time.perf_counter() - t0
            seconds, first, steady, complete, codes = run_workers(args.workers, sink, port,
                                                                  args.messages, args.timeout)
            with Session(engine) as s:
                unsent = s.exec(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.status != outbox.SENT)).one()
            received = len(sink.message_ids)
            results.append({
                "mode": labels[mode], "jobs": jobs, "written": written, "seconds": seconds, "first": first,
                "rate": received / seconds if seconds else 0.0,
                "steady": (received - 1) / steady if steady else None,
                "complete": complete, "received": received,
                "duplicates": received - len(set(sink.message_ids)),
                "sessions": sink.sessions, "unsent": unsent, "codes": codes})
    finally:
        controller.stop()
        redis.flushdb()
        engine.dispose()

    print(f"\nForwarding {args.messages} messages without PDFs, {args.workers} workers "
          f"(rq.SimpleWorker, --burst), PostgreSQL, SMTP sink on loopback, {os.cpu_count()} "
          f"CPUs\n")
    print("| path | messages | workers | jobs | first mail s | seconds | messages/s | "
          "messages/s after the first | target ≥200/s | duplicates (Message-ID) | "
          "SMTP sessions | rows not sent |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for r in results:
        if not r["complete"]:
            met = f"incomplete ({r['received']} arrived)"
        else:
            met = "met" if r["rate"] >= TARGET_PER_SECOND else "missed"
            if r["rate"] < TARGET_PER_SECOND and (r["steady"] or 0) >= TARGET_PER_SECOND:
                met += " (met after the first mail)"
        steady = f"{r['steady']:.0f}" if r["steady"] else "-"
        first = f"{r['first']:.2f}" if r["first"] is not None else "-"
        print(f"| {r['mode']} | {r['received']} | {args.workers} | {r['jobs']} | {first} | "
              f"{r['seconds']:.2f} | {r['rate']:.0f} | {steady} | {met} | {r['duplicates']} | "
              f"{r['sessions']} | {r['unsent']} |")
    print("\nseconds: from starting the workers (their start-up included) to the last message "
          "at the sink; rows were written and dispatched before (" +
          ", ".join(f"{r['written']:.1f} s" for r in results) + ").")
    if any(code != 0 for r in results for code in r["codes"]):
        print("a worker exited with an error: " + str([r["codes"] for r in results]))


if __name__ == "__main__":
    main()
