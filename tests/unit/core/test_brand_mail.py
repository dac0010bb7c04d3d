"""The logo in email, through SMTP to the test sink: an inline part the HTML names by its
Content-ID, never a remote image."""

from __future__ import annotations

import re

import pytest

from tests.mail_sink import MailSink
from webapp import demo
from webapp.demo.brand import draw_logo
from webapp.services.admin import brand
from webapp.services.core import outbox
from webapp.services.core.mail import SmtpMailer

LEASE = 300


@pytest.fixture
def sink():
    sink = MailSink().start()
    yield sink
    sink.stop()


def _send_reset_mail(session, now, sink, *, batch: bool):
    row = outbox.enqueue(session, template="password_reset", to="jane@example.com",
                         subject="Reset your password", now=now,
                         context={"link": "http://portal.test/password/reset/x",
                                  "valid_hours": 2})
    session.commit()
    outbox.claim(session, message_id=row.id, now=now, lease_seconds=LEASE)
    smtp = SmtpMailer(host="127.0.0.1", port=sink.port, mail_from="portal@northwind.example")
    if batch:
        outbox.send_many(session, message_ids=[row.id], now=now, smtp=smtp)
    else:
        outbox.send(session, message_id=row.id, now=now, smtp=smtp)
    session.commit()
    return sink.wait_for(1)[0]


@pytest.mark.parametrize("batch", [False, True], ids=["one", "batch"])
def test_the_logo_is_an_inline_part_the_html_names_by_content_id(session, now, sink, batch):
    demo.seed_organization(session, now=now)
    brand.apply_logo(session, prepared=brand.prepare_logo(draw_logo()), now=now)
    mail = _send_reset_mail(session, now, sink, batch=batch)

    html = mail.get_body(preferencelist=("html",)).get_content()
    (image,) = [part for part in mail.walk() if part.get_content_maintype() == "image"]
    content_id = image["Content-ID"].strip("<>")
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    assert f'src="cid:{content_id}"' in html
    assert 'alt="Northwind Cloud Ltd"' in html
    assert image.get_content() == brand.prepare_logo(draw_logo()).logo.data
    assert not re.search(r"<img[^>]+src=\"https?:", html)


def test_without_a_logo_a_mail_has_no_image_at_all(session, now, sink):
    demo.seed_organization(session, now=now)
    mail = _send_reset_mail(session, now, sink, batch=False)
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "<img" not in html
    assert [p for p in mail.walk() if p.get_content_maintype() == "image"] == []
