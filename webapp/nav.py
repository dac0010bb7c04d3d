"""The left sidebar: one entry per module that exists and that this user may see, in groups
(Billing, Work, Account); a group whose entries are all hidden is left out.

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
    group: str | None = None  # consecutive entries of one group are shown under its heading


CUSTOMER_NAV: tuple[NavEntry, ...] = (
    NavEntry("Home", "home.index"),
    NavEntry("Subscriptions", "subscriptions.index", "Billing"),
    NavEntry("Invoices", "invoices.index", "Billing"),
    NavEntry("Payments Made", "payments.index", "Billing"),
    NavEntry("Credits", "credits.index", "Billing"),
    NavEntry("Statements", "statements.index", "Billing"),
    NavEntry("Payment Methods", "payment_methods.index", "Billing"),
    NavEntry("Estimates", "estimates.index", "Work"),
    NavEntry("Projects", "projects.index", "Work"),
    NavEntry("Timesheets", "timesheets.index", "Work"),
    NavEntry("Profile", "profile.show", "Account"),
    NavEntry("Reviews", "reviews.index", "Account"),
    NavEntry("Account & security", "account.show", "Account"),
)

ADMIN_NAV: tuple[NavEntry, ...] = (
    NavEntry("Admin home", "admin.index"),
    NavEntry("Customers", "admin_customers.index"),
    NavEntry("Subscriptions", "admin_lists.subscriptions"),
    NavEntry("Invoices", "admin_lists.invoices"),
    NavEntry("Payments", "admin_lists.payments"),
    NavEntry("Credit notes", "admin_lists.credits"),
    NavEntry("Catalog", "admin_catalog.index"),
    NavEntry("Import", "admin_import.show"),
    NavEntry("Audit log", "admin_audit.index"),
    NavEntry("Preferences", "preferences.show"),
    NavEntry("Tax rates", "admin_tax.index"),
    NavEntry("Brand", "admin_brand.show"),
    NavEntry("Payment gateway", "admin_gateway.show"),
    NavEntry("Notifications", "notifications.index"),
    NavEntry("Webhooks", "admin_webhooks.index"),
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
class SidebarGroup:
    label: str | None  # None: the links stand on their own (Home, the admin's)
    links: tuple[SidebarLink, ...]


@dataclass(frozen=True)
class _Link:
    """An entry as this app serves it: its path (after the script root) and its module."""

    label: str
    endpoint: str
    path: str
    module: str | None
    group: str | None


def _links(app: Flask, entries: tuple[NavEntry, ...]) -> tuple[_Link, ...]:
    """The entries this app has a page for, with their paths and modules, worked out once."""
    known = app.extensions.setdefault("sidebar_links", {})
    if entries not in known:
        adapter = app.url_map.bind("portal.invalid", script_name="/")
        known[entries] = tuple(_Link(e.label, e.endpoint, adapter.build(e.endpoint),
                                     modules.module_of(e.endpoint), e.group)
                               for e in entries if e.endpoint in app.view_functions)
    return known[entries]


def sidebar_for(permissions: Permissions | None, current_endpoint: str | None,
                ) -> tuple[SidebarGroup, ...]:
    """Sidebar groups of links in order: the admin's when `permissions` is None, else the
    customer's, leaving out modules the app lacks or that are off, and groups left empty."""
    links = _links(current_app, ADMIN_NAV if permissions is None else CUSTOMER_NAV)
    root = request.script_root
    groups: list[SidebarGroup] = []
    for link in links:
        if not (permissions is None or link.module is None
                or permissions.module_enabled(link.module)):
            continue
        shown = SidebarLink(link.label, root + link.path, link.endpoint == current_endpoint)
        if groups and groups[-1].label == link.group:
            groups[-1] = SidebarGroup(link.group, groups[-1].links + (shown,))
        else:
            groups.append(SidebarGroup(link.group, (shown,)))
    return tuple(groups)


def sidebar() -> tuple[SidebarGroup, ...]:
    """The signed-in user's sidebar groups for this request; none when signed out."""
    if not current_user.is_authenticated:
        return ()
    return sidebar_for(None if current_user.is_admin else current_permissions(),
                       request.endpoint)
