"""Rows of several tables read by one statement, as read-only values, without the ORM.

A page that shows values needs no entity: building and tracking ORM objects cost more than
the rest of a small query (the per-request facts, a subscription list's plans, addons and
coupons). `select(*columns(a, b))` reads the tables side by side; `split(row, a, b)` gives one
frozen dataclass per table, with the tables' column names as fields, and None for a table on
the missing side of an outer join. Templates get these values, never a SQLAlchemy `Row`.

A list that shows and prices a few of a table's columns reads only those: `Some(table, "id",
"name")` stands for the table in `columns` and `split`, and its values have those fields only
(another is an AttributeError, so a page that starts needing a column fails in its tests
rather than showing nothing). The dashboard's renewals were 50 columns a row for the 20 they
use; every column is a value PostgreSQL writes as JSON and the portal reads back (issue 32).
"""

from __future__ import annotations

from dataclasses import dataclass, make_dataclass
from functools import cache

from sqlalchemy import Column, Row, Table


@dataclass(frozen=True, init=False)
class Some:
    """Some of a table's columns, its primary key among them, in the table's place."""

    table: Table
    keys: tuple[str, ...]

    def __init__(self, table: Table, *keys: str) -> None:
        unknown = [key for key in keys if key not in table.c]
        if unknown:
            raise ValueError(f"{table.name} has no column {', '.join(unknown)}")
        if next(iter(table.primary_key.columns)).key not in keys:
            raise ValueError(f"{table.name}'s primary key is not among {keys}")
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "keys", keys)


@cache
def row_type(table: Table | Some) -> type:
    """A frozen dataclass with one field per column of the table, named like the columns."""
    base, keys = (table.table, table.keys) if isinstance(table, Some) else (table, table.c.keys())
    return make_dataclass(base.name.title().replace("_", "") + "Row", keys, frozen=True)


def _columns_of(table: Table | Some) -> list[Column]:
    return [table.table.c[key] for key in table.keys] if isinstance(table, Some) else \
        list(table.c)


def columns(*tables: Table | Some) -> list[Column]:
    """Every column of each table (or the columns of a `Some`), in order, for
    `select(*columns(a, b))`."""
    return [column for table in tables for column in _columns_of(table)]


@cache
def _layout(tables: tuple[Table | Some, ...]) -> tuple[tuple[int, int, int, type, tuple], ...]:
    """(start, end, position of the first primary key column, row type, column names) per
    table."""
    layout, start = [], 0
    for table in tables:
        names = tuple(column.key for column in _columns_of(table))
        base = table.table if isinstance(table, Some) else table
        key = names.index(next(iter(base.primary_key.columns)).key)
        layout.append((start, start + len(names), start + key, row_type(table), names))
        start += len(names)
    return tuple(layout)


def _value(kind: type, names: tuple[str, ...], values) -> object:
    """An instance of the frozen dataclass `kind` with these field values, made with one dict
    rather than its __init__, which sets each field on its own: a page's 80 rows of 5-48 columns
    cost the dashboard 5% more that way (bench/README.md)."""
    value = object.__new__(kind)
    object.__setattr__(value, "__dict__", dict(zip(names, values, strict=True)))
    return value


def split(row: Row | tuple, *tables: Table | Some) -> tuple:
    """One result row of `select(*columns(*tables))` as a value per table; None where the
    table's primary key is NULL (an outer join that found nothing)."""
    return tuple(None if row[key] is None else _value(kind, names, row[start:end])
                 for start, end, key, kind, names in _layout(tables))
