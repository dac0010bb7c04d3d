"""Writing many rows at once, fast on both databases.

On PostgreSQL a batch goes to the server as one statement whatever its size: the rows travel as
one JSON document that `json_to_recordset` turns back into typed rows, so an INSERT or an
UPDATE of a thousand rows is one short statement with one parameter. (SQLAlchemy's executemany
sends a statement per row through psycopg's pipeline, and an array per column goes through
psycopg's per-element Python dumpers; both cost far more Python than the server's work.)

On SQLite, in the caller's write transaction, an executemany is already cheap: inserts are one
multi-row INSERT, updates one prepared statement run per row.

Ids for new rows are reserved before the insert (`reserve_ids`), so they are known in the order
given without RETURNING (an ordered multi-row RETURNING makes SQLAlchemy insert row by row on
SQLite, and psycopg parse a statement with thousands of placeholders on PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    column,
    func,
    select,
    text,
)
from sqlalchemy import update as sa_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.types import String, TypeDecorator, TypeEngine
from sqlmodel import Session

RESERVED_IDS = "bulk_reserved_ids"  # session.info key: the highest id reserved per table (SQLite)


class _Values:
    """The per-row values of a batch, by name: bound parameters (SQLite) or the columns of
    the batch's derived table (PostgreSQL)."""

    def __init__(self, columns: Mapping[str, ColumnElement]):
        self.__dict__.update(columns)


def insert(session: Session | Connection, table: Table, rows: list[dict], *,
           skip_conflicts_on: list[str] | None = None) -> None:
    """Insert `rows` (dicts with the same keys) into `table`; with `skip_conflicts_on` (the
    columns of a unique index), rows that would duplicate one already there are left out."""
    if not rows:
        return
    conn = session.connection() if isinstance(session, Session) else session
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    if conn.dialect.name == "postgresql":
        names = list(rows[0])
        derived = _rows_table(rows, {name: table.c[name].type for name in names})
        statement = statement.from_select(names, select(*(derived.c[n] for n in names)))
    if skip_conflicts_on:
        statement = statement.on_conflict_do_nothing(index_elements=skip_conflicts_on)
    if conn.dialect.name == "postgresql":
        conn.execute(statement)
    else:
        _executemany(conn, statement, rows)


