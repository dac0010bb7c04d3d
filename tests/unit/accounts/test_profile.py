"""Profile: checked whole, saved with an audit entry and one notification email."""

from __future__ import annotations

import pytest
from sqlmodel import select

from webapp import demo
from webapp.models import AuditEntry, ContactPerson, Customer, OutboxMessage, Preferences
from webapp.services.accounts import profile
from webapp.services.core import notifications
from webapp.services.core.errors import NotFound
from webapp.services.core.preferences import InvalidChanges


@pytest.fixture
def seeded(session, now):
    result = demo.seed_demo(session, now=now)
    session.commit()
    return result


def _details(**changes) -> profile.Details:
    base = dict(display_name="Jane Cooper", company="Cooper Design Studio",
                phone="+1 415 555 0134",
                billing_address="500 Market St\nSan Francisco, CA 94105\nUSA",
                shipping_address="", tax_id="")
    return profile.Details(**(base | changes))


def _update(session, seeded, now, **changes):
    return profile.update_details(session, customer_id=seeded.jane_customer_id, user_id=None,
                                  actor="jane@example.com", data=_details(**changes), now=now)


def test_a_change_is_saved_audited_and_notified_with_one_email(session, seeded, now):
    saved = _update(session, seeded, now, phone="+1 415 555 0199", tax_id="us 12-3456789")
    assert saved.changed == ("Phone", "Tax ID")
    assert saved.profile.details.tax_id == "US 12-3456789"
    (entry,) = session.exec(select(AuditEntry).where(AuditEntry.action == "profile.update"))
    assert entry.before == {"phone": "+1 415 555 0134", "tax_id": ""}
    assert entry.after == {"phone": "+1 415 555 0199", "tax_id": "US 12-3456789"}
    (mail,) = session.exec(select(OutboxMessage)).all()
    assert mail.context["event"] == notifications.PROFILE_CHANGED
    assert "+1 415 555 0134 → +1 415 555 0199" in mail.context["body"]


def test_the_customer_chooses_their_locale_audited_like_the_other_details(session, seeded, now):
    saved = _update(session, seeded, now, locale="en_US")
    assert saved.changed == ("Language and region",)
    assert saved.profile.details.locale == "en_US"
    (entry,) = session.exec(select(AuditEntry).where(AuditEntry.action == "profile.update"))
    assert (entry.before, entry.after) == ({"locale": None}, {"locale": "en_US"})


def test_choosing_the_organizations_locale_again_stores_none(session, seeded, now):
    _update(session, seeded, now, locale="de_DE")
    _update(session, seeded, now, locale="")
    assert session.get(Customer, seeded.jane_customer_id).locale is None


def test_an_unknown_locale_is_refused_and_nothing_is_saved(session, seeded, now):
    with pytest.raises(InvalidChanges) as refused:
        _update(session, seeded, now, locale="tlh_XX", phone="+1 415 555 0199")
    assert refused.value.errors == {"locale": "Choose one of the languages and regions offered."}
    session.rollback()
    customer = session.get(Customer, seeded.jane_customer_id)
    assert (customer.locale, customer.phone) == (None, "+1 415 555 0134")


def test_saving_unchanged_details_records_nothing(session, seeded, now):
    assert _update(session, seeded, now).changed == ()
    assert session.exec(select(AuditEntry)).all() == []
    assert session.exec(select(OutboxMessage)).all() == []


def test_every_bad_field_is_reported_and_nothing_is_saved(session, seeded, now):
    with pytest.raises(InvalidChanges) as refused:
        _update(session, seeded, now, display_name=" ", phone="call me", tax_id="12",
                company="Cooper & Co")
    assert set(refused.value.errors) == {"display_name", "phone", "tax_id"}
    session.rollback()
    assert session.get(Customer, seeded.jane_customer_id).company == "Cooper Design Studio"
    assert session.exec(select(AuditEntry)).all() == []


@pytest.mark.parametrize("tax_id", ["GB123456789", "DE 123/456/78901", "12-3456789"])
def test_common_tax_id_shapes_are_accepted(tax_id):
    assert profile.check_details(_details(tax_id=tax_id)).tax_id == tax_id


@pytest.mark.parametrize("tax_id", ["AB", "ABCDEFG", "GB12345*789", "-GB123"])
def test_malformed_tax_ids_are_refused(tax_id):
    with pytest.raises(InvalidChanges) as refused:
        profile.check_details(_details(tax_id=tax_id))
    assert set(refused.value.errors) == {"tax_id"}


def test_changes_are_refused_when_the_preference_is_off(session, seeded, now):
    session.get(Preferences, 1).update_customer_details = False
    with pytest.raises(NotFound):
        _update(session, seeded, now, phone="+1 415 555 0199")


def _contact(name="Ravi Shah", email="ravi@example.com", role="technical"):
    return profile.ContactInput(name, email, role)


def test_contact_persons_are_added_changed_and_removed_each_with_an_audit_entry(session,
                                                                                seeded, now):
    who = dict(customer_id=seeded.jane_customer_id, user_id=None, actor="jane@example.com")
    view = profile.add_contact(session, data=_contact(), now=now, **who)
    ravi = next(c for c in view.contacts if c.name == "Ravi Shah")
    profile.update_contact(session, contact_id=ravi.id, data=_contact(role="billing"),
                           now=now, **who)
    view = profile.remove_contact(session, contact_id=ravi.id, now=now, **who)
    assert "Ravi Shah" not in [c.name for c in view.contacts]
    actions = [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["contact_person.add", "contact_person.update", "contact_person.remove"]
    assert len(session.exec(select(OutboxMessage)).all()) == 3


def test_a_contact_needs_a_valid_unique_address_and_a_known_role(session, seeded, now):
    with pytest.raises(InvalidChanges) as refused:
        profile.add_contact(session, customer_id=seeded.jane_customer_id, user_id=None,
                            actor="jane", data=_contact(email="sam.lee@example.com",
                                                        role="boss"), now=now)
    assert set(refused.value.errors) == {"email", "role"}


def test_another_customers_contact_is_not_found(session, seeded, now):
    omars = session.exec(select(ContactPerson).where(
        ContactPerson.customer_id == seeded.omar_customer_id)).first()
    with pytest.raises(NotFound):
        profile.remove_contact(session, customer_id=seeded.jane_customer_id, user_id=None,
                               actor="jane", contact_id=omars.id, now=now)


def test_in_the_eu_the_tax_id_is_a_vat_number_checked_for_its_country(session, seeded, now):
    """The reverse charge depends on it (issue 30): its format and check digits, offline."""
    session.get(Customer, seeded.jane_customer_id).country = "NL"
    with pytest.raises(InvalidChanges) as refused:
        _update(session, seeded, now, tax_id="DE136695976")  # Germany's, not the Netherlands'
    assert refused.value.errors == {"tax_id": "This is not a valid VAT number for NL."}
    saved = _update(session, seeded, now, tax_id="004495445 b01")
    assert saved.profile.details.tax_id == "NL004495445B01"
