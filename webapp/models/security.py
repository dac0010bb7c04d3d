"""What protects the sign-in: shared rate-limit counters, per-account throttles, and the
notices (password-reset requests, throttle warnings) that a job turns into mail."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["RateLimitCounter", "LoginThrottle", "AccountNotice"]


class RateLimitCounter(SQLModel, table=True):
    """One fixed-window counter of the request rate limiter (webapp/limits_storage.py): in the
    database, so every web worker counts against the same number."""

    __tablename__ = "rate_limit_counter"

    key: str = Field(primary_key=True, max_length=255)
    count: int = Field(default=0)
    expires_at: float  # epoch seconds, the limits library's own clock


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins for one typed email (known or not, so both answer alike), and how long
    further tries wait (services/accounts/throttle.py)."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=64)  # SHA-256 of the normalized email
    failures: int = Field(default=0)
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AccountNotice(SQLModel, table=True):
    """A typed address to mail about its account, recorded by a request and handled by a job,
    which mails only an active user's address: the request does the same work whether or not
    the address has an account (services/accounts/notices.py)."""

    __tablename__ = "account_notice"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)  # password_reset | login_throttled
    email: str = Field(max_length=254)
    created_at: datetime = Field(sa_type=UTCDateTime)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
