"""Back office: customers, their contact persons and notes, and portal access."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.factories import make_customer, make_invoice, make_subscription, moment_on
from webapp.demo import seed_organization
from webapp.models import AuditEntry, Customer, OutboxMessage, Preferences, User
from webapp.services.accounts import auth, invitations
from webapp.services.admin import Actor, LinkSettings, customers, portal
from webapp.services.core.errors import DomainError
from webapp.services.core.preferences import InvalidChanges

ADMIN = Actor(None, "admin@example.com")
LINKS = LinkSettings("test-secret-key")


@pytest.fixture
def org(session, now):
    return seed_organization(session, now=now)


def _input(**overrides) -> customers.CustomerInput:
    values = {"display_name": "Ada Lovelace", "email": "ada@example.com", "currency": "GBP",
              "company": "Analytical Ltd"} | overrides
    return customers.CustomerInput(**values)


def _create(session, now, **overrides):
    return customers.create_customer(session, actor=ADMIN, data=_input(**overrides), now=now,
                                     links=LINKS)


def _actions(session) -> list[str]:
    return [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]


def test_creating_a_customer_is_recorded_in_the_audit_log(session, now, org):
    saved = _create(session, now)
    assert saved.customer.id and saved.customer.currency == "GBP" and not saved.invited
    assert _actions(session) == ["customer.create"]


def test_every_bad_field_is_reported_at_once_and_nothing_is_saved(session, now, org):
    with pytest.raises(InvalidChanges) as refused:
        _create(session, now, display_name=" ", email="not-an-email", currency="XYZ")
    assert set(refused.value.errors) == {"display_name", "email", "currency"}
    assert session.exec(select(Customer)).all() == []


def test_the_admin_keeps_a_customers_billing_address_and_tax_id_as_the_profile_would(
        session, now, org):
    saved = _create(session, now, billing_address="1 Dock Road\nLondon E1", tax_id="gb 123456789")
    assert (saved.customer.billing_address, saved.customer.tax_id) == (
        "1 Dock Road\nLondon E1", "GB 123456789")


def test_a_tax_id_the_documents_cannot_print_is_refused_on_the_admins_form(session, now, org):
    with pytest.raises(InvalidChanges) as refused:
        _create(session, now, tax_id="<b>VAT</b>")
    assert refused.value.errors == {"tax_id": "Enter a tax ID of 4 to 30 letters and digits, "
                                              "such as GB123456789 or DE 123/456/78901."}


def test_two_customers_cannot_share_an_email(session, now, org):
    _create(session, now)
    with pytest.raises(InvalidChanges) as refused:
        _create(session, now, email="ADA@example.com", display_name="Someone else")
    assert refused.value.errors == {"email": "Another customer already has this email address."}


def test_new_customers_are_invited_when_the_portal_opens_for_them_automatically(
        session, now, org):
    session.add(Preferences(organization_id=1, portal_auto_enable=True, updated_at=now))
    saved = _create(session, now)
    assert saved.invited and saved.customer.portal_enabled
    [mail] = session.exec(select(OutboxMessage)).all()
    assert (mail.template, mail.to_address) == ("invitation", "ada@example.com")
    assert _actions(session) == ["customer.create", "portal.invite"]


def test_the_currency_cannot_change_once_the_customer_has_invoices(session, now, org):
    customer = _create(session, now).customer
    make_invoice(session, customer=customer, now=now)
    with pytest.raises(InvalidChanges) as refused:
        customers.update_customer(session, actor=ADMIN, customer_id=customer.id,
                                  data=_input(currency="EUR"), now=now)
    assert "currency" in refused.value.errors


def test_an_edit_records_only_what_changed(session, now, org):
    customer = _create(session, now).customer
    customers.update_customer(session, actor=ADMIN, customer_id=customer.id,
                              data=_input(phone="+44 20 7946 0000"), now=now)
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "customer.update")).one()
    assert (entry.before, entry.after) == ({"phone": ""}, {"phone": "+44 20 7946 0000"})


def test_the_admin_sets_a_customers_locale_and_the_change_is_audited(session, now, org):
    customer = _create(session, now).customer
    customers.update_customer(session, actor=ADMIN, customer_id=customer.id,
                              data=_input(locale="de_DE"), now=now)
    assert session.get(Customer, customer.id).locale == "de_DE"
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "customer.update")).one()
    assert (entry.before, entry.after) == ({"locale": None}, {"locale": "de_DE"})


def test_an_unknown_locale_is_refused_next_to_its_field_and_nothing_changes(session, now, org):
    customer = _create(session, now).customer
    with pytest.raises(InvalidChanges) as refused:
        customers.update_customer(session, actor=ADMIN, customer_id=customer.id,
                                  data=_input(locale="xx_XX", phone="+44 20 7946 0000"),
                                  now=now)
    assert refused.value.errors == {"locale": "Choose one of the languages and regions offered."}
    assert (customer.locale, customer.phone) == (None, "")
    assert _actions(session) == ["customer.create"]


def test_the_list_searches_name_email_and_company(session, now, org):
    _create(session, now)
    _create(session, now, display_name="Grace Hopper", email="grace@navy.example",
            company="Navy")
    def names(q):
        filters = customers.CustomerFilters(q=q)
        return [r.display_name for r in customers.list_customers(
            session, filters=filters, at=moment_on(now.date())).items]
    assert names("hopper") == ["Grace Hopper"]
    assert names("NAVY.example") == ["Grace Hopper"]
    assert names("analytical") == ["Ada Lovelace"]
    assert names("100%") == []


def test_the_list_filters_by_activity_overdue_invoices_and_portal(session, now, org):
    active = make_customer(session, now=now, email="active@example.com")
    make_subscription(session, customer=active, now=now)
    late = make_customer(session, now=now, email="late@example.com")
    late.portal_enabled = False
    make_invoice(session, customer=late, now=now, issue=now.date() - timedelta(days=30))

    def emails(**filters):
        page = customers.list_customers(session, filters=customers.CustomerFilters(**filters),
                                        at=moment_on(now.date()))
        return [r.email for r in page.items]
    assert emails(status="active") == ["active@example.com"]
    assert emails(status="inactive") == ["late@example.com"]
    assert emails(overdue=True) == ["late@example.com"]
    assert emails(portal="disabled") == ["late@example.com"]
    [row] = [r for r in customers.list_customers(session, filters=customers.CustomerFilters(
        overdue=True), at=moment_on(now.date())).items]
    assert row.overdue and row.outstanding == 1000


def test_unknown_filter_values_are_ignored_with_a_message():
    filters, messages = customers.read_filters({"status": "asleep", "page": "x"})
    assert filters == customers.CustomerFilters() and len(messages) == 2


def test_contact_persons_are_added_and_removed_with_an_audit_entry_each(session, now, org):
    customer = _create(session, now).customer
    [person] = customers.add_contact(session, actor=ADMIN, customer_id=customer.id, now=now,
                                     data=customers.ContactInput("Sam", "sam@example.com"))
    with pytest.raises(InvalidChanges) as refused:
        customers.add_contact(session, actor=ADMIN, customer_id=customer.id, now=now,
                              data=customers.ContactInput("Sam 2", "SAM@example.com", "boss"))
    assert set(refused.value.errors) == {"email", "role"}
    assert customers.remove_contact(session, actor=ADMIN, customer_id=customer.id,
                                    contact_id=person.id, now=now) == ()
    assert _actions(session)[-2:] == ["contact_person.add", "contact_person.remove"]


def test_notes_are_kept_newest_first_and_an_empty_one_is_refused(session, now, org):
    customer = _create(session, now).customer
    customers.add_note(session, actor=ADMIN, customer_id=customer.id, body="Called", now=now)
    notes = customers.add_note(session, actor=ADMIN, customer_id=customer.id, body="Paid",
                               now=now + timedelta(minutes=1))
    assert [n.body for n in notes] == ["Paid", "Called"]
    with pytest.raises(InvalidChanges):
        customers.add_note(session, actor=ADMIN, customer_id=customer.id, body="  ", now=now)


# --- Portal access ----------------------------------------------------------------------------

def test_an_invitation_makes_a_login_without_a_password_and_mails_a_link(session, now, org):
    customer = _create(session, now).customer
    access = portal.invite(session, actor=ADMIN, customer_id=customer.id, links=LINKS, now=now)
    assert (access.state, access.can_resend, access.can_revoke) == (portal.INVITED, True, True)
    again = portal.invite(session, actor=ADMIN, customer_id=customer.id, links=LINKS, now=now)
    assert again.state == portal.INVITED
    assert [m.template for m in session.exec(select(OutboxMessage))] == ["invitation"] * 2
    assert _actions(session)[-2:] == ["portal.invite", "portal.resend"]


def test_revoking_ends_sessions_and_kills_the_links_already_mailed(session, now, org):
    customer = _create(session, now).customer
    portal.invite(session, actor=ADMIN, customer_id=customer.id, links=LINKS, now=now)
    user = session.exec(select(User).where(User.customer_id == customer.id)).one()
    token = invitations.make_token(user, purpose=invitations.INVITATION, secret=LINKS.secret,
                                   now=now)
    version = user.session_version
    access = portal.revoke(session, actor=ADMIN, customer_id=customer.id, now=now)
    assert access.state == portal.REVOKED and not customer.portal_enabled
    assert not user.is_active and user.session_version == version + 1
    with pytest.raises(invitations.InvalidLink):
        invitations.user_for_token(session, token=token, purpose=invitations.INVITATION,
                                   secret=LINKS.secret, now=now)


def test_inviting_again_after_a_revoke_opens_the_portal_with_a_new_link(session, now, org):
    customer = _create(session, now).customer
    portal.invite(session, actor=ADMIN, customer_id=customer.id, links=LINKS, now=now)
    portal.revoke(session, actor=ADMIN, customer_id=customer.id, now=now)
    access = portal.invite(session, actor=ADMIN, customer_id=customer.id, links=LINKS, now=now)
    user = session.exec(select(User).where(User.customer_id == customer.id)).one()
    assert access.state == portal.INVITED and user.is_active and customer.portal_enabled
    token = invitations.make_token(user, purpose=invitations.INVITATION, secret=LINKS.secret,
                                   now=now)
    invitations.set_password_with_token(session, token=token, purpose=invitations.INVITATION,
                                        new_password="a-long-new-password", secret=LINKS.secret,
                                        now=now)
    assert portal.access(session, customer_id=customer.id, now=now).state == portal.ACTIVE
    assert auth.authenticate(session, email="ada@example.com", password="a-long-new-password",
                             now=now) is not None


def test_a_customer_who_uses_the_portal_is_not_invited_again(session, now, org):
    customer = make_customer(session, now=now, password="a-long-password")
    with pytest.raises(DomainError):
        portal.invite(session, actor=ADMIN, customer_id=customer.id, links=LINKS, now=now)
