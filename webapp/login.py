"""Flask-Login glue: the login id carries the user's session version."""

from __future__ import annotations

from functools import wraps

from flask import abort, g, redirect, url_for
from flask_login import UserMixin, current_user, login_required

from webapp.db import db
from webapp.extensions import login_manager
from webapp.models import User
from webapp.services import request_facts


class PortalUser(UserMixin):
    """The logged-in person, detached from the database session."""

    def __init__(self, user: User | request_facts.UserView) -> None:
        self.user_id = user.id
        self.email = user.email
        self.role = user.role
        self.customer_id = user.customer_id
        self.session_version = user.session_version

    def get_id(self) -> str:
        return f"{self.user_id}:{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@login_manager.user_loader
def _load_user(login_id: str) -> PortalUser | None:
    """The user, and in the same query the organization and preferences every page reads."""
    facts = request_facts.for_login(db.session, login_id)
    if facts is None:
        return None
    g.setdefault("org", facts.organization)
    g.setdefault("preferences", facts.preferences)
    return PortalUser(facts.user)


def customer_required(view):
    """Logged in as a customer user; admins go to their own pages."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.is_admin:
            return redirect(url_for("admin.index"))
        if current_user.customer_id is None:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def admin_required(view):
    """Logged in as an admin; a customer gets 404 so admin URLs do not reveal themselves."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapper
