"""Profile: the customer's contact details and contact persons, changed by the customer.

Changes need the "profile.update" preference. Every change is checked whole before anything is
saved (all messages at once, next to their fields), recorded in the audit trail with old and
new values, and notified to the organization once per save.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import update
from sqlmodel import Session, col, select

from webapp.models import ContactPerson, Customer, DocumentForwardRecipient
from webapp.services.core import audit, events, locales, notifications, places, preferences, text
from webapp.services.core.errors import NotFound
from webapp.services.core.i18n import N_, _, ngettext
from webapp.services.core.preferences import InvalidChanges

ROLES = {"billing": _("Billing"), "technical": _("Technical"), "other": _("Other")}
MAX_CONTACTS = 20
# Message ids: a notification stores them (JSON) and translates them when shown.
FIELD_LABELS = {"display_name": N_("Name"), "company": N_("Company"), "phone": N_("Phone"),
                "billing_address": N_("Billing address"),
                "shipping_address": N_("Shipping address"), "tax_id": N_("Tax ID"),
                "locale": N_("Language and region"), "name": N_("Name"), "email": N_("Email"),
                "role": N_("Role")}
# A required field left empty, by field.
REQUIRED = {"display_name": N_("Enter the name."), "company": N_("Enter the company."),
            "phone": N_("Enter the phone."), "billing_address": N_("Enter the billing address."),
            "shipping_address": N_("Enter the shipping address."),
            "tax_id": N_("Enter the tax ID."), "locale": N_("Enter the language and region."),
            "name": N_("Enter the name."), "email": N_("Enter the email."),
            "role": N_("Enter the role.")}
_PHONE = re.compile(r"^\+?[0-9 ()./-]+$")


@dataclass(frozen=True)
class Details:
    display_name: str
    company: str
    phone: str
    billing_address: str
    shipping_address: str
    tax_id: str
    locale: str | None = None  # how dates and amounts are written; None: the organization's

    @classmethod
    def of(cls, customer: Customer) -> Details:
        return cls(customer.display_name, customer.company, customer.phone,
                   customer.billing_address, customer.shipping_address, customer.tax_id,
                   customer.locale)


@dataclass(frozen=True)
class ContactView:
    id: int
    name: str
    email: str
    role: str
    role_label: str

    @classmethod
    def of(cls, contact: ContactPerson) -> ContactView:
        return cls(contact.id, contact.name, contact.email, contact.role,
                   ROLES.get(contact.role, contact.role))


@dataclass(frozen=True)
class Profile:
    customer_id: int
    email: str
    details: Details
    contacts: tuple[ContactView, ...]


def profile(session: Session, *, customer_id: int) -> Profile:
    """The customer's details and contact persons (two queries)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(_("No such customer."))
    return Profile(customer.id, customer.email, Details.of(customer),
                   _contacts(session, customer_id))


def _contacts(session: Session, customer_id: int) -> tuple[ContactView, ...]:
    return tuple(ContactView.of(c) for c in session.exec(
        select(ContactPerson).where(ContactPerson.customer_id == customer_id)
        .order_by(col(ContactPerson.name), col(ContactPerson.id))))


def _text(errors: dict, field: str, value: str | None, *, max_length: int,
          required: bool = False) -> str:
    value = " ".join((value or "").split()) if max_length <= 200 else (value or "").strip()
    if required and not value:
        errors[field] = _(REQUIRED[field])
    elif len(value) > max_length:
        errors[field] = ngettext("Use at most %(num)d character.",
                                 "Use at most %(num)d characters.", max_length)
    return value


def _phone(errors: dict, value: str | None) -> str:
    phone = _text(errors, "phone", value, max_length=50)
    digits = sum(ch.isdigit() for ch in phone)
    if phone and "phone" not in errors and (not _PHONE.match(phone) or not 6 <= digits <= 15):
        errors["phone"] = _("Enter a phone number of 6 to 15 digits; + ( ) - . and spaces "
                            "are allowed.")
    return phone


def _tax_id(errors: dict, value: str | None) -> str:
    tax_id = text.tax_id(_text(errors, "tax_id", value, max_length=50))
    if "tax_id" not in errors and (message := text.tax_id_error(tax_id)):
        errors["tax_id"] = message
    return tax_id


def _locale(errors: dict, value: str | None) -> str | None:
    try:
        return locales.parse_choice(value)
    except ValueError as exc:
        errors["locale"] = str(exc)
        return None


