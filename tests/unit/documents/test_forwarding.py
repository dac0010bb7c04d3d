"""Forwarding documents: recipients, limits, one outbox row each, the PDF attached."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import event
from sqlmodel import select

from tests.factories import make_customer, make_invoice
from tests.unit.documents.test_documents import pdf_text
from tests.web.app.test_query_counts import count_queries
from webapp import demo
from webapp.models import ContactPerson, OutboxMessage, User
from webapp.services.accounts import request_facts
from webapp.services.accounts import sessions as account_sessions
from webapp.services.core import outbox, preferences
from webapp.services.core.errors import Forbidden, InvalidInput, NotFound
from webapp.services.documents import forwarding, sources


@pytest.fixture
def prefs(session, now):
    demo.seed_organization(session, now=now)
    return preferences.seed_demo_preferences(session, now=now)


@pytest.fixture
def customer(session, now, prefs):
    customer = make_customer(session, now=now, email="jane@example.com")
    customer.company = "Cooper Design Studio"
    return customer


@pytest.fixture
def invoice(session, now, customer):
    return make_invoice(session, customer=customer, now=now, amount=4200)


def contact(session, customer, now, name="Sam Lee", email="sam@example.com") -> ContactPerson:
    person = ContactPerson(customer_id=customer.id, name=name, email=email, created_at=now)
    session.add(person)
    session.flush()
    return person


def forward(session, customer, invoice, now, contact_ids=(), addresses="", message=""):
    return forwarding.forward(session, customer_id=customer.id, user_id=None, kind="invoice",
                              document_id=invoice.id, contact_ids=contact_ids,
                              addresses=addresses, message=message, now=now)


def rows(session) -> list[OutboxMessage]:
    return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_forwarding_writes_one_outbox_row_per_recipient_with_the_document(session, now,
                                                                          customer, invoice):
    sam = contact(session, customer, now)
    result = forward(session, customer, invoice, now, contact_ids=[sam.id],
                     addresses="acct@example.org", message="For the books")
    assert result.recipients == ("sam@example.com", "acct@example.org")
    assert [(r.to_address, r.attachment_kind, r.attachment_id, r.reply_to) for r in
            rows(session)] == [("sam@example.com", "invoice", invoice.id, "jane@example.com"),
                               ("acct@example.org", "invoice", invoice.id, "jane@example.com")]
    assert rows(session)[0].context["message"] == "For the books"


def test_an_address_both_chosen_and_typed_gets_one_mail(session, now, customer, invoice):
    sam = contact(session, customer, now)
    result = forward(session, customer, invoice, now, contact_ids=[sam.id, sam.id],
                     addresses="SAM@example.com; sam@example.com")
    assert result.recipients == ("sam@example.com",)


def test_an_address_that_is_not_an_email_is_refused_next_to_its_field(session, now, customer,
                                                                      invoice):
    with pytest.raises(InvalidInput) as refused:
        forward(session, customer, invoice, now, addresses="ok@example.com, not-an-address")
    assert refused.value.field == "addresses" and "not-an-address" in refused.value.message
    assert rows(session) == []


def test_forwarding_to_nobody_is_refused(session, now, customer, invoice):
    with pytest.raises(InvalidInput):
        forward(session, customer, invoice, now, addresses="  ,  ")


def test_at_most_ten_recipients_at_a_time(session, now, customer, invoice):
    eleven = ", ".join(f"person{n}@example.com" for n in range(11))
    with pytest.raises(InvalidInput) as refused:
        forward(session, customer, invoice, now, addresses=eleven)
    assert "at most 10" in refused.value.message


def test_recipients_an_hour_are_limited_by_the_preference(session, now, customer, invoice,
                                                          prefs):
    prefs.forward_max_recipients_per_hour = 3
    forward(session, customer, invoice, now, addresses="a@example.com, b@example.com")
    with pytest.raises(InvalidInput) as refused:
        forward(session, customer, invoice, now, addresses="c@example.com, d@example.com")
    assert "1 more recipient" in refused.value.message
    forward(session, customer, invoice, now + timedelta(hours=1, seconds=1),
            addresses="c@example.com, d@example.com")


def test_another_customers_contact_person_cannot_be_chosen(session, now, customer, invoice):
    omar = make_customer(session, now=now, email="omar@example.com")
    theirs = contact(session, omar, now, email="lina@example.com")
    with pytest.raises(InvalidInput):
        forward(session, customer, invoice, now, contact_ids=[theirs.id])


def test_another_customers_document_cannot_be_forwarded(session, now, customer, invoice):
    omar = make_customer(session, now=now, email="omar@example.com")
    with pytest.raises(NotFound):
        forward(session, omar, invoice, now, addresses="me@example.com")


def test_nothing_is_forwarded_while_the_preference_is_off(session, now, customer, invoice,
                                                          prefs):
    prefs.forward_documents = False
    with pytest.raises(Forbidden):
        forward(session, customer, invoice, now, addresses="a@example.com")


def test_the_mail_carries_the_document_as_a_pdf(session, now, customer, invoice):
    forward(session, customer, invoice, now, addresses="acct@example.org")
    (row,) = rows(session)
    message = outbox.build_message(session, row, mail_from="portal@example.com", now=now,
                                   attach=sources.attachment)
    (attached,) = message.iter_attachments()
    assert attached.get_filename() == f"{invoice.number}.pdf"
    assert attached.get_content_type() == "application/pdf"
    assert invoice.number in pdf_text(attached.get_content())
    assert message["Message-ID"] == row.message_id_header


class Collecting:
    mail_from = "portal@example.com"

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


def test_each_recipient_shows_queued_then_sent(session, now, customer, invoice):
    result = forward(session, customer, invoice, now, addresses="a@example.com, b@example.com")
    before = forwarding.status(session, customer_id=customer.id, forward_id=result.forward_id)
    assert [r.label for r in before.recipients] == ["Queued", "Queued"] and before.waiting
    for row in rows(session):
        outbox.claim(session, message_id=row.id, now=now, lease_seconds=60)
        outbox.send(session, message_id=row.id, now=now, smtp=Collecting(),
                    attach=sources.attachment)
    after = forwarding.status(session, customer_id=customer.id, forward_id=result.forward_id)
    assert [r.label for r in after.recipients] == ["Sent", "Sent"] and not after.waiting


def test_another_customers_forward_is_not_found(session, now, customer, invoice):
    result = forward(session, customer, invoice, now, addresses="a@example.com")
    omar = make_customer(session, now=now, email="omar@example.com")
    with pytest.raises(NotFound):
        forwarding.status(session, customer_id=omar.id, forward_id=result.forward_id)


def test_the_status_is_one_statement_with_the_documents_number(session, now, customer,
                                                               invoice):
    result = forward(session, customer, invoice, now, addresses="a@example.com, b@example.com")
    session.flush()
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", before)
    try:
        view = forwarding.status(session, customer_id=customer.id, forward_id=result.forward_id)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert len(statements) == 1
    assert (view.kind, view.label, view.number, view.document_id) == (
        "invoice", "Invoice", invoice.number, invoice.id)
    assert [r.address for r in view.recipients] == ["a@example.com", "b@example.com"]


def test_a_forward_whose_document_is_no_longer_theirs_is_not_found(session, now, customer,
                                                                   invoice):
    result = forward(session, customer, invoice, now, addresses="a@example.com")
    omar = make_customer(session, now=now, email="omar@example.com")
    invoice.customer_id = omar.id
    session.flush()
    with pytest.raises(NotFound):
        forwarding.status(session, customer_id=customer.id, forward_id=result.forward_id)


def _login_of(session, customer, now) -> str:
    """A sign-in of the customer's user, as the login cookie names it."""
    user = session.exec(select(User).where(User.customer_id == customer.id)).one()
    started = account_sessions.start(session, user_id=user.id, method="password", ip=None,
                                     user_agent=None, now=now)
    session.commit()
    return request_facts.login_id(user.id, user.session_version, started.token)


