"""What code shared by the web app and the worker needs: settings and an engine.

Inside a Flask app context (a request, a job run in-process on the embedded default, or
`flask --app webapp cron`) they are the app's own; in an RQ worker they are read from the
environment, made lazily, once per process. (webapp/dispatch.py and webapp/units.py use them,
and worker/runtime.py hands them to the jobs: the worker imports webapp, never the reverse.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy.engine import Engine

from webapp import config
from webapp.db import make_engine

INSTANCE_PATH = Path(os.environ.get("PORTAL_INSTANCE_PATH",
                                    Path(__file__).resolve().parent.parent / "instance"))


def settings() -> Mapping[str, Any]:
    if has_app_context():
        return current_app.config
    return environment_settings()


def engine() -> Engine:
    if has_app_context():
        return current_app.extensions["database"]
    return environment_engine()


@cache
def environment_settings() -> dict:
    return config.from_environment(INSTANCE_PATH)


@cache
def environment_engine() -> Engine:
    return make_engine(environment_settings()["DATABASE_URL"])
