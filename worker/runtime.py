"""What jobs need: settings and an engine.

Inside a Flask app context (a job run in-process on the embedded default, or by
`flask --app webapp cron`) they are the app's own; in an RQ worker they are read from the
environment, made lazily, once per process.
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

INSTANCE_PATH = Path(os.environ.get("PORTAL_INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance"))


def settings() -> Mapping[str, Any]:
    if has_app_context():
        return current_app.config
    return _environment_settings()


def engine() -> Engine:
    if has_app_context():
        return current_app.extensions["database"]
    return _environment_engine()


@cache
def _environment_settings() -> dict:
    return config.from_environment(INSTANCE_PATH)


@cache
def _environment_engine() -> Engine:
    return make_engine(_environment_settings()["DATABASE_URL"])


def gateway():
    """The payment gateway: the built-in test gateway (the only one shipped so far)."""
    from webapp.services.billing.gateway import TestGateway

    return TestGateway(engine())