def check_details(data: Details) -> Details:
    """The details cleaned (spaces trimmed, tax ID upper-case), or InvalidChanges."""
    errors: dict[str, str] = {}
    cleaned = Details(
        display_name=_text(errors, "display_name", data.display_name, max_length=200,
                           required=True),
        company=_text(errors, "company", data.company, max_length=200),
        phone=_phone(errors, data.phone),
        billing_address=_text(errors, "billing_address", data.billing_address,
                              max_length=1000),
        shipping_address=_text(errors, "shipping_address", data.shipping_address,
                               max_length=1000),
        tax_id=_tax_id(errors, data.tax_id),
        locale=_locale(errors, data.locale))
    if errors:
        raise InvalidChanges(errors)
    return cleaned


@dataclass(frozen=True)
class Saved:
    profile: Profile
    changed: tuple[str, ...]  # labels of the fields that changed (in the reader's language)


def _record(session: Session, *, customer: Customer, user_id: int | None, actor: str,
            action: str, subject_type: str, subject_id: int | None, before: dict,
            after: dict, title: str, now: datetime, name: str = "") -> None:
    """Audit the change and tell the organization: `title` is a message id naming the
    %(customer)s (and the contact person's %(name)s); the body lists each field's change."""
    audit.record(session, actor_user_id=user_id, actor_label=actor, action=action,
                 subject_type=subject_type, subject_id=subject_id, before=before, after=after,
                 now=now, customer_id=customer.id)
    none = notifications.message(N_("(none)"))
    lines = [notifications.message(N_("%(field)s: %(before)s → %(after)s"),
                                   field=notifications.message(FIELD_LABELS.get(k, k)),
                                   before=before.get(k) or none, after=after.get(k) or none)
             for k in sorted(set(before) | set(after))]
    notifications.notify_org(session, event=notifications.PROFILE_CHANGED, title=title,
                             body=N_("%(changes)s"), now=now, customer_id=customer.id,
                             params={"customer": customer.display_name, "name": name,
                                     "changes": lines})


def _require_update(session: Session) -> None:
    preferences.require(preferences.load(session), preferences.PROFILE_UPDATE)


def update_details(session: Session, *, customer_id: int, user_id: int | None, actor: str,
                   data: Details, now: datetime) -> Saved:
    """Save changed contact details; audited and notified once. Nothing is saved on error."""
    _require_update(session)
    customer = session.get(Customer, customer_id)
    cleaned = check_details(data)
    if customer.country in places.EU_COUNTRIES and cleaned.tax_id:
        try:  # in the EU the tax ID is a VAT number, which the reverse charge depends on
            cleaned = replace(cleaned, tax_id=places.clean_vat_number(cleaned.tax_id,
                                                                      customer.country))
        except ValueError as exc:
            raise InvalidChanges({"tax_id": str(exc)}) from exc
    before, after = audit.diff(asdict(Details.of(customer)), asdict(cleaned))
    if after:
        for field, value in after.items():
            setattr(customer, field, value)
        session.flush()
        events.emit(session, "customer.updated", events.public("customer", customer), now=now,
                    previous=events.changed("customer", before))
        _record(session, customer=customer, user_id=user_id, actor=actor,
                action="profile.update", subject_type="customer", subject_id=customer.id,
                before=before, after=after, title=N_("%(customer)s updated their details"),
                now=now)
    return Saved(profile(session, customer_id=customer_id),
                 tuple(str(_(FIELD_LABELS[f])) for f in after))


@dataclass(frozen=True)
class ContactInput:
    name: str
    email: str
    role: str


def _check_contact(session: Session, customer_id: int, data: ContactInput,
                   contact_id: int | None) -> ContactInput:
    errors: dict[str, str] = {}
    name = _text(errors, "name", data.name, max_length=200, required=True)
    email = (data.email or "").strip()
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        errors["email"] = _("Enter an email address such as sam@example.com.")
    if data.role not in ROLES:
        errors["role"] = _("Choose billing, technical or other.")
    others = [c for c in _contacts(session, customer_id) if c.id != contact_id]
    if "email" not in errors and any(c.email.lower() == email.lower() for c in others):
        errors["email"] = _("Another contact person has this address.")
    if contact_id is None and len(others) >= MAX_CONTACTS:
        errors["name"] = ngettext("You can keep at most %(num)d contact person.",
                                  "You can keep at most %(num)d contact persons.", MAX_CONTACTS)
    if errors:
        raise InvalidChanges(errors)
    return ContactInput(name, email, data.role)


