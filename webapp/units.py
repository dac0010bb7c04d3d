"""A unit of work outside the request's own session: commit, then dispatch what it wrote."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session

from webapp import runtime
from webapp.db import write_intent
from webapp.dispatch import commit_and_dispatch


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A fresh session on the current engine; on success it commits, then its outbox rows and
    deferred jobs are dispatched; on error it rolls back and nothing is dispatched."""
    with write_intent():
        session = Session(runtime.engine(), expire_on_commit=False)
        try:
            yield session
            commit_and_dispatch(session)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
