"""A sender killed mid-delivery (SIGKILL while the receiver holds its request): the claim's
lease runs out and the next sweep delivers the event again, with the same webhook id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from tests.webhook_receiver import Receiver
from tests.worker.conftest import REPO
from webapp.models import WebhookDelivery, WebhookEvent
from webapp.services.admin import Actor
from webapp.services.admin import webhooks as admin_webhooks
from webapp.services.core import events
from webapp.services.webhooks import sending

KEY = "killed-sender-secret-key"


def test_a_sender_killed_mid_delivery_is_redelivered_with_the_same_id(database, tmp_path):
    now = datetime.now(UTC)
    with Receiver() as receiver, Session(database, expire_on_commit=False) as session:
        created = admin_webhooks.create(
            session, actor=Actor(None, "test"), now=now, key=KEY,
            policy=admin_webhooks.Policy(production=False),
            data=admin_webhooks.EndpointInput(url=receiver.url, all_types=True))
        receiver.secrets.append(created.secret)
        event = events.emit(session, "review.created", {"id": 1}, now=now)
        session.commit()
        receiver.hold = threading.Event()
        env = {**os.environ, "DATABASE_URL": database.url.render_as_string(hide_password=False),
               "SECRET_KEY": KEY, "PORTAL_INSTANCE_PATH": str(tmp_path), "REDIS_URL": ""}
        sender = subprocess.Popen(
            [sys.executable, "-c", "from worker import jobs; jobs.send_webhooks()"],
            cwd=REPO, env=env)
        try:
            assert receiver.wait_for_request(30), "the sender never reached the receiver"
            sender.send_signal(signal.SIGKILL)  # dies holding the claim, mid-request
            sender.wait(10)
        finally:
            sender.kill()
        receiver.hold.set()  # the first request completes on the receiver's side
        [delivery] = session.exec(select(WebhookDelivery)).all()
        assert (delivery.status, delivery.attempts) == ("sending", 1)
        # While the lease holds nobody takes it; after, the sweep hands it out again.
        assert sending.due(session, now=now) == []
        later = delivery.lease_until + timedelta(seconds=1)
        claimed = sending.claim(session, sending.due(session, now=later), now=later)
        session.commit()
        assert claimed == [delivery.id]
        request = sending.prepare(session, delivery_id=delivery.id, now=later, key=KEY)
        session.commit()
        result = sending.post(request, sent_at=datetime.now(UTC), production=False)
        sending.record(session, delivery_id=delivery.id, result=result, now=later)
        session.commit()
        session.refresh(delivery)
        assert (delivery.status, delivery.attempts) == ("delivered", 2)
        arrivals = receiver.wait_for(2)
        public_id = session.get(WebhookEvent, event.id).public_id
        assert [a.id for a in arrivals] == [public_id, public_id]  # dedupable by its id
