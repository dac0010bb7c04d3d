"""Preferences on the web side: read once per request, answered by the one permission service.

Modules: a blueprint that a sidebar entry with a `module` points to (nav.CUSTOMER_NAV) answers
404 on every URL while that module is off, with nothing to add to the blueprint; the sidebar
hides the entry by the same rule. Other blueprints or single views opt in with
`guard_module(bp, "invoices")` or `@module_required("invoices")`. Actions:
`@action_required(preferences.SUBSCRIPTION_CANCEL)` on the view (404 when off), and templates
ask `can("subscription.cancel")` to show the button. Nothing is cached beyond the request, so
an admin's change shows on the next request in every worker.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, Flask, g, request

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


def _action_for(module: str) -> str:
    try:
        return preferences.MODULE_ACTIONS[module]
    except KeyError:
        raise ValueError(f"no preference switches a module named {module!r}") from None


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


def module_required(module: str):
    """View decorator: 404 while the module (e.g. "invoices") is switched off."""
    return action_required(_action_for(module))


def guard_module(bp: Blueprint, module: str) -> Blueprint:
    """Every URL of the blueprint answers 404 while its module is switched off."""
    action = _action_for(module)
    bp.before_request(lambda: require_action(action))
    return bp


def _guard_sidebar_modules() -> None:
    """A switched-off module's sidebar entry is hidden; its blueprint's URLs answer 404."""
    from webapp import nav  # nav asks this module whether an entry is visible

    blueprints = set(request.blueprints)
    for entry in nav.CUSTOMER_NAV if blueprints else ():
        if entry.module and entry.endpoint.rpartition(".")[0] in blueprints:
            require_action(_action_for(entry.module))


def register(app: Flask) -> None:
    app.before_request(_guard_sidebar_modules)
