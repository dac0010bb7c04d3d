"""Estimates: deciding (guarded), comments, the organization's side, the PDF."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlmodel import select

from tests.factories import moment_on
from webapp import demo
from webapp.models import Estimate, Notification, OutboxMessage, Preferences
from webapp.services.admin import estimates as estimate_admin
from webapp.services.core import notifications
from webapp.services.core.errors import IllegalTransition, InvalidInput, NotFound
from webapp.services.documents import sources
from webapp.services.engagement import estimates


@pytest.fixture
def seeded(session, now):
    result = demo.seed_demo(session, now=now)
    session.commit()
    return result


@pytest.fixture
def today(now):
    return now.date()


def _estimate(session, subject: str) -> Estimate:
    return session.exec(select(Estimate).where(Estimate.subject == subject)).one()


def _mails(session) -> list[OutboxMessage]:
    return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def _accept(session, seeded, estimate, today, now):
    return estimates.accept(session, customer_id=seeded.jane_customer_id, user_id=None,
                            estimate_id=estimate.id, at=moment_on(today, now))


@pytest.mark.parametrize(("subject", "message"), [
    ("Brand refresh", "has expired"), ("Annual design retainer", "already declined")])
def test_accepting_an_expired_or_declined_estimate_is_refused_and_changes_nothing(
        session, seeded, today, now, subject, message):
    estimate = _estimate(session, subject)
    before = (estimate.status, estimate.decided_at, estimate.decision_reason)
    with pytest.raises(IllegalTransition, match=message):
        _accept(session, seeded, estimate, today, now)
    session.rollback()
    again = session.get(Estimate, estimate.id, populate_existing=True)
    assert (again.status, again.decided_at, again.decision_reason) == before
    assert _mails(session) == []


def test_an_estimate_is_open_until_the_end_of_its_expiry_date(session, seeded, now):
    estimate = _estimate(session, "Website redesign")
    detail = _accept(session, seeded, estimate, estimate.expiry_date, now)
    assert detail.row.status == "accepted"


def test_accepting_an_open_estimate_notifies_the_organization_with_one_email(session, seeded,
                                                                             today, now):
    detail = _accept(session, seeded, _estimate(session, "Website redesign"), today, now)
    assert (detail.row.status, detail.estimate.decided_at) == ("accepted", now)
    (note,) = session.exec(select(Notification)).all()
    assert note.event == notifications.ESTIMATE_ACCEPTED and \
        "EST-" in notifications.NotificationView.of(note).title
    (mail,) = _mails(session)
    assert (mail.to_address, mail.reply_to) == ("billing@northwind.example", demo.JANE[0])


def test_declining_keeps_the_reason_and_notifies_with_one_email(session, seeded, today, now):
    estimate = _estimate(session, "Analytics dashboard")
    detail = estimates.decline(session, customer_id=seeded.jane_customer_id, user_id=None,
                               estimate_id=estimate.id, reason="  Over our budget.  ",
                               at=moment_on(today, now))
    assert (detail.row.status, detail.estimate.decision_reason) == ("declined", "Over our budget.")
    (note,) = session.exec(select(Notification)).all()
    assert note.event == notifications.ESTIMATE_DECLINED and \
        "Over our budget." in notifications.NotificationView.of(note).body
    assert len(_mails(session)) == 1


def test_a_decided_estimate_cannot_be_decided_again(session, seeded, today, now):
    estimate = _estimate(session, "Website redesign")
    _accept(session, seeded, estimate, today, now)
    with pytest.raises(IllegalTransition, match="already accepted"):
        estimates.decline(session, customer_id=seeded.jane_customer_id, user_id=None,
                          estimate_id=estimate.id, reason="", at=moment_on(today, now))


def test_drafts_and_other_customers_estimates_are_not_found(session, seeded, today):
    for subject, customer_id in (("Mobile app prototype", seeded.jane_customer_id),
                                 ("Website redesign", seeded.omar_customer_id)):
        with pytest.raises(NotFound):
            estimates.estimate_detail(session, customer_id=customer_id,
                                      estimate_id=_estimate(session, subject).id,
                                      at=moment_on(today))


@pytest.mark.parametrize(("status", "subjects"), [
    (None, {"Logo package", "Annual design retainer", "Brand refresh", "Website redesign",
            "Analytics dashboard"}),
    ("sent", {"Website redesign", "Analytics dashboard"}),
    ("expired", {"Brand refresh"}),
    ("accepted", {"Logo package"}),
    ("declined", {"Annual design retainer"}),
])
def test_the_list_filters_by_derived_status_and_never_shows_drafts(session, seeded, today,
                                                                   status, subjects):
    page = estimates.list_estimates(session, customer_id=seeded.jane_customer_id,
                                    filters=estimates.EstimateFilters(status=status),
                                    at=moment_on(today))
    assert {row.subject for row in page.items} == subjects


def test_comments_come_oldest_first_and_a_customer_comment_adds_no_email(session, seeded,
                                                                         now):
    estimate = _estimate(session, "Website redesign")
    thread = estimates.add_comment(session, customer_id=seeded.jane_customer_id, user_id=None,
                                   estimate_id=estimate.id, body="Can we start in January?",
                                   now=now)
    assert [c.by_admin for c in thread] == [False, True, False]
    assert thread[-1].body == "Can we start in January?"
    assert session.exec(select(Notification)).one().event == "comment_added"
    assert _mails(session) == []


def test_an_empty_comment_is_refused(session, seeded, now):
    with pytest.raises(InvalidInput, match="Write a comment"):
        estimates.add_comment(session, customer_id=seeded.jane_customer_id, user_id=None,
                              estimate_id=_estimate(session, "Website redesign").id, body="  ",
                              now=now)


@pytest.mark.parametrize("email_on_reply", [True, False])
def test_an_admin_reply_emails_the_customer_only_when_the_preference_says_so(
        session, seeded, now, email_on_reply):
    session.get(Preferences, 1).email_customer_on_reply = email_on_reply
    estimate = _estimate(session, "Website redesign")
    thread = estimate_admin.reply(session, estimate_id=estimate.id, user_id=None,
                                  body="January works.", now=now)
    assert thread[-1].by_admin and thread[-1].author_label == "Northwind Cloud Ltd"
    mails = _mails(session)
    assert len(mails) == int(email_on_reply)
    if email_on_reply:
        assert mails[0].to_address == demo.JANE[0]
        assert mails[0].context["page"] == {"endpoint": "estimates.detail",
                                            "values": {"estimate_id": estimate.id}}


def _typed(*lines):
    return tuple(estimate_admin.LineInput(*line) for line in lines)


def test_a_new_estimate_is_a_draft_priced_with_tax_per_line(session, seeded, now, today):
    data = estimate_admin.EstimateInput("Audit", today, today + timedelta(days=30), "",
                                        _typed(("Review", "3", "10.05"), ("", "", "")))
    estimate = estimate_admin.create_estimate(session, customer_id=seeded.jane_customer_id,
                                              data=data, now=now)
    assert estimate.number.startswith("EST-") and estimate.status == "draft"
    # 3 × 1005 = 3015; 20 % tax = 603
    assert (estimate.subtotal, estimate.tax_total, estimate.total) == (3015, 603, 3618)


@pytest.mark.parametrize(("lines", "field", "message"), [
    ((("", "", ""),), "lines", "at least one line"),
    ((("Review", "0", "10"),), "lines", "Line 1: the quantity"),
    ((("Review", "1", "10.001"),), "lines", "Line 1: USD amounts"),
])
def test_bad_estimate_lines_are_refused_with_the_line_named(session, seeded, now, today,
                                                            lines, field, message):
    data = estimate_admin.EstimateInput("", today, today, "", _typed(*lines))
    with pytest.raises(InvalidInput, match=message) as refused:
        estimate_admin.create_estimate(session, customer_id=seeded.jane_customer_id,
                                       data=data, now=now)
    assert refused.value.field == field


def test_a_decided_estimate_cannot_be_edited(session, seeded, now, today):
    data = estimate_admin.EstimateInput("", today, today, "", _typed(("X", "1", "1")))
    with pytest.raises(IllegalTransition, match="no longer be changed"):
        estimate_admin.update_estimate(session, estimate_id=_estimate(session, "Logo package").id,
                                       data=data, now=now)


def test_sending_a_draft_shows_it_to_the_customer_and_emails_a_link(session, seeded, now,
                                                                    today):
    draft = _estimate(session, "Mobile app prototype")
    estimate_admin.send_estimate(session, estimate_id=draft.id, now=now)
    detail = estimates.estimate_detail(session, customer_id=seeded.jane_customer_id,
                                       estimate_id=draft.id, at=moment_on(today))
    assert detail.row.decidable
    (mail,) = _mails(session)
    assert (mail.template, mail.to_address) == ("estimate_sent", demo.JANE[0])
    with pytest.raises(IllegalTransition, match="sent already"):
        estimate_admin.send_estimate(session, estimate_id=draft.id, now=now)


def test_the_estimate_pdf_shows_its_number_lines_and_total(session, seeded, today):
    estimate = _estimate(session, "Website redesign")
    document = sources.document_pdf(session, kind="estimate",
                                    customer_id=seeded.jane_customer_id,
                                    document_id=estimate.id, at=moment_on(today))
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(document.content)).pages)
    assert document.filename == f"{estimate.number}.pdf"
    assert estimate.number in text and "Discovery workshop" in text and "$9,960.00" in text
