"""The left sidebar: one entry per module that exists and that this user may see.

This module knows the entries and builds the links from the permissions it is handed; it
imports nothing of the web's permissions (webapp.permissions reads its entries to guard a
switched-off module's blueprint, so the dependency goes one way)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for

from webapp.services.core.preferences import Permissions


@dataclass(frozen=True)
class NavEntry:
    label: str
    endpoint: str
    module: str | None  # the preference module that switches it, if any


CUSTOMER_NAV: tuple[NavEntry, ...] = (
    NavEntry("Home", "home.index", None),
    NavEntry("Subscriptions", "subscriptions.index", "subscriptions"),
    NavEntry("Invoices", "invoices.index", "invoices"),
    NavEntry("Credits", "credits.index", "invoices"),
    NavEntry("Payments Made", "payments.index", "payments"),
    NavEntry("Payment Methods", "payment_methods.index", "payment_methods"),
    NavEntry("Statements", "statements.index", "statements"),
    NavEntry("Estimates", "estimates.index", "estimates"),
    NavEntry("Projects", "projects.index", "projects"),
    NavEntry("Timesheets", "timesheets.index", "timesheets"),
    NavEntry("Profile", "profile.show", "profile"),
    NavEntry("Reviews", "reviews.index", "reviews"),
    NavEntry("Account & security", "account.show", None),
)

ADMIN_NAV: tuple[NavEntry, ...] = (
    NavEntry("Admin home", "admin.index", None),
    NavEntry("Customers", "admin_customers.index", None),
    NavEntry("Catalog", "admin_catalog.index", None),
    NavEntry("Import", "admin_import.show", None),
    NavEntry("Audit log", "admin_audit.index", None),
    NavEntry("Preferences", "preferences.show", None),
    NavEntry("Notifications", "notifications.index", None),
    NavEntry("Estimates", "admin_estimates.index", None),
    NavEntry("Projects", "admin_projects.index", None),
    NavEntry("Reviews", "admin_reviews.index", None),
    NavEntry("Account & security", "account.show", None),
)


@dataclass(frozen=True)
class SidebarLink:
    label: str
    url: str
    current: bool


def sidebar_for(permissions: Permissions | None, current_endpoint: str | None,
                ) -> tuple[SidebarLink, ...]:
    """Sidebar links in order: the admin's when `permissions` is None, else the customer's,
    leaving out modules the app lacks or that are off."""
    entries = ADMIN_NAV if permissions is None else CUSTOMER_NAV
    views = current_app.view_functions
    return tuple(SidebarLink(e.label, url_for(e.endpoint), e.endpoint == current_endpoint)
                 for e in entries if e.endpoint in views
                 and (e.module is None or permissions.module_enabled(e.module)))
