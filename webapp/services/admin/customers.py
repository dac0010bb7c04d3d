"""Customers in the back office: the list, create and edit, contact persons, notes.

The checks in `check_customer` are the ones the CSV import applies to every row, so a customer
typed into the form and one read from a file obey the same rules. Portal access lives in
`backoffice.portal`, the overview page in `backoffice.overview`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import exists, func, or_, update
from sqlmodel import Session, col, select

from webapp.models import (
    ContactPerson,
    CreditNote,
    Customer,
    CustomerNote,
    DocumentForwardRecipient,
    Invoice,
    MrrCohort,
    Payment,
    Subscription,
)
from webapp.services.admin import Actor, LinkSettings, get_customer, metrics, portal
from webapp.services.core import audit, events, locales, places, preferences, state_machine, text
from webapp.services.core.dates import Moment
from webapp.services.core.errors import NotFound
from webapp.services.core.i18n import _, ngettext
from webapp.services.core.listing import PAGE_SIZE, FilterReader, Page
from webapp.services.core.money import SUPPORTED_CURRENCIES
from webapp.services.core.preferences import InvalidChanges

STATUS_FILTERS = {"active": _("Active"), "inactive": _("Inactive")}
PORTAL_FILTERS = {"enabled": _("Portal enabled"), "disabled": _("Portal not enabled")}
CONTACT_ROLES = {"billing": _("Billing"), "technical": _("Technical"), "other": _("Other")}
MAX_NOTE = 5000
_PHONE = re.compile(r"^\+?[0-9 ()./-]*$")


# --- The list ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CustomerFilters:
    q: str = ""
    status: str | None = None  # active | inactive
    overdue: bool = False
    portal: str | None = None  # enabled | disabled
    # Had MRR 12 months ago: net revenue retention's customers (the admin home links here).
    retained: bool = False
    page: int = 1

    def query_args(self, **overrides) -> dict:
        args = {"q": self.q or None, "status": self.status,
                "overdue": "yes" if self.overdue else None, "portal": self.portal,
                "retained": "yes" if self.retained else None,
                "page": self.page if self.page > 1 else None} | overrides
        return {k: v for k, v in args.items() if v is not None}


def read_filters(params: Mapping[str, str]) -> tuple[CustomerFilters, list[str]]:
    reader = FilterReader(params)
    filters = CustomerFilters(
        q=reader.search("q", "search"),
        status=reader.choice("status", tuple(STATUS_FILTERS), "status"),
        overdue=reader.choice("overdue", ("yes",), "overdue") == "yes",
        portal=reader.choice("portal", tuple(PORTAL_FILTERS), "portal"),
        retained=reader.choice("retained", ("yes",), "retained") == "yes",
        page=reader.page())
    return filters, reader.messages


@dataclass(frozen=True)
class CustomerRow:
    id: int
    display_name: str
    company: str
    email: str
    currency: str
    portal_enabled: bool
    active: bool
    overdue: bool
    outstanding: int


def _active_condition():
    """A customer is active while one of their subscriptions can still bill."""
    return exists().where(Subscription.customer_id == Customer.id,
                          col(Subscription.status).in_(state_machine.ALL_LIVE_STATES))


def _overdue_condition(today: date):
    return exists().where(Invoice.customer_id == Customer.id, Invoice.status == "open",
                          Invoice.due_date < today)


def list_customers(session: Session, *, filters: CustomerFilters, at: Moment,
                   page_size: int = PAGE_SIZE) -> Page[CustomerRow]:
    """One page of customers by name, searched and filtered; three queries whatever the page."""
    conditions = []
    if filters.q:
        needle = filters.q.lower()
        conditions.append(or_(*(func.lower(column).contains(needle, autoescape=True) for column in (
            Customer.display_name, Customer.email, Customer.company))))
    if filters.status:
        active = _active_condition()
        conditions.append(active if filters.status == "active" else ~active)
    if filters.overdue:
        conditions.append(_overdue_condition(at.today))
    if filters.portal:
        conditions.append(Customer.portal_enabled == (filters.portal == "enabled"))
    if filters.retained:
        metrics.retention(session, at=at)  # the day's cohort, taken if no view has yet
        conditions.append(col(Customer.id).in_(
            select(MrrCohort.customer_id).where(MrrCohort.day == at.today)))
    total = session.exec(select(func.count()).select_from(Customer).where(*conditions)).one()
    page = Page((), filters.page, page_size, total)
    rows = session.exec(
        select(Customer, _active_condition().label("active"),
               _overdue_condition(at.today).label("overdue"))
        .where(*conditions).order_by(func.lower(Customer.display_name), Customer.id)
        .offset(page.offset).limit(page_size)).all()
    owed = _outstanding(session, [c.id for c, _, _ in rows])
    return Page(tuple(CustomerRow(c.id, c.display_name, c.company, c.email, c.currency,
                                  c.portal_enabled, bool(active), bool(overdue),
                                  owed.get(c.id, 0)) for c, active, overdue in rows),
                filters.page, page_size, total)


def _outstanding(session: Session, customer_ids: list[int]) -> dict[int, int]:
    if not customer_ids:
        return {}
    balance = Invoice.total - Invoice.amount_paid - Invoice.credits_applied
    rows = session.exec(select(Invoice.customer_id, func.sum(balance))
                        .where(col(Invoice.customer_id).in_(customer_ids),
                               Invoice.status == "open")
                        .group_by(Invoice.customer_id)).all()
    return {cid: int(amount) for cid, amount in rows}


# --- Create and edit --------------------------------------------------------------------------

@dataclass(frozen=True)
class CustomerInput:
    display_name: str
    email: str
    currency: str
    company: str = ""
    phone: str = ""
    billing_address: str = ""
    shipping_address: str = ""
    tax_id: str = ""
    locale: str | None = None  # how dates and amounts are written; None: the organization's
    # The tax (billing.tax): the billing address's country (ISO 3166-1) and region, and an
    # exemption with the reason the invoices show.
    country: str = ""
    region: str = ""
    tax_exempt: bool = False
    tax_exempt_reason: str = ""

    @classmethod
    def of(cls, customer: Customer) -> CustomerInput:
        return cls(customer.display_name, customer.email, customer.currency, customer.company,
                   customer.phone, customer.billing_address, customer.shipping_address,
                   customer.tax_id, customer.locale, customer.country, customer.region,
                   customer.tax_exempt, customer.tax_exempt_reason)


def clean_email(text: str | None) -> str | None:
    """The address normalized, or None when it is not an email address."""
    try:
        return validate_email((text or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _line(errors: dict, field: str, value: str | None, max_length: int,
          required: str | None = None) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        errors[field] = required
    elif len(value) > max_length:
        errors[field] = _at_most(max_length)
    return value


def _at_most(max_length: int):
    return ngettext("Use at most %(num)d character.", "Use at most %(num)d characters.",
                    max_length)


def _block(errors: dict, field: str, value: str | None, max_length: int = 1000) -> str:
    value = (value or "").strip().replace("\r\n", "\n")
    if len(value) > max_length:
        errors[field] = _at_most(max_length)
    return value


def field_errors(data: CustomerInput) -> tuple[CustomerInput, dict[str, str]]:
    """The input cleaned, and a message per field that cannot be used (no database needed)."""
    errors: dict[str, str] = {}
    name = _line(errors, "display_name", data.display_name, 200,
                 _("Enter the customer's name."))
    email = clean_email(data.email)
    if email is None:
        errors["email"] = _("Enter an email address such as sam@example.com.")
    currency = (data.currency or "").strip().upper()
    if currency not in SUPPORTED_CURRENCIES:
        errors["currency"] = _("Unknown currency “%(currency)s”: use one of %(currencies)s.",
                               currency=data.currency, currencies=", ".join(SUPPORTED_CURRENCIES))
    phone = _line(errors, "phone", data.phone, 50)
    if phone and "phone" not in errors and not _PHONE.match(phone):
        errors["phone"] = _("Use digits, spaces and + ( ) - . only.")
    try:
        locale = locales.parse_choice(data.locale)
    except ValueError as exc:
        errors["locale"], locale = str(exc), None
    cleaned = CustomerInput(
        display_name=name, email=email or (data.email or "").strip(), currency=currency,
        company=_line(errors, "company", data.company, 200), phone=phone,
        billing_address=_block(errors, "billing_address", data.billing_address),
        shipping_address=_block(errors, "shipping_address", data.shipping_address),
        tax_id=text.tax_id(_line(errors, "tax_id", data.tax_id, 50)), locale=locale,
        **_tax_fields(errors, data))
    if "tax_id" not in errors and (message := text.tax_id_error(cleaned.tax_id)):
        errors["tax_id"] = message
    if cleaned.country in places.EU_COUNTRIES and cleaned.tax_id and "tax_id" not in errors:
        try:  # an EU business's tax number is its VAT number: its format is checked
            cleaned = replace(cleaned, tax_id=places.clean_vat_number(cleaned.tax_id,
                                                                    cleaned.country))
        except ValueError as exc:
            errors["tax_id"] = str(exc)
    return cleaned, errors


def _tax_fields(errors: dict, data: CustomerInput) -> dict:
    """The place and the exemption, cleaned (a message per field that cannot be used)."""
    try:
        country = places.clean_country(data.country)
    except ValueError as exc:
        errors["country"], country = str(exc), (data.country or "").strip()[:2]
    region = _line(errors, "region", data.region, 50)
    if region and not country and "country" not in errors:
        errors["country"] = _("Enter the country of this region.")
    exempt = bool(data.tax_exempt)
    reason = _line(errors, "tax_exempt_reason", data.tax_exempt_reason, 200)
    if exempt and not reason:
        errors["tax_exempt_reason"] = _("Say why the customer is exempt (it is shown on invoices).")
    return {"country": country, "region": region, "tax_exempt": exempt,
            "tax_exempt_reason": reason if exempt else ""}


def email_taken(session: Session, email: str, *, except_id: int | None = None) -> bool:
    query = select(Customer.id).where(func.lower(Customer.email) == email.lower())
    if except_id is not None:
        query = query.where(Customer.id != except_id)
    return session.exec(query).first() is not None


def check_customer(session: Session, data: CustomerInput,
                   customer_id: int | None = None) -> CustomerInput:
    """The input cleaned, or InvalidChanges with every message at once."""
    cleaned, errors = field_errors(data)
    if "email" not in errors and email_taken(session, cleaned.email, except_id=customer_id):
        errors["email"] = _("Another customer already has this email address.")
    if errors:
        raise InvalidChanges(errors)
    return cleaned


@dataclass(frozen=True)
class CustomerSaved:
    customer: Customer
    invited: bool = False
    changed: tuple[str, ...] = ()


def create_customer(session: Session, *, actor: Actor, data: CustomerInput, now: datetime,
                    links: LinkSettings) -> CustomerSaved:
    """Add a customer; with "enable the portal for new customers" on, invite them too."""
    return add_checked(session, actor=actor, data=check_customer(session, data), now=now,
                       links=links)


def add_checked(session: Session, *, actor: Actor, data: CustomerInput, now: datetime,
                links: LinkSettings, action: str = "customer.create") -> CustomerSaved:
    """Write an already checked customer (the form and the import both end here)."""
    customer = Customer(created_at=now, **asdict(data))
    session.add(customer)
    session.flush()
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label, action=action,
                 subject_type="customer", subject_id=customer.id, before={},
                 after=asdict(data), now=now, customer_id=customer.id)
    invited = False
    if preferences.load(session).portal_auto_enable:
        portal.invite(session, actor=actor, customer_id=customer.id, links=links, now=now)
        invited = True
    return CustomerSaved(customer, invited)


def has_billing_records(session: Session, customer_id: int) -> bool:
    """Anything already in the customer's currency (it cannot change after that)."""
    return any(session.exec(select(model.id).where(model.customer_id == customer_id)).first()
               is not None for model in (Subscription, Invoice, Payment, CreditNote))


