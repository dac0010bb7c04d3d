"""The left sidebar: one entry per module that exists and that this user may see."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for

from webapp import modules
from webapp.permissions import current_permissions
from webapp.services.core.preferences import Permissions

# Built sidebars by (admin?, permissions, current endpoint, script root): every input the links
# depend on, so a hit is the list that would be built again. Bounded: endpoints are few and
# permission sets change only when an admin saves preferences.
_MEMO_SIZE = 2048


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


def sidebar_for(user, current_endpoint: str | None) -> tuple[SidebarLink, ...]:
    """Sidebar links for this user, in order; modules the app lacks or that are off are left out.
    Built once per distinct set of inputs and then remembered by the app."""
    if not getattr(user, "is_authenticated", False):
        return ()
    permissions = None if user.is_admin else current_permissions()
    memo = current_app.extensions.setdefault("portal.sidebar", {})
    key = (user.is_admin, permissions, current_endpoint, request.script_root)
    links = memo.get(key)
    if links is None:
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        links = memo[key] = _build(permissions, current_endpoint)
    return links


def _build(permissions: Permissions | None, current_endpoint: str | None,
           ) -> tuple[SidebarLink, ...]:
    entries = ADMIN_NAV if permissions is None else CUSTOMER_NAV
    views = current_app.view_functions
    return tuple(SidebarLink(e.label, url_for(e.endpoint), e.endpoint == current_endpoint)
                 for e in entries if e.endpoint in views
                 and (permissions is None or modules.enabled(e.endpoint, permissions)))