def among(session: Session | Connection, column: ColumnElement,
          values: Iterable) -> ColumnElement:
    """`column IN (values)` for a batch's many values: on PostgreSQL `= ANY(array)`, one
    parameter, where IN renders, sends and parses a placeholder per value."""
    values = list(values)
    bind = session.get_bind() if isinstance(session, Session) else session
    if bind.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def among_param(dialect: str, column: ColumnElement, name: str) -> ColumnElement:
    """`among` for a statement built once and run many times: the values come at execution,
    as a list in the parameter `name`."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def reserve_ids(session: Session, table: Table, n: int) -> list[int]:
    """`n` new ids for `table`, to insert rows with later in this transaction (so rows that
    point at each other can be written in one pass, in any order the foreign keys allow).

    PostgreSQL takes them from the table's sequence. SQLite gives a new row the highest id
    plus one; the caller holds the write lock (`write_intent`), so no other writer can take
    them, and ids reserved earlier in this session are skipped."""
    if n <= 0:
        return []
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return list(conn.execute(text("SELECT nextval(:seq) FROM generate_series(1, :n)"),
                                 {"seq": _sequence(conn, table.name), "n": n}).scalars())
    reserved = session.info.setdefault(RESERVED_IDS, {})
    highest = max(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one(),
                  reserved.get(table.name, 0))
    reserved[table.name] = highest + n
    return list(range(highest + 1, highest + n + 1))


def insert_ids(session: Session, table: Table, rows: list[dict]) -> list[int]:
    """Insert `rows` into `table`; their new ids, in the order given."""
    ids = reserve_ids(session, table, len(rows))
    insert(session, table, [{**row, "id": new_id} for row, new_id in zip(rows, ids, strict=True)])
    return ids


def update(session: Session, table: Table, rows: list[dict], *, types: Mapping[str, Any],
           where: Callable[[Any], list], values: Callable[[Any], dict]) -> int:
    """One UPDATE of `table` per row of `rows`, as one statement; how many rows matched.

    `types` gives each key of the rows a column whose type its values have; `where(v)` returns
    the conditions and `values(v)` the new values, where `v.<key>` stands for the row's value.
    """
    if not rows:
        return 0
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        v = _Values({name: bindparam(f"b_{name}") for name in types})
        statement = sa_update(table).where(*where(v)).values(**values(v))
        return _executemany(conn, statement, [{f"b_{k}": row[k] for k in types}
                                              for row in rows])
    derived = _rows_table(rows, {name: col.type for name, col in types.items()})
    v = _Values({name: derived.c[name] for name in types})
    return conn.execute(sa_update(table).where(*where(v)).values(**values(v))).rowcount


def _executemany(conn: Connection, statement, rows: list[dict]) -> int:
    """`conn.execute(statement, rows)` on SQLite, the statement compiled once and each
    parameter type's conversion memoised for the batch: SQLAlchemy otherwise builds and
    converts every row's parameters one by one, most of a bulk write's time on SQLite.
    Statements whose column defaults are not plain values take SQLAlchemy's own path."""
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(rows[0]))
    defaults = {}
    for col in getattr(compiled, "insert_prefetch", ()):
        if col.default is None or not col.default.is_scalar:
            return conn.execute(statement, rows).rowcount
        defaults[col.key] = col.default.arg
    names = compiled.positiontup
    if any(compiled.binds[name].required and name not in rows[0] and name not in defaults
           for name in names):
        return conn.execute(statement, rows).rowcount  # SQLAlchemy says what is missing
    fixed = {**{name: compiled.binds[name].effective_value for name in names}, **defaults}
    convert = [_memoised(compiled.binds[name].type.dialect_impl(conn.dialect)
                         .bind_processor(conn.dialect)) for name in names]
    # Each row's tuple: the statement's own values in place, the row's values picked by one
    # itemgetter, and only the positions whose type converts (dates, times) converted.
    template = [convert[i](fixed[n]) if convert[i] and n not in rows[0] else fixed[n]
                for i, n in enumerate(names)]
    taken = [i for i, n in enumerate(names) if n in rows[0]]
    if not taken:
        return conn.execute(statement, rows).rowcount
    pick = itemgetter(*(names[i] for i in taken))
    converted = [(i, convert[i]) for i in taken if convert[i]]
    single, every = len(taken) == 1, len(taken) == len(names)
    params = []
    for row in rows:
        picked = pick(row)
        if single:
            picked = (picked,)
        if every and not converted:
            params.append(picked)
            continue
        if every:
            values = list(picked)
        else:
            values = template.copy()
            for i, value in zip(taken, picked, strict=True):
                values[i] = value
        for i, c in converted:
            values[i] = c(values[i])
        params.append(tuple(values))
    return conn.exec_driver_sql(compiled.string, params).rowcount


def _memoised(process: Callable | None) -> Callable | None:
    if process is None:
        return None
    done: dict[Any, Any] = {}

    def run(value):
        try:
            if value not in done:
                done[value] = process(value)
            return done[value]
        except TypeError:  # a value that cannot be a key: converted each time
            return process(value)
    return run


def _rows_table(rows: list[dict], types: Mapping[str, TypeEngine]):
    """`json_to_recordset(:rows) AS anon(name type, ...)`: the rows as a derived table.

    The whole batch is one JSON document, encoded by the json module in C and decoded by the
    server, where arrays per column would go through psycopg's per-element Python dumpers."""
    names = list(types)
    processors = [(name, _bind(types[name])) for name in names]  # memoised: one `now` per batch
    document = json.dumps([{name: (process(row[name]) if process else row[name])
                            for name, process in processors} for row in rows],
                          default=_encode, ensure_ascii=False, separators=(",", ":"))
    return func.json_to_recordset(cast(bindparam("rows", document, type_=Text), JSON)
                                  ).table_valued(*(column(name, _unbounded(types[name]))
                                                   for name in names)
                                                 ).render_derived(with_types=True)


def _bind(type_: TypeEngine) -> Callable | None:
    """A type's own conversion of a value for the database (UTCDateTime's), if it has one."""
    if not isinstance(type_, TypeDecorator) or (
            type(type_).process_bind_param is TypeDecorator.process_bind_param):
        return None
    return _memoised(lambda value: type_.process_bind_param(value, None))


def _encode(value: Any) -> str:
    if isinstance(value, date):  # dates and naive UTC datetimes, as PostgreSQL reads them
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} in bulk")


def _unbounded(type_: TypeEngine) -> TypeEngine:
    # The record's fields are unbounded: a value too long for its column then fails on
    # assignment, where a cast to varchar(n) would cut it silently.
    base = type_.impl if isinstance(type_, TypeDecorator) else type_
    if isinstance(base, String) and base.length:
        return Text()
    return base if isinstance(type_, TypeDecorator) else type_


def _sequence(conn, table_name: str) -> str:
    return conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                        {"t": table_name}).scalar_one()
