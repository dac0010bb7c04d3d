"""Preferences on the web side: read once per request, answered by the one permission service.

Modules: webapp/modules.py is the one way to switch a module off (its URLs answer 404, its
sidebar entry is hidden). Actions:
`@action_required(preferences.SUBSCRIPTION_CANCEL)` on the view (404 when off), and templates
ask `can("subscription.cancel")` to show the button. Nothing is cached beyond the request, so
an admin's change shows on the next request in every worker.
"""

from __future__ import annotations

from functools import wraps

from flask import g

from webapp.db import db
from webapp.models import Preferences
from webapp.services.accounts import request_facts
from webapp.services.core import preferences


def current_preferences() -> Preferences | request_facts.PreferencesView:
    """The organization's preferences as read once per request (a read-only snapshot)."""
    if "preferences" not in g:  # outside a request's before_request (webapp/context.py)
        g.preferences = request_facts.preferences(db.session)
    return g.preferences


def current_permissions() -> preferences.Permissions:
    """Every action's answer for this request."""
    if "permissions" not in g:
        g.permissions = preferences.permissions(current_preferences())
    return g.permissions


def can(action: str) -> bool:
    """For templates: {% if can("subscription.cancel") %} shows the button."""
    return current_permissions()(action)


def require_action(action: str) -> None:
    """Raise Forbidden (404) unless customers may do `action` now."""
    preferences.require(current_preferences(), action)


def action_required(action: str):
    """View decorator: 404 unless customers may do `action` now."""
    if action not in preferences.ACTIONS:
        raise ValueError(f"unknown portal action {action!r}")

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            require_action(action)
            return view(*args, **kwargs)

        return wrapper

    return decorator


