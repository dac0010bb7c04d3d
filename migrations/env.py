"""Alembic environment: the URL comes from the portal's own configuration."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

import webapp.models  # noqa: F401  (registers every table)
from webapp.db import make_engine
from webapp.models import metadata
from worker.runtime import settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    return config.attributes.get("database_url") or settings()["DATABASE_URL"]


def run_migrations_offline() -> None:
    url = _url()
    context.configure(url=url, target_metadata=metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"), compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    engine = make_engine(url)
    with engine.connect() as connection:
        if url.startswith("sqlite"):
            # Batch mode rebuilds a table by copying it and dropping the old one; with foreign
            # keys enforced, rows elsewhere pointing at it would stop the DROP (Alembic's batch
            # documentation: turn them off around the migration; before the engine's BEGIN, or
            # SQLite ignores the pragma).
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=url.startswith("sqlite"), compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
