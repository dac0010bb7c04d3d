"""Camille, the demo's French customer: `flask seed-demo` adds her after `seed_demo` (whose
customers, numbers and figures the other tests count), with her login, a subscription and two
invoices that obey the ledger like the rest of the demo."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from webapp import demo
from webapp.models import Customer, Invoice, MrrMovement, Payment, Subscription, User
from webapp.services.accounts.auth import authenticate
from webapp.services.billing import ledger


def _seed(session, now) -> int:
    demo.seed_demo(session, now=now)
    camille_id = demo.seed_demo_camille(session, now=now)
    session.commit()
    return camille_id


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_seed_demo_alone_has_two_customers_and_no_camille(session, now):
    demo.seed_demo(session, now=now)
    session.commit()
    assert _count(session, Customer) == 2
    assert session.exec(select(User).where(User.email == demo.CAMILLE[0])).first() is None


def test_camille_reads_french_in_euros_and_signs_in_with_her_demo_password(session, now):
    camille_id = _seed(session, now)
    camille = session.get(Customer, camille_id)
    assert (camille.display_name, camille.locale, camille.currency) == (
        "Camille Laurent", "fr_FR", "EUR")
    assert camille.portal_enabled and _count(session, Customer) == 3
    user = authenticate(session, email=demo.CAMILLE[0], password=demo.CAMILLE[1], now=now)
    assert user is not None and (user.role, user.customer_id) == ("customer", camille_id)


def test_camille_has_a_live_subscription_one_paid_and_one_open_invoice(session, now):
    camille_id = _seed(session, now)
    (sub,) = session.exec(select(Subscription).where(Subscription.customer_id == camille_id))
    assert (sub.status, sub.currency) == ("live", "EUR")
    invoices = session.exec(select(Invoice).where(Invoice.customer_id == camille_id)
                            .order_by(Invoice.issue_date)).all()
    assert [i.status for i in invoices] == ["paid", "open"]
    assert all(i.subscription_id == sub.id and i.currency == "EUR" for i in invoices)
    assert ledger.balance_due(invoices[1]) == invoices[1].total > 0
    (payment,) = session.exec(select(Payment).where(Payment.customer_id == camille_id))
    assert (payment.status, payment.amount) == ("succeeded", invoices[0].total)
    assert session.exec(select(MrrMovement).where(MrrMovement.subscription_id == sub.id)).all()


def test_the_demos_numbers_stay_gap_free_and_in_date_order(session, now):
    _seed(session, now)
    for model, day in ((Invoice, Invoice.issue_date), (Payment, Payment.paid_on)):
        rows = session.exec(select(model.number).where(model.number.is_not(None))
                            .order_by(day, model.id)).all()
        values = [int(number.rsplit("-", 1)[1]) for number in rows]
        assert values == list(range(1, len(values) + 1)), model.__name__


def test_a_second_run_adds_nothing(session, now):
    camille_id = _seed(session, now)
    counts = [_count(session, model) for model in (Customer, User, Invoice, Subscription)]
    assert demo.seed_demo_camille(session, now=now) == camille_id
    session.commit()
    assert [_count(session, model) for model in (Customer, User, Invoice, Subscription)] == counts


def test_flask_seed_demo_loads_camille_with_the_others(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "Demo data loaded." in result.output, result.output
    from webapp.db import db

    with app.app_context():
        emails = set(db.session.exec(select(User.email)).all())
    assert {demo.JANE[0], demo.OMAR[0], demo.CAMILLE[0], demo.ADMIN[0]} <= emails
