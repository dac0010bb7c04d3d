"""Inserting many rows at once and knowing their ids, fast on both databases.

SQLAlchemy's "insertmanyvalues" answers RETURNING for a multi-row INSERT, but it costs: on
SQLite an ordered RETURNING falls back to one statement per row, and on PostgreSQL psycopg
parses each thousand-row statement (thousands of placeholders) afresh. So on PostgreSQL the
ids are taken from the table's sequence first (one query) and the rows inserted with them
(a pipelined executemany); on SQLite, inside the caller's write transaction, one multi-row
INSERT ... RETURNING is matched back to the rows by a column that is unique among them.
"""

from __future__ import annotations

from sqlalchemy import Table, insert, text
from sqlmodel import Session


def insert_ids(session: Session, table: Table, rows: list[dict], *, match: str) -> list[int]:
    """Insert `rows` into `table`; their new ids, in the order given. `match` names a column
    whose values are unique among `rows` (used where ids come back unordered)."""
    if not rows:
        return []
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        ids = list(conn.execute(text("SELECT nextval(:seq) FROM generate_series(1, :n)"),
                                {"seq": _sequence(conn, table.name), "n": len(rows)}).scalars())
        conn.execute(insert(table), [{**row, "id": new_id}
                                     for row, new_id in zip(rows, ids, strict=True)])
        return ids
    returned = dict(conn.execute(insert(table).returning(table.c[match], table.c.id), rows).all())
    return [returned[row[match]] for row in rows]


def _sequence(conn, table_name: str) -> str:
    return conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                        {"t": table_name}).scalar_one()
