"""Demo data: idempotent, dated relative to `now`, extended by each capability."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlmodel import Session, select

from webapp.demo import billing as demo_billing
from webapp.demo.brand import seed_brand
from webapp.models import Customer, Organization, User
from webapp.services.accounts.auth import hash_password
from webapp.services.billing import mrr, tax
from webapp.services.billing.gateway import CardDetails, PaymentGateway, TestGateway
from webapp.services.core import state_machine
from webapp.services.core.dates import today_in
from webapp.services.core.preferences import seed_demo_preferences

JANE = ("jane@example.com", "portal-demo-1")
OMAR = ("omar@example.com", "portal-demo-2")
CAMILLE = ("camille@example.com", "portal-demo-3")  # `flask seed-demo` only: seed_demo_camille
ADMIN = ("admin@example.com", "admin-demo-1")


DEMO_PAYMENT_INSTRUCTIONS = (
    "Bank transfer to Northwind Cloud Limited, Barclays Bank, Bristol\n"
    "Sort code 20-00-00 · Account 55555555\n"
    "IBAN GB33 BUKB 2020 1555 5555 55 · BIC BUKBGB22\n"
    "Please quote the invoice number as the reference.")


@dataclass(frozen=True)
class DemoSeeded:
    created: bool
    jane_customer_id: int
    omar_customer_id: int


@cache
def _demo_hash(password: str) -> str:
    """The demo passwords are fixed; hashing each once per process keeps seeding quick."""
    return hash_password(password)


def _customer(session: Session, *, email: str, name: str, company: str, currency: str,
              now: datetime, **extra) -> Customer:
    customer = session.exec(select(Customer).where(Customer.email == email)).first()
    if customer is None:
        customer = Customer(display_name=name, company=company, email=email, currency=currency,
                            portal_enabled=True, created_at=now, **extra)
        session.add(customer)
        session.flush()
    return customer


def _user(session: Session, *, email: str, password: str, role: str,
          customer_id: int | None, now: datetime) -> User:
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, password_hash=_demo_hash(password), role=role,
                    customer_id=customer_id, created_at=now)
        session.add(user)
        session.flush()
    return user


def database_is_empty(session: Session) -> bool:
    """True before anything (the organization first) has been created."""
    return session.get(Organization, 1) is None


def seed_organization(session: Session, *, now: datetime) -> Organization:
    org = session.get(Organization, 1)
    if org is None:
        org = Organization(
            id=1, name="Northwind Cloud Ltd", portal_name="Northwind Customer Portal",
            address="12 Harbour Street, Bristol BS1 4ND, United Kingdom",
            phone="+44 117 496 0000", email="billing@northwind.example",
            timezone="Europe/London", locale="en_GB", base_currency="USD",
            tax_name="VAT", tax_rate_bp=2000, created_at=now,
            # What its documents carry (issue 25): a registered name, a VAT number and how to
            # pay by bank transfer (a made-up account; the IBAN is the standard example).
            legal_name="Northwind Cloud Limited", tax_id="GB123456789",
            payment_instructions=DEMO_PAYMENT_INSTRUCTIONS)
        session.add(org)
        session.flush()
    return org


def seed_demo_activity(session: Session, *, now: datetime) -> None:
    """The demo's portal activity in the audit trail (the admin home's activity panel and
    cancellation reasons): added by `flask seed-demo`, not by `seed_demo`, whose trail the
    tests expect to start empty."""
    demo_billing.seed_activity(session, now=now)


def seed_demo_camille(session: Session, *, now: datetime,
                      gateway: PaymentGateway | None = None) -> int:
    """Camille Laurent, the demo's French customer (fr_FR, euros), with her portal login, a
    card, a subscription and two invoices; her id. Added by `flask seed-demo` after
    `seed_demo` (whose customers, numbers and figures the tests count), once: when her login
    exists nothing is added. The demo's invoice and payment numbers are handed out again in
    date order, so hers fall between the others' as on a real portal."""
    existing = session.exec(select(User).where(User.email == CAMILLE[0])).first()
    if existing is not None:
        return existing.customer_id
    org = seed_organization(session, now=now)
    demo_billing.seed_catalog(session, now=now)
    camille = _customer(session, email=CAMILLE[0], name="Camille Laurent",
                        company="Laurent Conseil", currency="EUR", now=now,
                        phone="+33 1 55 55 01 42",
                        billing_address="18 rue de Rivoli\n75004 Paris\nFrance",
                        tax_id="FR12345678901",
                        locale="fr_FR")  # her pages, documents and mail in French: "54,00 €"
    _user(session, email=CAMILLE[0], password=CAMILLE[1], role="customer",
          customer_id=camille.id, now=now)
    gateway = gateway or TestGateway(session.get_bind())
    token = gateway.tokenize(CardDetails("4242424242424242", 12, now.year + 3, "123"), now=now)
    card = demo_billing.save_card(session, customer=camille, token=token, now=now)
    demo_billing.seed_camille(session, customer=camille, card=card,
                              today=today_in(org.timezone, now), now=now,
                              tax=tax.tax_for(session, camille.id))
    demo_billing.renumber_chronologically(session)
    session.info.pop(state_machine.CHANGED, None)  # written as it stands, as in seed_demo
    mrr.backfill(session, now=now)
    return camille.id