def update_customer(session: Session, *, actor: Actor, customer_id: int, data: CustomerInput,
                    now: datetime) -> CustomerSaved:
    """Save the changed fields; audited with old and new values. Nothing is saved on error."""
    customer = get_customer(session, customer_id)
    cleaned = check_customer(session, data, customer_id)
    if cleaned.currency != customer.currency and has_billing_records(session, customer_id):
        raise InvalidChanges({"currency": _("The currency cannot change once the customer has "
                                            "subscriptions, invoices, payments or credits.")})
    before, after = audit.diff(asdict(CustomerInput.of(customer)), asdict(cleaned))
    if after:
        for field, value in after.items():
            setattr(customer, field, value)
        events.emit(session, "customer.updated", events.public("customer", customer), now=now,
                    previous=events.changed("customer", before))
        audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                     action="customer.update", subject_type="customer", subject_id=customer.id,
                     before=before, after=after, now=now, customer_id=customer.id)
    return CustomerSaved(customer, changed=tuple(after))


# --- Contact persons --------------------------------------------------------------------------

@dataclass(frozen=True)
class ContactInput:
    name: str
    email: str
    role: str = "billing"


def contacts(session: Session, *, customer_id: int) -> tuple[ContactPerson, ...]:
    return tuple(session.exec(select(ContactPerson).where(ContactPerson.customer_id == customer_id)
                              .order_by(func.lower(ContactPerson.name), ContactPerson.id)))


