"""Documents prepared in the background, and documents forwarded by email."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["DocumentJob", "DocumentForward", "DocumentForwardRecipient"]


class DocumentJob(SQLModel, table=True):
    """A document too big to render in a request (a long statement, an accountant pack):
    queued -> running (leased) -> done with its file, or failed after a few attempts."""

    __tablename__ = "document_job"
    __table_args__ = (Index("ix_document_job_customer_key", "customer_id", "kind", "params_key",
                            "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    kind: str = Field(max_length=16)  # statement | pack
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # The params as canonical JSON text: finds the same request again (JSON has no equality
    # operator on PostgreSQL).
    params_key: str = Field(max_length=500)
    status: str = Field(default="queued", max_length=16)  # queued | running | done | failed
    progress: int = Field(default=0)  # percent
    attempts: int = Field(default=0)
    # A worker holds the job until then; after it, the sweep hands the job out again.
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    filename: str = Field(default="", max_length=200)
    media_type: str = Field(default="", max_length=100)
    content: bytes | None = Field(default=None, sa_type=LargeBinary)
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DocumentForward(SQLModel, table=True):
    """A customer forwarded one of their documents to some addresses, with a message."""

    __tablename__ = "document_forward"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    kind: str = Field(max_length=16)  # invoice | credit_note | receipt
    document_id: int
    message: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class DocumentForwardRecipient(SQLModel, table=True):
    """One address a forward went to: its own outbox row, so its own status."""

    __tablename__ = "document_forward_recipient"
    __table_args__ = (Index("ix_document_forward_recipient_customer_created", "customer_id",
                            "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    forward_id: int = Field(foreign_key="document_forward.id", index=True)
    customer_id: int = Field(foreign_key="customer.id")  # for the hourly rate limit
    address: str = Field(max_length=254)
    contact_person_id: int | None = Field(default=None, foreign_key="contact_person.id")
    outbox_message_id: int = Field(foreign_key="outbox_message.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