def test_the_status_read_along_with_the_login_is_the_status_read_alone(session, now, invoice):
    """The polled fragment's one statement (issue 32): the login and the status together."""
    jane = make_customer(session, now=now, email="jane.rider@example.com", password="pw-long-1")
    invoice.customer_id = jane.id
    result = forward(session, jane, invoice, now, addresses="a@example.com, b@example.com")
    login_id = _login_of(session, jane, now)
    with count_queries(session.get_bind()) as statements:
        facts = request_facts.for_login(session, login_id,
                                        rider=forwarding.status_rider(result.forward_id))
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    alone = forwarding.status(session, customer_id=jane.id, forward_id=result.forward_id)
    ridden = forwarding.status(session, customer_id=jane.id, forward_id=result.forward_id,
                               ridden=facts.ridden)
    assert ridden == alone
    assert [r.address for r in ridden.recipients] == ["a@example.com", "b@example.com"]
    assert ridden.number == invoice.number and ridden.created_at == now
    assert facts == request_facts.for_login(session, login_id)  # the login's facts unchanged


def test_another_customers_login_reads_along_nothing_of_the_forward(session, now, invoice):
    jane = make_customer(session, now=now, email="jane.rider@example.com", password="pw-long-1")
    invoice.customer_id = jane.id
    result = forward(session, jane, invoice, now, addresses="a@example.com")
    omar = make_customer(session, now=now, email="omar.rider@example.com", password="pw-long-1")
    facts = request_facts.for_login(session, _login_of(session, omar, now),
                                    rider=forwarding.status_rider(result.forward_id))
    assert facts.user.customer_id == omar.id and facts.ridden == {"forward": []}
    with pytest.raises(NotFound):
        forwarding.status(session, customer_id=omar.id, forward_id=result.forward_id,
                          ridden=facts.ridden)
