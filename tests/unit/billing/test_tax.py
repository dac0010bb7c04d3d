"""`tax.rate_for(session, customer_id)`: the one place that says which tax rate applies, and
what the organization snapshot it reads costs (core.organization)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, update

from tests.factories import make_customer
from webapp.demo import seed_organization
from webapp.models import Organization
from webapp.services.accounts import request_facts
from webapp.services.billing import tax
from webapp.services.core import organization


@contextmanager
def statements(session):
    seen = []

    def before(_conn, _cursor, statement, *_args):
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_a_customer_pays_the_organizations_rate(session, now):
    seed_organization(session, now=now)  # VAT 20 %
    customer = make_customer(session, now=now)
    assert tax.rate_for(session, customer.id) == 2000
    session.get(Organization, 1).tax_rate_bp = 750
    assert tax.rate_for(session, customer.id) == 750


def test_no_organization_no_tax(session):
    assert tax.rate_for(session, None) is None


def test_an_organization_without_a_rate_charges_no_tax(session, now):
    seed_organization(session, now=now).tax_rate_bp = None
    assert tax.rate_for(session, 1) is None


def test_the_snapshot_a_session_read_costs_no_statement(session, now):
    seed_organization(session, now=now)
    session.commit()
    session.expunge_all()  # as in a request: the login statement read a snapshot, no ORM row
    request_facts.organization(session)
    with statements(session) as seen:
        assert tax.rate_for(session, 1) == 2000
        assert tax.rate_for(session, 2) == 2000
    assert seen == []


def test_without_a_snapshot_the_row_is_loaded_once(session, now):
    seed_organization(session, now=now)
    session.commit()
    session.expunge_all()
    with statements(session) as seen:
        assert tax.rate_for(session, 1) == 2000
        assert tax.rate_for(session, 1) == 2000
    assert len([s for s in seen if "organization" in s.lower()]) == 1


def test_a_row_the_session_loaded_comes_before_the_snapshot(session, now):
    seed_organization(session, now=now)
    session.commit()
    session.expunge_all()
    organization.remember(session, request_facts.organization(session))
    session.execute(update(Organization).values(tax_rate_bp=500))
    assert tax.rate_for(session, 1) == 2000  # the snapshot, as read
    org = session.get(Organization, 1)  # loaded now, to change it, say
    assert tax.rate_for(session, 1) == 500 == org.tax_rate_bp
