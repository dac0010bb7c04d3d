"""dispatch and commit_and_dispatch inside the app: in-process without Redis, safe when it is down."""

from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue
from sqlmodel import select

from tests.conftest import REDIS_URL
from tests.mail_sink import free_port
from webapp import charging, dispatch
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.models import OutboxMessage
from webapp.services.billing.gateway import TestGateway
from webapp.services.core import outbox


def _enqueue(now) -> OutboxMessage:
    return outbox.enqueue(db.session, template="password_reset", to="jane@example.com",
                          subject="Reset", now=now,
                          context={"link": "http://portal.test/password/reset/x",
                                   "valid_hours": 2})


def _statuses(template: str | None = None) -> list[str]:
    db.session.expire_all()
    return [m.status for m in db.session.exec(select(OutboxMessage)) if template in (
        None, m.template)]


def test_without_redis_mail_is_sent_in_process_right_after_the_commit(app, seeded, now, capsys):
    with app.app_context():
        _enqueue(now)
        commit_and_dispatch()
        assert _statuses() == ["sent"]
    assert "Subject: Reset" in capsys.readouterr().out


def test_nothing_is_dispatched_for_rows_rolled_back_before_the_commit(app, seeded, now, capsys):
    with app.app_context():
        _enqueue(now)
        db.session.rollback()
        commit_and_dispatch()
        assert _statuses() == []
    assert "Subject: Reset" not in capsys.readouterr().out


def test_with_redis_down_the_commit_stands_and_the_row_waits_for_the_sweep(app, seeded, now):
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    with app.app_context():
        _enqueue(now)
        commit_and_dispatch()  # logs, does not raise
        assert _statuses() == ["pending"]


def test_a_failing_smtp_server_leaves_the_row_pending_with_the_error(app, seeded, now):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nothing listens
    with app.app_context():
        _enqueue(now)
        commit_and_dispatch()
        (row,) = db.session.exec(select(OutboxMessage)).all()
        db.session.refresh(row)
        assert (row.status, row.attempts) == ("pending", 1)
        assert "ConnectionRefusedError" in row.last_error


def test_the_cron_command_sweeps_pending_mail_in_process(app, seeded, now, capsys):
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    with app.app_context():
        _enqueue(now)
        commit_and_dispatch()  # Redis is down: left pending
    app.config["REDIS_URL"] = None
    result = app.test_cli_runner().invoke(args=["cron", "--once"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        # the tick in the same run also reminds Jane of her overdue Enterprise invoice
        assert _statuses("password_reset") == ["sent"]
        assert _statuses("invoice_overdue") == ["sent"]


# --- Jobs named by their path: webapp never imports the worker ---------------------------------

JOB_PATHS = (dispatch.SEND_OUTBOX_MESSAGE, dispatch.SEND_OUTBOX_MESSAGES,
             dispatch.PROCESS_ACCOUNT_NOTICE, dispatch.CHARGE_PAYMENT, dispatch.RENDER_DOCUMENT,
             dispatch.SEND_WEBHOOKS)


@pytest.mark.parametrize("path", JOB_PATHS)
def test_every_job_path_webapp_dispatches_names_a_worker_function(path):
    job = dispatch.resolve(path)
    assert callable(job) and f"{job.__module__}.{job.__name__}" == path
    assert dispatch.job_name(job) == path == dispatch.job_name(path)


def test_a_job_named_by_its_path_runs_in_process_after_the_commit(app, seeded, now, capsys):
    with app.app_context():
        message = _enqueue(now)
        db.session.commit()
        dispatch.defer(db.session, dispatch.SEND_OUTBOX_MESSAGE, message.id)
        commit_and_dispatch()
        assert _statuses() == ["sent"]
    assert capsys.readouterr().out.count("Subject: Reset") == 1


def test_with_redis_a_job_named_by_its_path_is_queued_under_that_path(app, seeded, now):
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    app.config["REDIS_URL"] = REDIS_URL
    try:
        with app.app_context():
            dispatch.dispatch(dispatch.CHARGE_PAYMENT, 41)
        (job,) = Queue("default", connection=connection).get_jobs()
        assert (job.func_name, job.args) == ("worker.jobs.charge_payment", (41,))
    finally:
        connection.flushdb()


# --- The payment gateway the app provides (webapp/charging.py) ---------------------------------

def test_the_app_provides_the_gateway_and_in_its_context_the_worker_uses_it(app):
    from worker import runtime

    with app.app_context():
        assert charging.gateway() is app.extensions["gateway"]
        assert isinstance(charging.gateway(), TestGateway)
        assert runtime.gateway() is app.extensions["gateway"]


def test_outside_an_app_the_worker_builds_its_own_gateway(monkeypatch, engine):
    from worker import runtime

    monkeypatch.setattr(runtime, "engine", lambda: engine)
    runtime._worker_gateway.cache_clear()
    try:
        gateway = runtime.gateway()
        assert isinstance(gateway, TestGateway) and gateway is runtime.gateway()
    finally:
        runtime._worker_gateway.cache_clear()
