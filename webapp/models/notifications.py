"""Notifications for the organization's admins (the list on /admin/notifications)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["Notification"]


class Notification(SQLModel, table=True):
    """Something that happened in the portal that the organization should know about."""

    id: int | None = Field(default=None, primary_key=True)
    event: str = Field(max_length=64)
    title: str = Field(max_length=200)
    body: str = Field(default="", sa_type=Text)
    # title and body are message ids (English source texts) with %(name)s placeholders filled
    # from params when shown, in the reader's language (services/core/i18n.py).
    params: dict = Field(default_factory=dict,
                         sa_column=Column(JSON, nullable=False, server_default="{}"))
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
