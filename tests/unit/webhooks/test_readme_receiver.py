"""The README's receiver, run as written: under 15 lines, it verifies the portal's signed
events, and a tampered request is refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from tests.mail_sink import free_port
from tests.unit.webhooks.test_sending import ADMIN, DEV, KEY, sweep
from webapp.models import WebhookDelivery
from webapp.services.admin import webhooks as admin_webhooks
from webapp.services.core import events
from webapp.services.webhooks import sending

README = Path(__file__).resolve().parents[3] / "README.md"


def _receiver_code() -> str:
    section = README.read_text().split("## Webhooks", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_receiver_is_under_15_lines():
    assert len(_receiver_code().strip().splitlines()) < 15


@pytest.fixture
def readme_receiver(tmp_path, session, now):
    created = admin_webhooks.create(
        session, actor=ADMIN, now=now, key=KEY, policy=DEV,
        data=admin_webhooks.EndpointInput(url="http://127.0.0.1:1/", all_types=True))
    port = free_port()
    created.endpoint.url = f"http://127.0.0.1:{port}/"
    session.commit()
    script = tmp_path / "receiver.py"
    script.write_text(_receiver_code())
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "WEBHOOK_SECRET": created.secret,
                                    "PORT": str(port)})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
        except urllib.error.HTTPError:
            break  # it answers (GET is not supported): it is up
        except OSError:
            time.sleep(0.05)
    yield process, port
    process.kill()


def test_the_readme_receiver_verifies_the_portals_events(session, now, readme_receiver):
    process, port = readme_receiver
    event = events.emit(session, "review.created", {"id": 7}, now=now)
    session.commit()
    assert sweep(session, now) == 1
    delivery = session.exec(select(WebhookDelivery)).one()
    assert delivery.status == "delivered"
    # A forged request (a signature made with another secret) is not accepted.
    forged = sending.Request(0, 0, f"http://127.0.0.1:{port}/", "evt_forged", b"{}",
                             ("whsec_" + "A" * 43 + "=",))
    result = sending.post(forged, sent_at=datetime.now(UTC), production=False)
    assert not result.ok
    process.kill()
    out = process.communicate(timeout=5)[0]
    assert out.startswith(f"{event.public_id} review.created {{'id': 7}}")
    assert "evt_forged" not in out
