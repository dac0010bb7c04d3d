"""Reading list filters from query parameters, and pages of results.

Bad values are ignored with a message rather than refused, so a stale or hand-edited URL
still shows a list.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Date,
    Executable,
    Label,
    Result,
    Row,
    Select,
    bindparam,
    func,
    lambda_stmt,
    literal,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.lambdas import StatementLambdaElement
from sqlalchemy.sql.visitors import replacement_traverse
from sqlmodel import Session

from webapp.services.core import text
from webapp.services.core.i18n import N_, _

T = TypeVar("T")

PAGE_SIZE = 25

# The filters' names the messages below say (the callers pass them in English; translated
# where the message is written).
FILTER_LABELS = (N_("customer"), N_("window"), N_("from"), N_("to"), N_("currency"),
                 N_("status"), N_("plan"), N_("date"), N_("sort"), N_("aging"), N_("kind"),
                 N_("method"), N_("event type"), N_("page"), N_("search"), N_("range"))


@dataclass
class FilterReader:
    """Reads typed values out of raw query parameters, collecting a message per bad one."""

    params: Mapping[str, str]
    messages: list[str] = field(default_factory=list)

    def choice(self, name: str, choices: Sequence[str], label: str) -> str | None:
        value = (self.params.get(name) or "").strip()
        if not value:
            return None
        if value not in choices:
            self.messages.append(_("Ignored the %(label)s filter: “%(value)s” is not one of the "
                                   "choices.", label=_(label), value=value))
            return None
        return value

    def date(self, name: str, label: str) -> date | None:
        value = (self.params.get(name) or "").strip()
        if not value:
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            self.messages.append(_("Ignored the %(label)s date: “%(value)s” is not a date "
                                   "(YYYY-MM-DD).", label=_(label), value=value))
            return None
        if not text.date_in_range(parsed):
            self.messages.append(_("Ignored the %(label)s date: %(reason)s", label=_(label),
                                   reason=text.DATE_RANGE_MESSAGE))
            return None
        return parsed

    def integer(self, name: str, label: str) -> int | None:
        value = (self.params.get(name) or "").strip()
        if not value:
            return None
        if not value.isdigit() or not text.id_in_range(int(value)):
            self.messages.append(_("Ignored the %(label)s filter: “%(value)s” is not a number "
                                   "the portal knows.", label=_(label), value=value[:40]))
            return None
        return int(value)

    def search(self, name: str, label: str, *, max_length: int = 200) -> str:
        """A search box's text (one line); one the portal refuses is ignored with a message."""
        value = (self.params.get(name) or "").strip()[:max_length]
        try:
            return text.single_line(value)
        except text.TextRefused as refused:
            self.messages.append(_("Ignored the %(label)s: %(reason)s", label=_(label),
                                   reason=refused.message))
            return ""

    def page(self) -> int:
        value = (self.params.get("page") or "1").strip()
        if not value.isdigit() or int(value) < 1:
            self.messages.append(_("Ignored the page number “%(value)s”.", value=value))
            return 1
        return min(int(value), 1_000_000)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    number: int
    size: int
    total: int
    # The total was counted only up to a limit and reached it: there are more than
    # `total - 1` (`capped_count`).
    capped: bool = False

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number * self.size < self.total

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def at_least(self) -> int:
        """How many there are at least, when the count was capped."""
        return self.total - 1 if self.capped else self.total

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def date_range(column: ColumnElement, date_from: bool, date_to: bool) -> list[ColumnElement]:
    """Conditions for a statement built once: `column` from the parameter date_from and to the
    parameter date_to, each only when the filter is given."""
    return ([column >= bindparam("date_from", type_=Date)] if date_from else []) + \
        ([column <= bindparam("date_to", type_=Date)] if date_to else [])


def matching(count: Select) -> Label:
    """A column for a page's statement: the `count` statement as an uncorrelated scalar
    subquery (never correlated to the page's own table), which both databases evaluate once
    per statement, so a page and its total take one round trip. (`count(*) OVER ()` was
    tried: it made the database read every matching row, columns and all, and cost more
    than the round trip it saved.)"""
    return count.correlate(None).scalar_subquery().label("matching")


def counted_page(session: Session, rows: Executable, count: Executable,
                 params: Mapping[str, object], number: int, size: int,
                 make: Callable[[Row], T], *, cap: int | None = None) -> Page[T]:
    """Page `number` of `rows` (a statement with a `matching()` column and `offset` and
    `limit` parameters), each row made into an item. `count` runs only past the last page,
    where no row is left to say how many there are. With `cap` (a `capped_count` statement),
    the total is counted only up to `cap` rows past this page."""
    limits = {"count_limit": (number - 1) * size + size + cap + 1} if cap is not None else {}
    found = read(session, _written(rows, {**page_params(number, size), **limits})[1],
                 params).all()
    return page_of(found, number, size, make,
                   lambda: read(session, _written(count, limits)[1], params).scalar_one(),
                   limits.get("count_limit"))


