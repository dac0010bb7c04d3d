"""Signing secrets: made here, shown once, stored only encrypted (Fernet).

The encryption key is derived from WEBHOOK_ENCRYPTION_KEY when it is set, else from
SECRET_KEY (`encryption_key(settings)`); changing it makes the stored secrets unreadable, so
every endpoint's secret must then be rotated.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "whsec_"  # the Standard Webhooks libraries take the secret with this prefix


class UnreadableSecret(RuntimeError):
    """A stored secret was encrypted with another key (the key changed): rotate it."""


def encryption_key(settings: Mapping[str, Any]) -> str:
    return settings.get("WEBHOOK_ENCRYPTION_KEY") or settings["SECRET_KEY"]


def new_secret() -> str:
    """A fresh signing secret: "whsec_" and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _fernet(key: str) -> Fernet:
    digest = hashlib.sha256(b"portal-webhook-secrets:" + key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(secret: str, *, key: str) -> str:
    return _fernet(key).encrypt(secret.encode()).decode()


def decrypt(token: str, *, key: str) -> str:
    try:
        return _fernet(key).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise UnreadableSecret("The endpoint's signing secret cannot be read with the "
                               "current encryption key; rotate the secret.") from exc