def add_contact(session: Session, *, actor: Actor, customer_id: int, data: ContactInput,
                now: datetime) -> tuple[ContactPerson, ...]:
    """Add a contact person (document forwarding offers them); audited."""
    get_customer(session, customer_id)
    errors: dict[str, str] = {}
    name = _line(errors, "name", data.name, 200, _("Enter the contact's name."))
    email = clean_email(data.email)
    if email is None:
        errors["email"] = _("Enter an email address such as sam@example.com.")
    elif any(c.email.lower() == email.lower() for c in contacts(session, customer_id=customer_id)):
        errors["email"] = _("Another contact person has this address.")
    if data.role not in CONTACT_ROLES:
        errors["role"] = _("Choose billing, technical or other.")
    if errors:
        raise InvalidChanges(errors)
    contact = ContactPerson(customer_id=customer_id, name=name, email=email, role=data.role,
                            created_at=now)
    session.add(contact)
    session.flush()
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="contact_person.add", subject_type="contact_person",
                 subject_id=contact.id, before={},
                 after={"name": name, "email": email, "role": data.role}, now=now,
                 customer_id=customer_id)
    return contacts(session, customer_id=customer_id)


def remove_contact(session: Session, *, actor: Actor, customer_id: int, contact_id: int,
                   now: datetime) -> tuple[ContactPerson, ...]:
    """Remove one of the customer's contact persons; audited."""
    contact = session.get(ContactPerson, contact_id)
    if contact is None or contact.customer_id != customer_id:
        raise NotFound(_("No such contact person."))
    before = {"name": contact.name, "email": contact.email, "role": contact.role}
    _unlink_forwards(session, contact_id)
    session.delete(contact)
    session.flush()
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="contact_person.remove", subject_type="contact_person",
                 subject_id=contact_id, before=before, after={}, now=now,
                 customer_id=customer_id)
    return contacts(session, customer_id=customer_id)


