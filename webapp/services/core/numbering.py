"""Gap-free document numbers (INV-000001): one atomic UPDATE ... RETURNING per block.

Never read-then-write: SQLite ignores FOR UPDATE, so two writers could read the same value.
The counter moves inside the caller's transaction, so a rolled-back invoice leaves no gap.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

PREFIXES = {"invoice": "INV", "credit_note": "CN", "payment": "PAY", "subscription": "SUB",
            "estimate": "EST"}


def _ensure_counter(session: Session, name: str) -> None:
    session.execute(text("INSERT INTO counter (name, next_value) VALUES (:name, 1) "
                         "ON CONFLICT (name) DO NOTHING"), {"name": name})


def take(session: Session, name: str, n: int = 1) -> list[str]:
    """Reserve `n` consecutive numbers of the named series and format them."""
    if n < 1:
        raise ValueError("take at least one number")
    statement = text("UPDATE counter SET next_value = next_value + :n WHERE name = :name "
                     "RETURNING next_value")
    row = session.execute(statement, {"n": n, "name": name}).first()
    if row is None:
        _ensure_counter(session, name)
        row = session.execute(statement, {"n": n, "name": name}).first()
    end = row[0]  # the next free value after our block
    prefix = PREFIXES[name]
    return [f"{prefix}-{value:06d}" for value in range(end - n, end)]


def take_one(session: Session, name: str) -> str:
    return take(session, name, 1)[0]
