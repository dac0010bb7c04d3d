"""A long statement's PDF through the real pieces: Redis and an `rq worker` process."""

from __future__ import annotations

import re

from rq import Queue

from tests.conftest import Auth, post_form
from tests.worker.conftest import make_app, run_worker
from webapp import demo
from webapp.clock import utcnow
from webapp.db import db
from worker.schedule import SCHEDULE


def test_a_long_statement_pdf_is_rendered_by_the_worker_while_the_page_polls(
        database, redis_conn, worker_env):
    app = make_app(worker_env)
    app.config["STATEMENT_SYNC_ROWS"] = 1
    with app.app_context():
        demo.seed_demo(db.session, now=utcnow())
        db.session.commit()
    client = app.test_client()
    Auth(client).login()
    body = post_form(client, "/statements/pdf-jobs", {"preset": "this_year"}, htmx=True,
                     token_from="/statements?preset=this_year").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in body and "<progress" in body
    assert Queue("default", connection=redis_conn).count == 1
    (poll,) = re.findall(r'hx-get="(/statements/jobs/\d+)"', body)

    run_worker(worker_env)

    done = client.get(poll, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in done
    (download,) = re.findall(r'href="(/statements/jobs/\d+/download)"', done)
    assert client.get(download).data.startswith(b"%PDF")


def test_the_schedule_sweeps_document_jobs():
    assert "sweep_document_jobs" in {job.__name__ for job, _interval in SCHEDULE}
