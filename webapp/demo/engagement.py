"""Demo estimates, projects, time entries, comments and reviews, dated relative to `now`.

Written straight into the tables (no notifications, no mail): the demo starts quiet. Called
once per customer by webapp/demo/__init__.py when the demo organization is first created.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session

from webapp.models import (
    Comment,
    Customer,
    Estimate,
    EstimateLine,
    Organization,
    Project,
    ProjectTask,
    Review,
    TimeEntry,
)
from webapp.services.billing.pricing import Charge, price
from webapp.services.core import numbering
from webapp.services.core.dates import today_in

# subject, issue (days from today), expiry (days from today), status, reason, lines
JANE_ESTIMATES = [
    ("Logo package", -60, -30, "accepted", "",
     [("Logo concepts (three directions)", 1, 120000), ("Final artwork and files", 1, 60000)]),
    ("Annual design retainer", -45, -15, "declined", "We chose a smaller scope for this year.",
     [("Design retainer, monthly", 12, 150000)]),
    ("Brand refresh", -40, -5, "sent", "",
     [("Brand audit", 1, 80000), ("Guidelines update", 1, 140000)]),
    ("Website redesign", -6, 24, "sent", "",
     [("Discovery workshop", 1, 90000), ("Design, per page", 8, 45000),
      ("Development, per hour", 40, 9500)]),
    ("Analytics dashboard", -2, 28, "sent", "",
     [("Dashboard design", 1, 60000), ("Implementation, per hour", 24, 9500)]),
    ("Mobile app prototype", 0, 30, "draft", "", [("Clickable prototype", 1, 250000)]),
]
OMAR_ESTIMATES = [
    ("Warehouse labels", -3, 27, "sent", "", [("Label design", 1, 40000),
                                              ("Print-ready files", 3, 5000)]),
]


def _estimates(session: Session, customer: Customer, specs, *, today: date, now: datetime,
               tax_rate_bp: int | None) -> list[Estimate]:
    made = []
    for subject, issued, expires, status, reason, lines in specs:
        priced = price([Charge("one_off", d, q, u) for d, q, u in lines], tax_rate_bp=tax_rate_bp)
        decided = now - timedelta(days=-issued - 3) if status in ("accepted", "declined") else None
        estimate = Estimate(
            number=numbering.take_one(session, "estimate"), customer_id=customer.id,
            currency=customer.currency, status=status, subject=subject,
            issue_date=today + timedelta(days=issued), expiry_date=today + timedelta(days=expires),
            notes="Prices exclude travel. Valid until the expiry date.",
            subtotal=priced.subtotal, tax_total=priced.tax_total, total=priced.total,
            tax_rate_bp=priced.tax_rate_bp,
            decision_reason=reason, decided_at=decided,
            sent_at=None if status == "draft" else now + timedelta(days=issued),
            created_at=now + timedelta(days=issued), updated_at=now + timedelta(days=issued))
        session.add(estimate)
        session.flush()
        session.add_all(EstimateLine(estimate_id=estimate.id, position=i,
                                     description=line.description, quantity=line.quantity,
                                     unit_amount=line.unit_amount, amount=line.amount,
                                     tax_amount=line.tax_amount)
                        for i, line in enumerate(priced.lines))
        made.append(estimate)
    return made


def _project(session: Session, customer: Customer, *, now: datetime, name: str, method: str,
             client_approval: bool, tasks: list[tuple[str, int | None]], status: str = "active",
             **money) -> tuple[Project, list[ProjectTask]]:
    project = Project(customer_id=customer.id, name=name, status=status, billing_method=method,
                      currency=customer.currency, client_approval=client_approval,
                      description=f"{name} for {customer.company or customer.display_name}.",
                      created_at=now - timedelta(days=40), updated_at=now, **money)
    session.add(project)
    session.flush()
    made = [ProjectTask(project_id=project.id, customer_id=customer.id, name=task, hourly_rate=rate,
                        created_at=now - timedelta(days=40)) for task, rate in tasks]
    session.add_all(made)
    session.flush()
    return project, made


def _entries(session: Session, project: Project, tasks: list[ProjectTask], specs, *,
             today: date, now: datetime) -> list[TimeEntry]:
    # (days ago, task index, minutes, description, approval, reason, billed)
    made = [TimeEntry(
            project_id=project.id, task_id=tasks[task].id if task is not None else None,
            customer_id=project.customer_id, work_date=today - timedelta(days=days),
            minutes=minutes, description=text, billed=billed, approval=approval,
            disapproval_reason=reason,
            decided_at=None if approval == "pending" else now - timedelta(days=days - 1),
            created_at=now - timedelta(days=days), updated_at=now - timedelta(days=days))
            for days, task, minutes, text, approval, reason, billed in specs]
    session.add_all(made)
    session.flush()
    return made


def _comment(session: Session, *, subject_type: str, subject_id: int, customer: Customer,
             role: str, label: str, body: str, at: datetime) -> None:
    session.add(Comment(subject_type=subject_type, subject_id=subject_id,
                        customer_id=customer.id, author_role=role, author_label=label,
                        body=body, created_at=at))


def _jane(session: Session, customer: Customer, org: Organization, *, today: date,
          now: datetime) -> None:
    estimates = _estimates(session, customer, JANE_ESTIMATES, today=today, now=now,
                           tax_rate_bp=org.tax_rate_bp)
    website = estimates[3]
    _comment(session, subject_type="estimate", subject_id=website.id, customer=customer,
             role="customer", label=customer.display_name,
             body="Do the development hours include two rounds of revisions?",
             at=now - timedelta(days=4))
    _comment(session, subject_type="estimate", subject_id=website.id, customer=customer,
             role="admin", label=org.name,
             body="Yes: two rounds of revisions are included in the 40 hours.",
             at=now - timedelta(days=3))
    site, tasks = _project(session, customer, now=now, name="Website redesign",
                           method="project_hourly", client_approval=True, hourly_rate=9500,
                           budget_minutes=120 * 60,
                           tasks=[("Design", None), ("Development", None),
                                  ("Content migration", None)])
    entries = _entries(session, site, tasks, [
        (16, 0, 240, "Wireframes for home and pricing", "approved", "", True),
        (15, 0, 180, "Visual design, home page", "approved", "", False),
        (12, 1, 300, "Front-end build, templates", "approved", "", False),
        (9, 1, 270, "Front-end build, forms", "disapproved",
         "Forms were already built in the previous sprint.", False),
        (5, 1, 210, "Accessibility fixes", "pending", "", False),
        (4, 2, 150, "Migrate blog posts", "pending", "", False),
        (2, 1, 240, "Performance work", "pending", "", False),
        (1, 0, 90, "Design review call", "pending", "", False),
    ], today=today, now=now)
    _comment(session, subject_type="time_entry", subject_id=entries[5].id,
             customer=customer, role="customer", label=customer.display_name,
             body="Which pages did the migration cover?", at=now - timedelta(days=3))
    brand, tasks = _project(session, customer, now=now, name="Brand guidelines",
                            method="fixed", client_approval=False, fixed_amount=480000,
                            budget_amount=480000,
                            tasks=[("Research", None), ("Guidelines document", None)])
    _entries(session, brand, tasks, [
        (20, 0, 360, "Competitor research", "pending", "", False),
        (11, 1, 420, "Typography and colour sections", "pending", "", False),
        (3, 1, 240, "Logo usage section", "pending", "", False),
    ], today=today, now=now)
    support, tasks = _project(session, customer, now=now, name="Support retainer",
                              method="task_hourly", client_approval=True,
                              tasks=[("Content updates", 6500), ("Hosting support", 8500)])
    _entries(session, support, tasks, [
        (8, 0, 60, "Team page update", "approved", "", False),
        (6, 1, 45, "SSL renewal", "pending", "", False),
    ], today=today, now=now)
    _project(session, customer, now=now, name="Logo package", method="fixed",
             client_approval=False, fixed_amount=180000, status="completed", tasks=[])
    session.add(Review(customer_id=customer.id, rating=5,
                       body="Clear estimates and quick answers. The logo work was excellent.",
                       created_at=now - timedelta(days=28)))


def _omar(session: Session, customer: Customer, org: Organization, *, today: date,
          now: datetime) -> None:
    _estimates(session, customer, OMAR_ESTIMATES, today=today, now=now, tax_rate_bp=org.tax_rate_bp)
    labels, tasks = _project(session, customer, now=now, name="Label system",
                             method="project_hourly", client_approval=True, hourly_rate=8000,
                             tasks=[("Design", None)])
    _entries(session, labels, tasks, [
        (6, 0, 120, "Label layout", "pending", "", False),
        (2, 0, 60, "Barcode placement", "approved", "", False),
    ], today=today, now=now)
    session.add(Review(customer_id=customer.id, rating=4, body="Good service, fast replies.",
                       created_at=now - timedelta(days=12)))


def seed_demo_extras(session: Session, *, customer: Customer, now: datetime,
                     brief: bool = False) -> None:
    """A customer's estimates, projects, time entries, comments and a review; `brief` gives
    a second customer a small set of their own."""
    org = session.get(Organization, 1)
    today = today_in(org.timezone, now)
    (_omar if brief else _jane)(session, customer, org, today=today, now=now)
    session.flush()
