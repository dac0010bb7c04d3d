"""Rows of several tables read by one statement, as read-only values, without the ORM.

A page that shows values needs no entity: building and tracking ORM objects cost more than
the rest of a small query (the per-request facts, a subscription list's plans, addons and
coupons). `select(*columns(a, b))` reads the tables side by side; `split(row, a, b)` gives one
frozen dataclass per table, with the tables' column names as fields, and None for a table on
the missing side of an outer join. Templates get these values, never a SQLAlchemy `Row`.
"""

from __future__ import annotations

from dataclasses import make_dataclass
from functools import cache

from sqlalchemy import Column, Row, Table


@cache
def row_type(table: Table) -> type:
    """A frozen dataclass with one field per column of the table, named like the columns."""
    return make_dataclass(table.name.title().replace("_", "") + "Row", table.c.keys(),
                          frozen=True)


def columns(*tables: Table) -> list[Column]:
    """Every column of each table, in order, for `select(*columns(a, b))`."""
    return [column for table in tables for column in table.c]


@cache
def _layout(tables: tuple[Table, ...]) -> tuple[tuple[int, int, int, type, tuple], ...]:
    """(start, end, position of the first primary key column, row type, column names) per
    table."""
    layout, start = [], 0
    for table in tables:
        key = table.c.keys().index(next(iter(table.primary_key.columns)).key)
        layout.append((start, start + len(table.c), start + key, row_type(table),
                       tuple(table.c.keys())))
        start += len(table.c)
    return tuple(layout)


def _value(kind: type, names: tuple[str, ...], values) -> object:
    """An instance of the frozen dataclass `kind` with these field values, made with one dict
    rather than its __init__, which sets each field on its own: a page's 80 rows of 5-48 columns
    cost the dashboard 5% more that way (bench/README.md)."""
    value = object.__new__(kind)
    object.__setattr__(value, "__dict__", dict(zip(names, values, strict=True)))
    return value


def split(row: Row | tuple, *tables: Table) -> tuple:
    """One result row of `select(*columns(*tables))` as a value per table; None where the
    table's primary key is NULL (an outer join that found nothing)."""
    return tuple(None if row[key] is None else _value(kind, names, row[start:end])
                 for start, end, key, kind, names in _layout(tables))
