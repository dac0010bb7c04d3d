"""The built-in test gateway's own records: the charges a card processor keeps on its side."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["GatewayEvent", "TestGatewayCharge"]


class TestGatewayCharge(SQLModel, table=True):
    """One charge per idempotency key: the same key always returns this result."""

    __tablename__ = "test_gateway_charge"
    __test__ = False

    idempotency_key: str = Field(primary_key=True, max_length=128)
    token: str = Field(max_length=64)
    amount: int
    currency: str = Field(max_length=3)
    succeeded: bool
    reference: str = Field(max_length=64)
    decline_code: str | None = Field(default=None, max_length=64)
    decline_message: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)


class GatewayEvent(SQLModel, table=True):
    """A processor's webhook event, stored once: a replayed event id changes nothing."""

    __tablename__ = "gateway_event"

    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=100)
    received_at: datetime = Field(sa_type=UTCDateTime)
