"""Domain errors: each carries a message a customer can read."""


class DomainError(Exception):
    """A rule of the domain refused the action; `message` is shown to the person."""

    status = 409

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


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
