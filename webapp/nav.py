"""The left sidebar: one entry per module that exists and that this user may see.

Imports point one way: nav -> modules (is the page's module on?) -> permissions."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
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


def sidebar_for(permissions: Permissions | None, current_endpoint: str | None,
                ) -> tuple[SidebarLink, ...]:
    """Sidebar links in order: the admin's when `permissions` is None, else the customer's,
    leaving out modules the app lacks or that are off."""
    entries = ADMIN_NAV if permissions is None else CUSTOMER_NAV
    views = current_app.view_functions
    return tuple(SidebarLink(e.label, url_for(e.endpoint), e.endpoint == current_endpoint)
                 for e in entries if e.endpoint in views
                 and (permissions is None or modules.enabled(e.endpoint, permissions)))


def sidebar() -> tuple[SidebarLink, ...]:
    """The signed-in user's sidebar links for this request; none when signed out."""
    if not current_user.is_authenticated:
        return ()
    return sidebar_for(None if current_user.is_admin else current_permissions(),
                       request.endpoint)
