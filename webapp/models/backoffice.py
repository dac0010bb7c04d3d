"""The back office's own records: notes the organization keeps about a customer."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["CustomerNote"]


class CustomerNote(SQLModel, table=True):
    """A note an admin wrote on a customer's page; customers never see these."""

    __tablename__ = "customer_note"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    author_user_id: int | None = Field(default=None, foreign_key="user.id")
    author_label: str = Field(max_length=254)
    body: str = Field(max_length=5000)
    created_at: datetime = Field(sa_type=UTCDateTime)
