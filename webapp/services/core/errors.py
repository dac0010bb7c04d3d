"""Domain errors: each carries a message a customer can read, in their language: a lazy
`i18n._("...")` text (translated when it is turned into str), or a `Dated` one naming a date."""

from __future__ import annotations

from typing import TYPE_CHECKING

from webapp.services.core.dates import say
from webapp.services.core.i18n import _

if TYPE_CHECKING:
    from babel.support import LazyProxy

    from webapp.services.core.dates import Dated


class DomainError(Exception):
    """A rule of the domain refused the action; `message` is shown to the person (a `Dated`
    one, naming a date, is written in their locale by webapp/errors.py; a lazy one in their
    language when it is turned into str)."""

    status = 409

    def __init__(self, message: str | LazyProxy | Dated, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return say(self.message) or ""

    def __repr__(self) -> str:  # a job's stored error: the words, not a lazy object
        return f"{type(self).__name__}({str(self)!r})"


class NotFound(DomainError):
    """Missing, or not the current customer's: both answer 404."""

    status = 404

    def __init__(self, message: str | LazyProxy | Dated | None = None) -> None:
        super().__init__(_("Not found.") if message is None else message)


class InvalidInput(DomainError):
    """What the person typed cannot be used; shown next to `field`."""

    status = 422


class IllegalTransition(DomainError):
    """The subscription's state does not allow this event."""


class Forbidden(NotFound):
    """A preference or role forbids the action; answered as 404 so nothing leaks."""
