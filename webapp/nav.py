"""The left sidebar: one entry per module that exists and that this user may see.

An entry's endpoint takes no values, so its path is the same on every page: each app works
the entries' paths and modules out once (`_links`), and a request adds its script root. Building
the 13 links with `url_for` on every page cost full pages 8-12% of their CPU (bench/README.md).

Imports point one way: nav -> modules (is the page's module on?) -> permissions."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_login import current_user

from webapp import modules
from webapp.permissions import current_permissions
from webapp.services.core.preferences import Permissions


@dataclass(frozen=True)
class NavEntry:
    label: str
    endpoint: str  # hidden while its module is off (webapp/modules.py)


CUSTOMER_NAV: tuple[NavEntry, ...] = (
    NavEntry("Home", "home.index"),
    NavEntry("Subscriptions", "subscriptions.index"),
    NavEntry("Invoices", "invoices.index"),
    NavEntry("Credits", "credits.index"),
    NavEntry("Payments Made", "payments.index"),
    NavEntry("Payment Methods", "payment_methods.index"),
    NavEntry("Statements", "statements.index"),
    NavEntry("Estimates", "estimates.index"),
    NavEntry("Projects", "projects.index"),
    NavEntry("Timesheets", "timesheets.index"),
    NavEntry("Profile", "profile.show"),
    NavEntry("Reviews", "reviews.index"),
    NavEntry("Account & security", "account.show"),
)

ADMIN_NAV: tuple[NavEntry, ...] = (
    NavEntry("Admin home", "admin.index"),
    NavEntry("Customers", "admin_customers.index"),
    NavEntry("Catalog", "admin_catalog.index"),
    NavEntry("Import", "admin_import.show"),
    NavEntry("Audit log", "admin_audit.index"),
    NavEntry("Preferences", "preferences.show"),
    NavEntry("Notifications", "notifications.index"),
    NavEntry("Estimates", "admin_estimates.index"),
    NavEntry("Projects", "admin_projects.index"),
    NavEntry("Reviews", "admin_reviews.index"),
    NavEntry("Account & security", "account.show"),
)


@dataclass(frozen=True)
class SidebarLink:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class _Link:
    """An entry as this app serves it: its path (after the script root) and its module."""

    label: str
    endpoint: str
    path: str
    module: str | None


def _links(app: Flask, entries: tuple[NavEntry, ...]) -> tuple[_Link, ...]:
    """The entries this app has a page for, with their paths and modules, worked out once."""
    known = app.extensions.setdefault("sidebar_links", {})
    if entries not in known:
        adapter = app.url_map.bind("portal.invalid", script_name="/")
        known[entries] = tuple(_Link(e.label, e.endpoint, adapter.build(e.endpoint),
                                     modules.module_of(e.endpoint))
                               for e in entries if e.endpoint in app.view_functions)
    return known[entries]


def sidebar_for(permissions: Permissions | None, current_endpoint: str | None,
                ) -> tuple[SidebarLink, ...]:
    """Sidebar links in order: the admin's when `permissions` is None, else the customer's,
    leaving out modules the app lacks or that are off."""
    links = _links(current_app, ADMIN_NAV if permissions is None else CUSTOMER_NAV)
    root = request.script_root
    return tuple(SidebarLink(link.label, root + link.path, link.endpoint == current_endpoint)
                 for link in links if permissions is None or link.module is None
                 or permissions.module_enabled(link.module))


def sidebar() -> tuple[SidebarLink, ...]:
    """The signed-in user's sidebar links for this request; none when signed out."""
    if not current_user.is_authenticated:
        return ()
    return sidebar_for(None if current_user.is_admin else current_permissions(),
                       request.endpoint)
