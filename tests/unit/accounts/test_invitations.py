"""Set-password links: signed, expiring, single use; invitations make the login if needed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from webapp import demo
from webapp.models import Customer, OutboxMessage, User
from webapp.services.accounts import invitations
from webapp.services.accounts.invitations import INVITATION, RESET, InvalidLink
from webapp.services.core import outbox
from webapp.services.core.errors import InvalidInput, NotFound

SECRET = "unit-test-secret"


@pytest.fixture
def ann(session, now):
    demo.seed_organization(session, now=now)
    customer = Customer(display_name="Ann Lee", email="Ann@Example.com", currency="USD",
                        created_at=now)
    session.add(customer)
    session.commit()
    return customer


def _invite(session, now, **who):
    return invitations.invite(session, now=now, secret=SECRET,
                              **(who or {"email": "ann@example.com"}))


def _token(session) -> str:
    mail = session.exec(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    return mail.context["page"]["values"]["token"]


def test_inviting_a_customer_makes_a_login_without_a_password_and_mails_a_link(
        session, now, ann):
    invited = _invite(session, now)
    user = session.get(User, invited.user_id)
    assert (invited.created_user, user.email, user.password_hash, user.customer_id) == (
        True, "ann@example.com", None, ann.id)
    assert ann.portal_enabled
    mail = session.exec(select(OutboxMessage)).one()
    page = mail.context["page"]
    assert (page["endpoint"], list(page["values"])) == ("password.accept_invitation", ["token"])


def test_the_invitation_link_is_made_at_send_time_from_the_portal_address(session, now, ann):
    _invite(session, now)
    mail = session.exec(select(OutboxMessage)).one()
    message = outbox.build_message(
        session, mail, mail_from="portal@northwind.example", now=now,
        base_url="https://portal.example.com/",
        paths=lambda endpoint, values: f"/{endpoint}/{values['token']}")
    link = f"https://portal.example.com/password.accept_invitation/{_token(session)}"
    assert link in message.get_body(("plain",)).get_content()
    assert f'href="{link}"' in message.get_body(("html",)).get_content()


def test_inviting_again_reuses_the_login(session, now, ann):
    first = _invite(session, now)
    again = _invite(session, now, customer_id=ann.id)
    assert (again.user_id, again.created_user) == (first.user_id, False)


def test_inviting_an_email_no_customer_has_is_not_found(session, now, ann):
    with pytest.raises(NotFound):
        _invite(session, now, email="nobody@example.com")


def test_inviting_when_the_email_belongs_to_another_login_is_refused(session, now, ann):
    session.add(User(email="ann@example.com", role="admin", created_at=now))
    session.flush()
    with pytest.raises(InvalidInput, match="already belongs to another login"):
        _invite(session, now)


def test_a_link_sets_the_password_once(session, now, ann):
    _invite(session, now)
    token = _token(session)
    user = invitations.set_password_with_token(session, token=token, purpose=INVITATION,
                                               new_password="long-enough-pass", secret=SECRET,
                                               now=now)
    assert user.password_hash
    with pytest.raises(InvalidLink) as refused:
        invitations.user_for_token(session, token=token, purpose=INVITATION, secret=SECRET,
                                   now=now)
    assert refused.value.reason == "used"


def test_a_link_expires_after_its_purposes_max_age(session, now, ann):
    _invite(session, now)
    token = _token(session)
    at_limit = now + INVITATION.max_age
    assert invitations.user_for_token(session, token=token, purpose=INVITATION, secret=SECRET,
                                      now=at_limit)
    with pytest.raises(InvalidLink) as refused:
        invitations.user_for_token(session, token=token, purpose=INVITATION, secret=SECRET,
                                   now=at_limit + timedelta(seconds=1))
    assert refused.value.reason == "expired"


@pytest.mark.parametrize("purpose, secret", [(RESET, SECRET), (INVITATION, "another-secret")])
def test_a_link_is_invalid_for_another_purpose_or_secret(session, now, ann, purpose, secret):
    _invite(session, now)
    with pytest.raises(InvalidLink) as refused:
        invitations.user_for_token(session, token=_token(session), purpose=purpose,
                                   secret=secret, now=now)
    assert refused.value.reason == "invalid"


