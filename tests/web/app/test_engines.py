"""How each engine asks PostgreSQL to plan: the web app keeps plans, jobs plan afresh."""

import pytest
from sqlalchemy import text

from webapp.db import make_engine


def _plan_cache_mode(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SHOW plan_cache_mode")).scalar_one()


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_the_web_apps_engine_lets_postgresql_keep_a_prepared_statements_plan(app, engine):
    assert _plan_cache_mode(app.extensions["database"]) == "auto"


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_jobs_and_commands_plan_every_execution_afresh(engine):
    jobs = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        assert _plan_cache_mode(jobs) == "force_custom_plan"
    finally:
        jobs.dispose()
