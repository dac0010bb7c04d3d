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


def test_the_admin_home_sums_are_filled_from_the_movements_on_upgrade(tmp_path):
    """0012 gives an existing database's subscriptions their recorded MRR and the months'
    movement sums from the movements it already has, as the app would have written them."""
    from sqlmodel import Session, select

    from tests.conftest import FIXED_NOW
    from webapp import demo
    from webapp.db import make_engine
    from webapp.models import MrrMonth, Subscription

    url = f"sqlite:///{tmp_path / 'upgraded.db'}"
    cfg = _alembic(url)
    command.upgrade(cfg, "head")
    engine = make_engine(url)

    def sums():
        with Session(engine) as session:
            subs = sorted((s.id, s.mrr_num, s.mrr_den, s.mrr_amount)
                          for s in session.exec(select(Subscription)))
            months = sorted((m.month, m.currency, m.kind, m.after_den, m.before_den,
                             m.after_sum, m.before_sum, m.movements)
                            for m in session.exec(select(MrrMonth)))
        return subs, months

    with Session(engine) as session:
        demo.seed_demo(session, now=FIXED_NOW)
        session.commit()
    written = sums()
    assert any(num for _, num, _, _ in written[0]) and written[1]
    command.downgrade(cfg, "0011")
    command.upgrade(cfg, "head")
    assert sums() == written
    engine.dispose()