def _unlink_forwards(session: Session, contact_id: int) -> None:
    """Forwards already sent keep the address they went to, without the contact."""
    session.execute(update(DocumentForwardRecipient)
                    .where(DocumentForwardRecipient.contact_person_id == contact_id)
                    .values(contact_person_id=None).execution_options(synchronize_session=False))


# --- Notes ------------------------------------------------------------------------------------

def notes(session: Session, *, customer_id: int, limit: int = 50) -> tuple[CustomerNote, ...]:
    return tuple(session.exec(select(CustomerNote).where(CustomerNote.customer_id == customer_id)
                              .order_by(col(CustomerNote.created_at).desc(),
                                        col(CustomerNote.id).desc()).limit(limit)))


def add_note(session: Session, *, actor: Actor, customer_id: int, body: str,
             now: datetime) -> tuple[CustomerNote, ...]:
    """Keep a note on the customer (admins only see it); audited."""
    get_customer(session, customer_id)
    text = (body or "").strip()
    if not text:
        raise InvalidChanges({"body": _("Write the note first.")})
    if len(text) > MAX_NOTE:
        raise InvalidChanges({"body": _at_most(MAX_NOTE)})
    note = CustomerNote(customer_id=customer_id, author_user_id=actor.user_id,
                        author_label=actor.label, body=text, created_at=now)
    session.add(note)
    session.flush()
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="customer_note.add", subject_type="customer_note", subject_id=note.id,
                 before={}, after={"body": text[:200]}, now=now, customer_id=customer_id)
    return notes(session, customer_id=customer_id)
