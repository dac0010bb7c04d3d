"""services/bulk: many rows in one statement, the same rows on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from tests.conftest import wipe
from webapp.models import Notification, OutboxMessage
from webapp.services.core import bulk

NOW = datetime(2027, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
AWKWARD = 'quote " apostrophe \' backslash \\ comma, {braces} € ₹ د.ك\nnew line'


def _outbox_rows(n: int) -> list[dict]:
    return [{"template": "payment_receipt", "to_address": f"c{i}@example.test",
             "subject": f"{AWKWARD} {i}", "context": {"n": i, "text": AWKWARD, "nested": [1, None]},
             "reply_to": None if i % 2 else "r@example.test", "customer_id": None,
             "status": "pending", "attempts": 0, "message_id_header": f"<m{i}@bulk.test>",
             "created_at": NOW} for i in range(n)]


def test_insert_ids_gives_the_ids_in_order_and_keeps_every_value(session):
    rows = _outbox_rows(7)
    ids = bulk.insert_ids(session, OutboxMessage.__table__, rows)
    assert len(set(ids)) == 7
    stored = {m.id: m for m in session.exec(select(OutboxMessage)).scalars()}
    for new_id, row in zip(ids, rows, strict=True):
        message = stored[new_id]
        assert message.message_id_header == row["message_id_header"]
        assert message.subject == row["subject"]
        assert message.context == row["context"]
        assert message.reply_to == row["reply_to"]
        assert message.created_at == NOW  # microseconds and UTC survive


def test_insert_without_ids_and_nothing_to_insert(session):
    bulk.insert(session, Notification.__table__, [])
    assert bulk.insert_ids(session, Notification.__table__, []) == []
    bulk.insert(session, Notification.__table__, [
        {"event": "payment_received", "title": f"t{i}", "body": AWKWARD, "customer_id": None,
         "created_at": NOW} for i in range(3)])
    notes = session.exec(select(Notification).order_by(Notification.title)).scalars().all()
    assert [(n.title, n.body, n.read_at) for n in notes] == [(f"t{i}", AWKWARD, None)
                                                             for i in range(3)]


def test_update_matches_each_row_by_its_conditions_and_counts_them(session):
    table = OutboxMessage.__table__
    ids = bulk.insert_ids(session, table, _outbox_rows(4))
    changed = bulk.update(
        session, table, [{"id": ids[0], "was": 0, "subject": "first"},
                         {"id": ids[1], "was": 0, "subject": "second"},
                         {"id": ids[2], "was": 5, "subject": "not me"}],
        types={"id": table.c.id, "was": table.c.attempts, "subject": table.c.subject},
        where=lambda v: [table.c.id == v.id, table.c.attempts == v.was],
        values=lambda v: {"subject": v.subject, "attempts": table.c.attempts + 1,
                          "lease_until": NOW})
    assert changed == 2
    session.expire_all()
    rows = {m.id: m for m in session.exec(select(OutboxMessage)).scalars()}
    assert (rows[ids[0]].subject, rows[ids[0]].attempts, rows[ids[0]].lease_until) == (
        "first", 1, NOW)
    assert (rows[ids[1]].subject, rows[ids[1]].attempts) == ("second", 1)
    assert (rows[ids[2]].attempts, rows[ids[3]].attempts) == (0, 0)
    assert bulk.update(session, table, [], types={"id": table.c.id},
                       where=lambda v: [table.c.id == v.id], values=lambda v: {}) == 0


def test_a_value_too_long_for_its_column_fails_rather_than_being_cut(postgresql_engine):
    # PostgreSQL cuts a value cast explicitly to varchar(n) without a word; the batch's
    # fields are unbounded so the column's own limit refuses it. (SQLite has no limits.)
    wipe(postgresql_engine)
    with Session(postgresql_engine) as session:
        table = OutboxMessage.__table__
        ids = bulk.insert_ids(session, table, _outbox_rows(1))
        with pytest.raises(DBAPIError, match="too long"):
            bulk.update(session, table, [{"id": ids[0], "template": "x" * 65}],
                        types={"id": table.c.id, "template": table.c.template},
                        where=lambda v: [table.c.id == v.id],
                        values=lambda v: {"template": v.template})


def test_among_selects_exactly_the_rows_whose_value_is_listed(session):
    table = OutboxMessage.__table__
    ids = bulk.insert_ids(session, table, _outbox_rows(6))
    wanted = {ids[1], ids[4], 10**9}  # one that matches nothing
    assert set(session.execute(select(table.c.id).where(
        bulk.among(session, table.c.id, wanted))).scalars()) == {ids[1], ids[4]}
    assert session.execute(select(table.c.id).where(
        bulk.among(session, table.c.message_id_header, ["<m3@bulk.test>"]))).scalar_one() == ids[3]
    assert session.execute(select(table.c.id).where(
        bulk.among(session, table.c.id, []))).all() == []


def test_columns_left_out_take_their_defaults(session):
    bulk.insert(session, Notification.__table__, [
        {"event": "payment_received", "title": "no body", "customer_id": None,
         "created_at": NOW}])
    note = session.exec(select(Notification)).scalars().one()
    assert (note.body, note.read_at) == ("", None)  # body's default, read_at's
