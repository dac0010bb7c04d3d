"""A page's small reads as one statement: each part a JSON array in one row, one round trip.

A page such as the dashboard reads a summary row, the next renewals, their addons and
coupons, the last invoices and the last payments: six small SELECTs. On PostgreSQL each
statement costs the driver's per-statement work and a round trip, far more than the server's
0.02-0.15 ms to run it (issue 32, bench/README.md). `Stack(summary=..., renewals=...)` reads
every part in one statement of one row, a column per part holding the part's rows as a JSON
array of arrays:

    SELECT (SELECT json_agg(json_build_array(_ord, id, number, ...)) FROM (part 1) AS q),
           (SELECT json_agg(...) FROM (part 2) AS q), ...

and `read` hands back each part's rows, in the part's own ORDER BY, as tuples that also
answer by column name (`row.matching`), each value made what its column's type reads
(dates, aware UTC datetimes, booleans).

The dialect-specific SQL is here and only here: PostgreSQL's `json_agg`/`json_build_array`,
SQLite's `json_group_array`/`json_array`. A first version stacked the parts with UNION ALL,
each in its own typed columns (NULLs elsewhere): 150 columns wide, it cost PostgreSQL 2.8 ms to
plan and the driver 0.7 ms to describe, per request, more than the six statements it replaced.

A part's order survives through `_ord`, its row's place in the part's ORDER BY (`row_number()`
over the same ordering, computed in the part before its LIMIT): an aggregate promises no
order of its own. A part that other parts read from (a page whose addons are read by id) is a
CTE: `numbered(statement).cte()` keeps `_ord` with it.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import (
    CTE,
    Boolean,
    Date,
    DateTime,
    Executable,
    Integer,
    Select,
    TypeDecorator,
    func,
    literal,
    select,
)
from sqlalchemy.types import JSON, TypeEngine
from sqlmodel import Session

from webapp.services.core.listing import fixed, numbers_written, read

ORD = "_ord"


def numbered(statement: Select) -> Select:
    """`statement` with an `_ord` column: each row's place in the statement's ORDER BY."""
    order = statement._order_by_clauses  # noqa: SLF001  the statement's own ORDER BY
    place = func.row_number().over(order_by=order) if order else literal(0, Integer)
    return statement.add_columns(place.label(ORD))


def fixed_page(statement: Select, size: int, offset: int = 0) -> Select:
    """A list's statement (`offset` and `limit` parameters) for `size` rows from `offset`,
    the numbers written into the SQL. PostgreSQL keeps one plan for a prepared statement only
    when that plan costs about what the plans made for each execution did, and with the
    page size unknown it costs a LIMIT as if most rows were read: the stack was planned
    afresh on every request, 2.5 ms each (bench/README.md, issue 32)."""
    return numbers_written(statement, {"offset": offset, "limit": size})


class Stack:
    """Named parts (SELECTs, or CTEs made with `numbered`) read by one statement."""

    def __init__(self, **parts: Select | CTE) -> None:
        self._subqueries = {name: _subquery(name, part) for name, part in parts.items()}
        self._statements: dict[str, Select] = {}
        self._fixed: dict[str, Executable] = {}
        self._layout = []
        for name, sub in self._subqueries.items():
            columns = [c for c in sub.c if c.key != ORD]
            fields = namedtuple(f"{name.title()}Row", [c.key for c in columns], rename=True)
            readers = [_reader(c.type) for c in columns]
            # Only the columns JSON changes (dates, booleans, decorated types) are converted.
            converted = tuple((i, read) for i, read in enumerate(readers) if read is not _same)
            self._layout.append((name, fields, converted))

    def columns(self, dialect: str) -> list:
        """A column per part, each a scalar subquery holding the part's rows as a JSON array
        (in the dialect's JSON functions): what `statement` selects, and what another
        statement can select along with its own (the login's, `request_facts.Rider`)."""
        pack, agg = ((func.json_build_array, func.json_agg) if dialect == "postgresql"
                     else (func.json_array, func.json_group_array))
        return [select(agg(pack(sub.c[ORD], *(c for c in sub.c if c.key != ORD))))
                .select_from(sub).scalar_subquery().label(f"part_{name}")
                for name, sub in self._subqueries.items()]

    def statement(self, dialect: str) -> Select:
        """The one statement, in the dialect's JSON functions (built once per dialect)."""
        if dialect not in self._statements:
            self._statements[dialect] = select(*self.columns(dialect))
        return self._statements[dialect]

    def read(self, session: Session, params: Mapping[str, object]) -> dict[str, list[tuple]]:
        """Each part's rows, in the part's own order."""
        dialect = session.get_bind().dialect.name
        if dialect not in self._fixed:
            self._fixed[dialect] = fixed((self, dialect), self.statement(dialect))
        return self.unpack(read(session, self._fixed[dialect], params).one())

    def unpack(self, found: Sequence) -> dict[str, list[tuple]]:
        """Each part's rows from the values `columns` selected, in the part's own order."""
        result = {}
        for packed, (name, fields, converted) in zip(found, self._layout, strict=True):
            rows = packed if isinstance(packed, list) else json.loads(packed or "[]")
            rows.sort(key=_place)
            made = []
            for row in rows:
                values = row[1:]
                for i, convert in converted:
                    if values[i] is not None:
                        values[i] = convert(values[i])
                made.append(fields._make(values))
            result[name] = made
        return result


def _subquery(name: str, part: Select | CTE):
    return part if isinstance(part, CTE) else numbered(part).subquery(f"part_{name}")


def _place(row: list) -> int:
    return row[0]


def _same(value):
    return value


def _reader(type_: TypeEngine) -> Callable:
    """How a value of this column type comes back from JSON: text for dates and times,
    0/1 or true/false for booleans; a TypeDecorator's own reading after its base type's."""
    base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    if isinstance(base, DateTime):
        convert = datetime.fromisoformat
    elif isinstance(base, Date):
        convert = date.fromisoformat
    elif isinstance(base, Boolean):
        convert = bool
    elif isinstance(base, JSON):
        convert = _json_value
    else:
        convert = _same
    if isinstance(type_, TypeDecorator) and \
            type(type_).process_result_value is not TypeDecorator.process_result_value:
        def decorated(value, _convert=convert, _type=type_):
            return _type.process_result_value(_convert(value), None)
        return decorated
    return convert


def _json_value(value):
    return json.loads(value) if isinstance(value, str) else value
