"""Finding the demo's estimates, projects, entries and reviews by what they are called."""

from __future__ import annotations

from sqlmodel import select

from webapp.db import db
from webapp.models import (
    Comment,
    ContactPerson,
    Estimate,
    OutboxMessage,
    Preferences,
    Project,
    Review,
    TimeEntry,
)


def estimate(app, subject: str) -> Estimate:
    with app.app_context():
        return db.session.exec(select(Estimate).where(Estimate.subject == subject)).one()


def project(app, name: str) -> Project:
    with app.app_context():
        return db.session.exec(select(Project).where(Project.name == name)).one()


def entries(app, project_name: str, approval: str | None = None) -> list[TimeEntry]:
    with app.app_context():
        query = select(TimeEntry).join(Project, Project.id == TimeEntry.project_id).where(
            Project.name == project_name)
        if approval:
            query = query.where(TimeEntry.approval == approval)
        return list(db.session.exec(query.order_by(TimeEntry.id)))


def entry(app, entry_id: int) -> TimeEntry:
    with app.app_context():
        return db.session.get(TimeEntry, entry_id)


def first(app, model, customer_id: int):
    with app.app_context():
        return db.session.exec(select(model).where(model.customer_id == customer_id)
                               .order_by(model.id)).first()


def mails(app) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def set_preference(app, **values) -> None:
    with app.app_context():
        prefs = db.session.get(Preferences, 1)
        for name, value in values.items():
            setattr(prefs, name, value)
        db.session.commit()


__all__ = ["estimate", "project", "entries", "entry", "first", "mails", "set_preference",
           "Comment", "ContactPerson", "Review"]
