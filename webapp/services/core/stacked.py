"""A page's small reads as one statement: its parts stacked with UNION ALL, one round trip.

A page such as the dashboard reads a summary row, the next renewals, their addons and
coupons, the last invoices and the last payments: six small SELECTs. On PostgreSQL each
statement costs the driver's per-statement work and a round trip, far more than the server's
0.02-0.15 ms to run it (issue 32, bench/README.md). `Stack(summary=..., renewals=...)` puts
the parts side by side in one statement, every part in its own columns:

    part | _ord | summary's columns... | renewals' columns... | ...
    0    | 1    | 1, 'Jane', ...       | NULL, NULL, ...      | ...
    1    | 1    | NULL, ...            | 17, 'SUB-17', ...    | ...

and `read` hands back each part's rows, in the part's own ORDER BY, as tuples that also
answer by column name (`row.matching`). Plain SQL both databases run: the columns a part
does not fill are typed NULLs (`CAST(NULL AS type)`: PostgreSQL types a UNION's columns
pair by pair, and two untyped NULLs would become text before meeting an integer).

A part's order survives the union through `_ord`, its row's place in the part's ORDER BY
(`row_number()` over the same ordering, computed in the part before its LIMIT): a UNION ALL
promises no order of its own. A part that other parts read from (a page whose addons are
read by id) is a CTE: `numbered(statement).cte()` keeps `_ord` with it.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping

from sqlalchemy import CTE, Integer, Select, cast, func, literal, null, select, union_all
from sqlmodel import Session

from webapp.services.core.listing import read

ORD = "_ord"


def numbered(statement: Select) -> Select:
    """`statement` with an `_ord` column: each row's place in the statement's ORDER BY."""
    order = statement._order_by_clauses  # noqa: SLF001  the statement's own ORDER BY
    place = func.row_number().over(order_by=order) if order else literal(0, Integer)
    return statement.add_columns(place.label(ORD))


class Stack:
    """Named parts (SELECTs, or CTEs made with `numbered`) read by one statement."""

    def __init__(self, **parts: Select | CTE) -> None:
        subqueries = []
        for name, part in parts.items():
            if isinstance(part, Select):
                part = numbered(part).subquery(f"part_{name}")
            subqueries.append(part)
        own = [[column for column in sub.c if column.key != ORD] for sub in subqueries]
        layout, start = [], 2
        for name, columns in zip(parts, own, strict=True):
            fields = namedtuple(f"{name.title()}Row", [c.key for c in columns], rename=True)
            layout.append((name, start, start + len(columns), fields))
            start += len(columns)
        branches = []
        for index, sub in enumerate(subqueries):
            cells = []
            for other, columns in enumerate(own):
                cells += (columns if other == index else
                          [cast(null(), column.type) for column in columns])
            labelled = [cell.label(f"c{n}") for n, cell in enumerate(cells)]
            branches.append(select(literal(index, Integer).label("part"),
                                   sub.c[ORD].label(ORD), *labelled).select_from(sub))
        self.statement = union_all(*branches)
        self._layout = tuple(layout)

    def read(self, session: Session, params: Mapping[str, object]) -> dict[str, list[tuple]]:
        """Each part's rows, in the part's own order."""
        found: list[list] = [[] for _ in self._layout]
        for row in read(session, self.statement, params):
            found[row[0]].append(row)
        result = {}
        for rows, (name, start, end, fields) in zip(found, self._layout, strict=True):
            rows.sort(key=_place)
            result[name] = [fields._make(row[start:end]) for row in rows]
        return result


def _place(row) -> int:
    return row[1]
