"""The audit trail: who changed what, when, old -> new."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlalchemy.types import JSON
from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["AuditEntry"]


class AuditEntry(SQLModel, table=True):
    """One recorded change; written only through services/core/audit.py."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    # None for changes made by the system (jobs); actor_label keeps a readable name either way.
    actor_user_id: int | None = Field(default=None, foreign_key="user.id")
    actor_label: str = Field(max_length=254)
    action: str = Field(max_length=64)  # e.g. preferences.update, profile.update
    subject_type: str = Field(max_length=32, index=True)
    subject_id: int | None = Field(default=None)
    # The customer the change concerns, so a customer's history can be listed.
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    before: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
