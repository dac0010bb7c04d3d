"""Alembic owns the schema: upgrading an empty database gives exactly the models."""

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from tests.conftest import create_postgres_database, drop_postgres_database, postgres_url

ROOT = Path(__file__).resolve().parent.parent


def _alembic(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    return cfg


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_from_empty_matches_the_models(backend, tmp_path):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    else:
        name = create_postgres_database("portal_migrations")
        url = postgres_url(name)
    cfg = _alembic(url)
    command.upgrade(cfg, "head")
    command.check(cfg)  # raises when models and migrations drift
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
    if backend == "postgresql":
        drop_postgres_database(name)
