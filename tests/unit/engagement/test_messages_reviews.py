"""Send us an email (attachments checked by their bytes) and reviews."""

from __future__ import annotations

import pytest
from sqlmodel import select

from webapp import demo
from webapp.models import AuditEntry, Notification, OutboxMessage, Preferences
from webapp.services.core import notifications, outbox
from webapp.services.core.errors import IllegalTransition, InvalidInput, NotFound
from webapp.services.documents import sources
from webapp.services.engagement import messages, reviews

PDF = b"%PDF-1.4\n%test\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


@pytest.fixture
def seeded(session, now):
    result = demo.seed_demo(session, now=now)
    session.commit()
    return result


def _send(session, seeded, now, upload=None, subject="Invoice question", body="Hello"):
    return messages.send(session, customer_id=seeded.jane_customer_id, user_id=None,
                         subject=subject, body=body, upload=upload, now=now)


def test_a_message_is_one_email_to_the_primary_contact_with_reply_to_the_customer(
        session, seeded, now):
    _send(session, seeded, now)
    (mail,) = session.exec(select(OutboxMessage)).all()
    assert (mail.to_address, mail.reply_to, mail.template) == (
        "billing@northwind.example", demo.JANE[0], "customer_message")
    assert mail.subject == "Portal message from Cooper Design Studio: Invoice question"
    assert session.exec(select(Notification)).one().event == messages.MESSAGE_SENT


@pytest.mark.parametrize(("content", "media_type", "name"), [
    (PDF, "application/pdf", "scan.pdf"), (PNG, "image/png", "scan.png"),
    (JPEG, "image/jpeg", "scan.jpg")])
def test_the_attachment_goes_with_the_email_as_its_bytes_say(session, seeded, now, content,
                                                             media_type, name):
    message = _send(session, seeded, now, messages.Upload("../scan.exe", content))
    mail = session.get(OutboxMessage, message.outbox_message_id)
    built = outbox.build_message(session, mail, mail_from="portal@localhost", now=now,
                                 attach=sources.attachment)
    (attached,) = list(built.iter_attachments())
    assert (attached.get_content_type(), attached.get_filename()) == (media_type, name)
    assert attached.get_content() == content


def test_a_file_that_is_not_pdf_png_or_jpeg_is_refused_whatever_its_name(session, seeded,
                                                                         now):
    with pytest.raises(InvalidInput, match="PDF, PNG or JPEG") as refused:
        _send(session, seeded, now, messages.Upload("invoice.pdf", b"MZ\x90\x00 not a pdf"))
    assert refused.value.field == "attachment"


def test_a_file_over_5_mb_is_refused(session, seeded, now):
    big = PDF + b"0" * (messages.MAX_ATTACHMENT - len(PDF) + 1)
    with pytest.raises(InvalidInput, match="larger than 5 MB"):
        _send(session, seeded, now, messages.Upload("big.pdf", big))


def test_a_file_of_exactly_5_mb_is_accepted(session, seeded, now):
    exact = PDF + b"0" * (messages.MAX_ATTACHMENT - len(PDF))
    assert _send(session, seeded, now, messages.Upload("ok.pdf", exact)).attachment == exact


@pytest.mark.parametrize(("subject", "body", "field"), [("", "Hi", "subject"),
                                                        ("Hi", "  ", "body")])
def test_a_message_needs_a_subject_and_a_text(session, seeded, now, subject, body, field):
    with pytest.raises(InvalidInput) as refused:
        _send(session, seeded, now, subject=subject, body=body)
    assert refused.value.field == field


def test_the_attachment_belongs_to_its_customer(session, seeded, now):
    message = _send(session, seeded, now, messages.Upload("a.pdf", PDF))
    with pytest.raises(NotFound):
        messages.attachment_source(session, customer_id=seeded.omar_customer_id,
                                   message_id=message.id)


def test_a_review_is_saved_and_notified_with_one_email(session, seeded, now):
    view = reviews.submit(session, customer_id=seeded.jane_customer_id, user_id=None, rating=4,
                          body="Good work.", now=now)
    assert (view.rating, view.stars) == (4, "★★★★☆")
    (mail,) = session.exec(select(OutboxMessage)).all()
    assert mail.context["event"] == notifications.REVIEW_SUBMITTED
    assert [r.id for r in reviews.customer_reviews(
        session, customer_id=seeded.jane_customer_id)][0] == view.id


@pytest.mark.parametrize("rating", [None, 0, 6])
def test_a_review_needs_a_rating_from_1_to_5(session, seeded, now, rating):
    with pytest.raises(InvalidInput) as refused:
        reviews.submit(session, customer_id=seeded.jane_customer_id, user_id=None,
                       rating=rating, body="", now=now)
    assert refused.value.field == "rating"


def test_reviews_are_refused_when_the_preference_is_off(session, seeded, now):
    session.get(Preferences, 1).reviews = False
    with pytest.raises(NotFound):
        reviews.submit(session, customer_id=seeded.jane_customer_id, user_id=None, rating=5,
                       body="", now=now)
    with pytest.raises(IllegalTransition):
        reviews.request_review(session, customer_id=seeded.jane_customer_id, user_id=None,
                               actor="admin", now=now)


def test_admins_see_every_review_or_one_customers(session, seeded):
    assert {r.customer_name for r in reviews.admin_reviews(session)} == {"Jane Cooper",
                                                                         "Omar Haddad"}
    assert {r.customer_name for r in reviews.admin_reviews(
        session, customer_id=seeded.omar_customer_id)} == {"Omar Haddad"}


def test_requesting_a_review_emails_the_customer_a_link_and_is_audited(session, seeded, now):
    reviews.request_review(session, customer_id=seeded.jane_customer_id, user_id=None,
                           actor="admin@example.com", now=now)
    (mail,) = session.exec(select(OutboxMessage)).all()
    assert (mail.to_address, mail.template, mail.context["page"]) == (
        demo.JANE[0], "review_request", {"endpoint": "reviews.index", "values": {}})
    assert session.exec(select(AuditEntry)).one().action == "review.request"
