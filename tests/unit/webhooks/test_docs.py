"""docs/webhooks.md is generated from the catalogue and must be current."""

from __future__ import annotations

from pathlib import Path

from webapp.services.core import events
from webapp.services.webhooks import docs

DOC = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"


def test_the_reference_page_is_the_catalogue_as_it_is_now():
    assert DOC.read_text() == docs.render(), (
        "docs/webhooks.md is stale: run "
        ".venv/bin/python -m webapp.services.webhooks.docs > docs/webhooks.md")


def test_it_documents_every_type_and_every_field():
    text = docs.render()
    for name in events.TYPES:
        assert f"| `{name}` |" in text
    for fields in events.OBJECTS.values():
        for field in fields:
            assert f"| `{field.name}` |" in text


def test_no_object_carries_secrets_or_card_data():
    names = {f.name for fields in events.OBJECTS.values() for f in fields}
    assert not names & {"password_hash", "gateway_token", "totp_secret", "token_hash",
                        "secret_encrypted", "card_number", "number_full"}