def owned_contact(session: Session, customer_id: int, contact_id: int) -> ContactPerson:
    contact = session.get(ContactPerson, contact_id)
    if contact is None or contact.customer_id != customer_id:
        raise NotFound(_("No such contact person."))
    return contact


def add_contact(session: Session, *, customer_id: int, user_id: int | None, actor: str,
                data: ContactInput, now: datetime) -> Profile:
    """Add a contact person (forwarding offers them); audited and notified."""
    _require_update(session)
    cleaned = _check_contact(session, customer_id, data, None)
    contact = ContactPerson(customer_id=customer_id, created_at=now, **asdict(cleaned))
    session.add(contact)
    session.flush()
    _record(session, customer=session.get(Customer, customer_id), user_id=user_id,
            actor=actor, action="contact_person.add", subject_type="contact_person",
            subject_id=contact.id, before={}, after=asdict(cleaned),
            title=N_("%(customer)s added contact person %(name)s"), name=cleaned.name, now=now)
    return profile(session, customer_id=customer_id)


def update_contact(session: Session, *, customer_id: int, user_id: int | None, actor: str,
                   contact_id: int, data: ContactInput, now: datetime) -> Profile:
    """Change a contact person's name, address or role; audited and notified if changed."""
    _require_update(session)
    contact = owned_contact(session, customer_id, contact_id)
    cleaned = _check_contact(session, customer_id, data, contact_id)
    current = {"name": contact.name, "email": contact.email, "role": contact.role}
    before, after = audit.diff(current, asdict(cleaned))
    if after:
        for field, value in after.items():
            setattr(contact, field, value)
        session.flush()
        _record(session, customer=session.get(Customer, customer_id), user_id=user_id,
                actor=actor, action="contact_person.update", subject_type="contact_person",
                subject_id=contact.id, before=before, after=after,
                title=N_("%(customer)s changed contact person %(name)s"), name=contact.name,
                now=now)
    return profile(session, customer_id=customer_id)


def remove_contact(session: Session, *, customer_id: int, user_id: int | None, actor: str,
                   contact_id: int, now: datetime) -> Profile:
    """Remove a contact person; forwards already sent keep their address."""
    _require_update(session)
    contact = owned_contact(session, customer_id, contact_id)
    before = {"name": contact.name, "email": contact.email, "role": contact.role}
    _detach_forwards(session, contact.id)
    session.delete(contact)
    session.flush()
    _record(session, customer=session.get(Customer, customer_id), user_id=user_id,
            actor=actor, action="contact_person.remove", subject_type="contact_person",
            subject_id=contact_id, before=before, after={},
            title=N_("%(customer)s removed contact person %(name)s"), name=before["name"],
            now=now)
    return profile(session, customer_id=customer_id)


def _detach_forwards(session: Session, contact_id: int) -> None:
    """Forward recipients point at the contact they were chosen from; keep them, unlinked."""
    session.execute(update(DocumentForwardRecipient)
                    .where(DocumentForwardRecipient.contact_person_id == contact_id)
                    .values(contact_person_id=None)
                    .execution_options(synchronize_session=False))


def customer_choices(session: Session) -> tuple[tuple[int, str], ...]:
    """Every customer as (id, "Name (Company)") for the admins' forms and filters, by name."""
    rows = session.exec(select(Customer.id, Customer.display_name, Customer.company)
                        .order_by(col(Customer.display_name), col(Customer.id)))
    return tuple((cid, f"{name} ({company})" if company else name)
                 for cid, name, company in rows)


def set_locale(session: Session, *, customer_id: int, user_id: int | None, actor: str,
               locale: str | None, now: datetime) -> bool:
    """The customer's language and region, chosen on its own (the language switcher): the
    same field as their details' (checked the same way), audited and notified as a change of
    their details. Not behind the "profile.update" preference: which language one reads the
    portal in is one's own. True when it changed."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(_("No such customer."))
    errors: dict[str, str] = {}
    cleaned = _locale(errors, locale)
    if errors:
        raise InvalidChanges(errors)
    before, after = audit.diff({"locale": customer.locale}, {"locale": cleaned})
    if not after:
        return False
    customer.locale = cleaned
    session.flush()
    events.emit(session, "customer.updated", events.public("customer", customer), now=now,
                previous=events.changed("customer", before))
    _record(session, customer=customer, user_id=user_id, actor=actor, action="profile.update",
            subject_type="customer", subject_id=customer.id, before=before, after=after,
            title=N_("%(customer)s updated their details"), now=now)
    return True
