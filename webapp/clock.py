"""The one place the web layer reads the clock; services get `now` passed in."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, has_app_context


def utcnow() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """Current UTC time, or the configured FIXED_NOW (tests, demos)."""
    if has_app_context():
        fixed = current_app.config.get("FIXED_NOW")
        if fixed is not None:
            return fixed
    return utcnow()
