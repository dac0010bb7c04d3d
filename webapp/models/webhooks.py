"""Webhooks: the events the portal tells other systems about, where to, and each attempt.

An event is written in the same transaction as the change it reports, with one delivery row
per endpoint subscribed to its type; the schedule sends what is due (never a request).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text
from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookEvent"]


class WebhookEndpoint(SQLModel, table=True):
    """A URL of the business's own systems, the event types it wants, and its signing secret."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_type=JSON)
    enabled: bool = Field(default=True)
    disabled_reason: str = Field(default="", max_length=500)
    # Fernet tokens (services/webhooks/secrets.py): the secret is never stored in clear.
    secret_encrypted: str = Field(sa_type=Text)
    # After a rotation the old secret still signs too, until this time.
    previous_secret_encrypted: str | None = Field(default=None, sa_type=Text)
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The first failed attempt since the last success (None: the last attempt succeeded).
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class WebhookEvent(SQLModel, table=True):
    """One thing that happened: its payload is made once, so every attempt sends the same."""

    __tablename__ = "webhook_event"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=40, unique=True)  # "evt_…", the webhook-id header too
    type: str = Field(max_length=64, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class WebhookDelivery(SQLModel, table=True):
    """One event to one endpoint: pending -> sending (leased) -> delivered, or failed."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # The sweep's query: what is due.
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="webhook_event.id", index=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", index=True)
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """One HTTP request of a delivery, for the delivery log."""

    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id", index=True)
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    latency_ms: int = 0
    error: str | None = Field(default=None, max_length=500)
    response_body: str = Field(default="", sa_type=Text)  # its first 2 KB