_WRITTEN: dict[tuple, tuple[Executable, Executable]] = {}


def numbers_written(statement: Executable, numbers: Mapping[str, int]) -> Executable:
    """`statement` with these parameters (a page's offset and limit, a count's limit) written
    into its SQL as numbers, made once per statement and numbers. PostgreSQL keeps one plan
    for a prepared statement only when it costs about what the plans made for each execution
    did, and with a LIMIT unknown it costs as if most rows were read: the lists were planned
    afresh on every request (bench/README, issue 32; `stacked.fixed_page` for the stacks)."""
    return _written(statement, numbers)[0]


def _written(statement: Executable, numbers: Mapping[str, int]) -> tuple[Executable, Executable]:
    """`numbers_written`'s statement, and the same `fixed` to run (keyed by the statement it
    was made from and the numbers)."""
    key = (statement, tuple(sorted(numbers.items())))
    found = _WRITTEN.get(key)
    if found is None:
        if len(_WRITTEN) >= 1024:  # statements made per request would only pile up
            _WRITTEN.clear()
        written = {name: literal_column(str(int(value))) for name, value in numbers.items()}
        replaced = replacement_traverse(
            statement, {}, lambda element: written.get(element.key)
            if isinstance(element, BindParameter) else None)
        found = _WRITTEN[key] = (replaced, fixed(("listing.numbers_written", *key), replaced))
    return found


def page_params(number: int, size: int) -> dict[str, int]:
    """The `offset` and `limit` parameters of page `number`."""
    return {"offset": (number - 1) * size, "limit": size}


def page_of(found: Sequence, number: int, size: int, make: Callable[[Row], T],
            count: Callable[[], int], count_limit: int | None = None) -> Page[T]:
    """Page `number` from its rows already read (each with the `matching()` column):
    `count()` is asked only past the last page, where no row says how many there are."""
    if found:
        total = found[0].matching
    else:
        total = count() if number > 1 else 0
    capped = count_limit is not None and total >= count_limit
    return Page(tuple(make(row) for row in found), number, size, total, capped)


def capped_count(table, *conditions: ColumnElement) -> Select:
    """A count of `table`'s rows matching `conditions` that stops at the parameter
    `count_limit` (`counted_page(cap=)`). Across every customer, an exact count reads every
    matching row (a million invoices: most of a list's time); a pager needs only to know there
    are more."""
    some = select(literal(1)).select_from(table).where(*conditions) \
        .limit(bindparam("count_limit")).subquery("counted")
    return select(func.count()).select_from(some)


def one_of(column: ColumnElement, values: Sequence[object]) -> ColumnElement:
    """`column IN (values)` for a few values fixed when a statement is built once (a set of
    statuses), each its own parameter. `column.in_(values)` makes one "expanding" parameter,
    which SQLAlchemy writes out again at every execution: 0.05 ms of client CPU a statement
    on PostgreSQL, a tenth of the polled forward status's own work (issue 32)."""
    return column.in_([literal(value, column.type) for value in values])


def fixed(key: Hashable, statement: Executable) -> StatementLambdaElement:
    """`statement`, built once and never changed, run the way SQLAlchemy runs it cheapest: its
    compiled form found by `key`. A plain statement is looked up by a cache key SQLAlchemy
    makes at every execution by walking the whole statement: 95 µs for the login's (100
    columns), 190 µs with the polled forward status's read, more than any other one thing
    a fragment does (issue 32, bench/README.md). Values come as named parameters at
    execution; a value written into the statement is the one it was built with.

    `key` identifies this statement alone, for as long as it is used: a string for a
    statement built at import, or the object that built it and keeps it (a `Stack` and the
    dialect). SQLAlchemy's cache holds the key, so an object used as one is not reused for
    another statement."""
    return lambda_stmt(lambda: statement, track_on=[_Key(key)], track_closure_variables=False,
                       global_track_bound_values=False, track_bound_values=False)


@dataclass(frozen=True)
class _Key:
    """A `fixed` statement's key, as one value: SQLAlchemy reads a tuple in `track_on` as SQL
    elements to make cache keys of."""

    key: Hashable


def read(session: Session, statement: Executable, params: Mapping[str, object]) -> Result:
    """A read of plain rows through the session's own connection and transaction. A list
    needs values, not entities: the ORM's per-row work (identity map, instrumented objects)
    was most of a 25-row page's query time. Pending changes are flushed first, as the ORM
    would before a query."""
    session.flush()
    return session.connection().execute(statement, params)
