"""What jobs need outside a request: settings and an engine, made lazily, once per process."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from sqlalchemy.engine import Engine

from webapp import config
from webapp.db import make_engine

INSTANCE_PATH = Path(os.environ.get("PORTAL_INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance"))


@cache
def settings() -> dict:
    return config.from_environment(INSTANCE_PATH)


@cache
def engine() -> Engine:
    return make_engine(settings()["DATABASE_URL"])
