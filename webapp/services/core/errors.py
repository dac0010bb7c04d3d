"""Domain errors: each carries a message a customer can read."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from webapp.services.core.dates import Dated


class DomainError(Exception):
    """A rule of the domain refused the action; `message` is shown to the person (a `Dated`
    one, naming a date, is written in their locale by webapp/errors.py)."""

    status = 409

    def __init__(self, message: str | Dated, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        message = self.message
        return message if isinstance(message, str) else message.format()


class NotFound(DomainError):
    """Missing, or not the current customer's: both answer 404."""

    status = 404

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class InvalidInput(DomainError):
    """What the person typed cannot be used; shown next to `field`."""

    status = 422


class IllegalTransition(DomainError):
    """The subscription's state does not allow this event."""


class Forbidden(NotFound):
    """A preference or role forbids the action; answered as 404 so nothing leaks."""
