"""The lifecycle tick through RQ: a run with several batches due asks a second worker to help."""

from __future__ import annotations

from datetime import timedelta

from rq import Queue
from sqlalchemy import func
from sqlmodel import Session, select

from bench.tick import seed
from tests.worker.conftest import make_app, run_worker
from webapp import create_app
from webapp.clock import utcnow
from webapp.models import Invoice, Payment, Subscription
from webapp.services.billing.gateway import TestGateway
from webapp.services.subscriptions import lifecycle
from worker import jobs

DUE = 1100  # more than two of the tick's batches (500)


def _count(engine, query) -> int:
    with Session(engine) as session:
        return session.exec(query).one()


def test_a_tick_with_more_than_one_batch_queues_one_helper_ahead_of_the_charges(
        database, redis_conn, worker_env):
    seed(database, DUE, now=utcnow() - timedelta(days=2))
    app = make_app(worker_env)
    with app.app_context():
        assert jobs.lifecycle_tick() == DUE

    queued = Queue("default", connection=redis_conn).get_jobs()
    assert [job.func_name for job in queued] == (
        ["worker.jobs.lifecycle_tick_help"] + ["worker.jobs.charge_payments"] * 5)
    assert sum(len(job.args) for job in queued[1:]) == DUE

    run_worker(worker_env, queues=("default",))  # the receipts' mail is not this test's

    # The helper found the run finished and billed nothing twice; every charge went once.
    assert _count(database, select(func.count()).select_from(Invoice)) == DUE
    assert _count(database, select(func.count()).select_from(Payment)
                  .where(Payment.status == "succeeded")) == DUE
    assert TestGateway(database).charges_for() == DUE
    assert _count(database, select(func.count()).select_from(Subscription)
                  .where(Subscription.awaiting_payment_id.is_not(None))) == 0


def test_the_helper_bills_beside_the_run_and_queues_no_helper_of_its_own(
        database, redis_conn, worker_env):
    seed(database, DUE, now=utcnow() - timedelta(days=2))
    app = make_app(worker_env)
    with app.app_context():
        with Session(database) as session:  # the run's first batch, as if it were running
            first = lifecycle.tick(session, now=utcnow())
            session.commit()
        assert first.more
        assert jobs.lifecycle_tick_help() == DUE - 500

    queued = Queue("default", connection=redis_conn).get_jobs()
    assert {job.func_name for job in queued} == {"worker.jobs.charge_payments"}
    assert _count(database, select(func.count()).select_from(Invoice)) == DUE


def test_in_process_there_is_no_helper_to_queue(engine, now, monkeypatch):
    # The embedded default runs jobs right here: a helper would only run after the run.
    seed(engine, 600, now=now - timedelta(days=2))
    app = create_app({"TESTING": True, "REDIS_URL": None, "SECRET_KEY": "x",
                      "DATABASE_URL": engine.url.render_as_string(hide_password=False),
                      "FIXED_NOW": now})
    ran = []
    monkeypatch.setattr(jobs, "lifecycle_tick_help", lambda: ran.append("helper"))
    with app.app_context():
        assert jobs.lifecycle_tick() == 600
    assert ran == []
    assert _count(engine, select(func.count()).select_from(Payment)
                  .where(Payment.status == "succeeded")) == 600
