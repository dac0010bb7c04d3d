"""One way to switch a module off: `MODULES` names the preference module each customer page
belongs to, by blueprint (every URL of it) or by endpoint (a view of a blueprint that serves
several modules, such as documents). While a module is off its URLs answer 404 (`guard`, the
one before_request check) and its sidebar entry is hidden (webapp/nav.py asks `module_of`).
"""

from __future__ import annotations

from flask import Flask, request

from webapp.permissions import require_action
from webapp.services.core import preferences

# blueprint or "blueprint.view" -> module (a key of preferences.MODULE_ACTIONS)
MODULES: dict[str, str] = {
    "subscriptions": "subscriptions",
    "subscription_actions": "subscriptions",
    "invoices": "invoices",
    "credits": "invoices",
    "payments": "payments",
    "payment_methods": "payment_methods",
    "statements": "statements",
    "estimates": "estimates",
    "projects": "projects",
    "timesheets": "timesheets",
    "profile": "profile",
    "reviews": "reviews",
    "documents.invoice_pdf": "invoices",
    "documents.credit_note_pdf": "invoices",
    "documents.receipt_pdf": "payments",
    "documents.forward_invoice": "invoices",
    "documents.forward_credit_note": "invoices",
    "documents.forward_receipt": "payments",
}


def check(modules: dict[str, str]) -> None:
    """Every module named is one the preferences switch (a typo is a programming error)."""
    unknown = set(modules.values()) - set(preferences.MODULE_ACTIONS)
    if unknown:
        raise ValueError(f"no preference switches a module named {sorted(unknown)!r}")


check(MODULES)


def module_of(endpoint: str | None) -> str | None:
    """The module an endpoint belongs to: its own entry, else its blueprint's (the innermost
    of nested blueprints first); None for pages no module switches."""
    if not endpoint:
        return None
    if endpoint in MODULES:
        return MODULES[endpoint]
    parts = endpoint.split(".")[:-1]
    while parts:
        module = MODULES.get(".".join(parts)) or MODULES.get(parts[-1])
        if module is not None:
            return module
        parts.pop()
    return None


def guard() -> None:
    """Before every request: 404 while the page's module is switched off."""
    module = module_of(request.endpoint)
    if module is not None:
        require_action(preferences.MODULE_ACTIONS[module])


def register(app: Flask) -> None:
    app.before_request(guard)
