"""The outbox: every email, written in the same transaction as the change that causes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text
from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["OutboxMessage"]


class OutboxMessage(SQLModel, table=True):
    """One email to send: pending -> sending (leased) -> sent, or failed after many attempts."""

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    template: str = Field(max_length=64)  # mail/<template>.txt and mail/<template>.html
    to_address: str = Field(max_length=254)
    reply_to: str | None = Field(default=None, max_length=254)  # None: the organization's
    subject: str = Field(max_length=300)
    context: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="pending", max_length=16, index=True)
    # A sender holds the row until then; after it, the sweep hands the row to another sender.
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    # Made once at insert: every copy of this message carries it, so receivers drop repeats.
    message_id_header: str = Field(max_length=200, unique=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    # A document to render and attach when sending (the documents feature fills these in).
    attachment_kind: str | None = Field(default=None, max_length=32)
    attachment_id: int | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
