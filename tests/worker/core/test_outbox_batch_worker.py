"""Batches of mail through the real pieces: Redis, an `rq worker` process, one SMTP session."""

from __future__ import annotations

import time

from rq import Queue
from sqlmodel import Session, select

from tests.mail_sink import MailSink
from tests.worker.conftest import make_app, run_worker
from tests.worker.dying_batch_jobs import DELIVERED_BEFORE_DYING
from webapp import demo
from webapp.clock import utcnow
from webapp.db import db, session_scope
from webapp.dispatch import commit_and_dispatch
from webapp.models import OutboxMessage
from webapp.services.core import outbox


class SessionCountingSink(MailSink):
    """The test sink, also noting the client address of each SMTP session."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0  # SMTP sessions that delivered something

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        if not getattr(session, "counted", False):
            session.counted = True  # aiosmtpd makes one Session per connection
            self.sessions += 1
        return await super().handle_DATA(server, session, envelope)


def _rows(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def _write(session, n: int) -> list[int]:
    demo.seed_organization(session, now=utcnow())
    return [outbox.enqueue(session, template="password_reset", to=f"r{i}@example.com",
                           subject="Reset your password", now=utcnow(),
                           context={"link": f"http://portal.test/password/reset/{i}",
                                    "valid_hours": 2}).id
            for i in range(n)]


def test_rows_committed_together_go_out_in_one_job_over_one_smtp_session(
        database, redis_conn, worker_env):
    sink = SessionCountingSink().start()
    try:
        env = {**worker_env, "SMTP_PORT": str(sink.port)}
        app = make_app(env)
        with app.app_context():
            ids = _write(db.session, 5)
            commit_and_dispatch()
        (job,) = Queue("mail", connection=redis_conn).get_jobs()
        assert (job.func_name, job.args) == ("worker.jobs.send_outbox_messages", tuple(ids))

        run_worker(env)

        received = sink.wait_for(5)
        rows = _rows(database)
        assert [(m["To"], m["Message-ID"]) for m in received] == [
            (r.to_address, r.message_id_header) for r in rows]
        assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}
        assert sink.sessions == 1
    finally:
        sink.stop()


def test_a_batch_sender_killed_mid_batch_is_replaced_by_the_sweep_once_its_lease_ends(
        database, redis_conn, sink, worker_env):
    with session_scope(database) as session:
        ids = _write(session, 4)
    queue = Queue("default", connection=redis_conn)
    queue.enqueue("tests.worker.dying_batch_jobs.send_some_then_die", *ids)
    run_worker(worker_env)
    sink.wait_for(DELIVERED_BEFORE_DYING)
    leased = _rows(database)
    assert {r.status for r in leased} == {"sending"}  # claimed, none marked: the rest untried

    queue.enqueue("worker.jobs.sweep_outbox")
    run_worker(worker_env)  # the leases still hold: the sweep leaves the rows alone
    assert len(sink.messages) == DELIVERED_BEFORE_DYING

    while utcnow() <= max(r.lease_until for r in leased):
        time.sleep(0.2)
    queue.enqueue("worker.jobs.sweep_outbox")
    run_worker(worker_env)

    received = sink.wait_for(len(ids) + DELIVERED_BEFORE_DYING)
    headers = [r.message_id_header for r in leased]
    # At least once: the two the server took before the kill arrive twice, same Message-ID.
    assert sorted(m["Message-ID"] for m in received) == sorted(
        headers + headers[:DELIVERED_BEFORE_DYING])
    assert {(r.status, r.attempts) for r in _rows(database)} == {("sent", 2)}