def seed_demo(session: Session, *, now: datetime,
              gateway: PaymentGateway | None = None) -> DemoSeeded:
    """Create the demo organization, its three fixed logins and their data, once."""
    created = session.get(Organization, 1) is None
    gateway = gateway or TestGateway(session.get_bind())
    org = seed_organization(session, now=now)
    seed_demo_preferences(session, now=now)
    jane = _customer(session, email=JANE[0], name="Jane Cooper", company="Cooper Design Studio",
                     currency="USD", now=now, phone="+1 415 555 0134",
                     billing_address="500 Market St\nSan Francisco, CA 94105\nUSA")
    omar = _customer(session, email=OMAR[0], name="Omar Haddad", company="Haddad Trading",
                     currency="EUR", now=now, phone="+49 30 555 0199",
                     billing_address="Friedrichstraße 100\n10117 Berlin\nGermany",
                     tax_id="DE123456789",
                     locale="de_DE")  # his pages, documents and mail: "20,40 €", "06.12.2026"
    _user(session, email=JANE[0], password=JANE[1], role="customer", customer_id=jane.id, now=now)
    _user(session, email=OMAR[0], password=OMAR[1], role="customer", customer_id=omar.id, now=now)
    _user(session, email=ADMIN[0], password=ADMIN[1], role="admin", customer_id=None, now=now)
    if created:
        today = today_in(org.timezone, now)
        seed_brand(session, now=now)
        demo_billing.seed_catalog(session, now=now)
        for customer, seed in ((jane, demo_billing.seed_jane), (omar, demo_billing.seed_omar)):
            number = "4242424242424242" if customer is jane else "5555555555554444"
            token = gateway.tokenize(CardDetails(number, 12, now.year + 3, "123"), now=now)
            card = demo_billing.save_card(session, customer=customer, token=token, now=now)
            seed(session, customer=customer, card=card, today=today, now=now,
                 tax=tax.tax_for(session, customer.id))
        demo_billing.renumber_chronologically(session)
        from webapp.demo.engagement import seed_demo_extras  # estimates, projects, ...

        seed_demo_extras(session, customer=jane, now=now)
        seed_demo_extras(session, customer=omar, now=now, brief=True)
        # The subscriptions were written as they stand, not moved by the services: their MRR
        # history comes from their invoices, as for a portal that predates the movements.
        session.info.pop(state_machine.CHANGED, None)
        mrr.backfill(session, now=now)
    return DemoSeeded(created, jane.id, omar.id)
