"""The left sidebar: one entry per module that exists and that this user may see, in groups
(Billing, Work, Account); a group whose entries are all hidden is left out.

An entry's endpoint takes no values, so its path is the same on every page: each app works
the entries' paths and modules out once (`_links`), and a request adds its script root. Building
the 13 links with `url_for` on every page cost full pages 8-12% of their CPU (bench/README.md).

Imports point one way: nav -> modules (is the page's module on?) -> permissions."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app, request
from flask_login import current_user

from webapp import modules
from webapp.lazy_text import lazy_gettext as _l
from webapp.permissions import current_permissions
from webapp.services.core.preferences import Permissions


@dataclass(frozen=True)
class NavEntry:
    # The words are lazy (translated on each page, in its language) and left out of the
    # entry's identity: an app's paths are worked out once per tuple of entries (`_links`).
    label: str = field(compare=False)
    endpoint: str  # hidden while its module is off (webapp/modules.py)
    # consecutive entries of one group are shown under its heading
    group: str | None = field(default=None, compare=False)


BILLING, WORK, ACCOUNT = _l("Billing"), _l("Work"), _l("Account")


CUSTOMER_NAV: tuple[NavEntry, ...] = (
    NavEntry(_l("Home"), "home.index"),
    NavEntry(_l("Subscriptions"), "subscriptions.index", BILLING),
    NavEntry(_l("Invoices"), "invoices.index", BILLING),
    NavEntry(_l("Payments Made"), "payments.index", BILLING),
    NavEntry(_l("Credits"), "credits.index", BILLING),
    NavEntry(_l("Statements"), "statements.index", BILLING),
    NavEntry(_l("Payment Methods"), "payment_methods.index", BILLING),
    NavEntry(_l("Estimates"), "estimates.index", WORK),
    NavEntry(_l("Projects"), "projects.index", WORK),
    NavEntry(_l("Timesheets"), "timesheets.index", WORK),
    NavEntry(_l("Profile"), "profile.show", ACCOUNT),
    NavEntry(_l("Reviews"), "reviews.index", ACCOUNT),
    NavEntry(_l("Account & security"), "account.show", ACCOUNT),
)

ADMIN_NAV: tuple[NavEntry, ...] = (
    NavEntry(_l("Admin home"), "admin.index"),
    NavEntry(_l("Customers"), "admin_customers.index"),
    NavEntry(_l("Subscriptions"), "admin_lists.subscriptions"),
    NavEntry(_l("Invoices"), "admin_lists.invoices"),
    NavEntry(_l("Payments"), "admin_lists.payments"),
    NavEntry(_l("Credit notes"), "admin_lists.credits"),
    NavEntry(_l("Catalog"), "admin_catalog.index"),
    NavEntry(_l("Import"), "admin_import.show"),
    NavEntry(_l("Audit log"), "admin_audit.index"),
    NavEntry(_l("Preferences"), "preferences.show"),
    NavEntry(_l("Tax rates"), "admin_tax.index"),
    NavEntry(_l("Brand"), "admin_brand.show"),
    NavEntry(_l("Payment gateway"), "admin_gateway.show"),
    NavEntry(_l("Notifications"), "notifications.index"),
    NavEntry(_l("Webhooks"), "admin_webhooks.index"),
    NavEntry(_l("Estimates"), "admin_estimates.index"),
    NavEntry(_l("Projects"), "admin_projects.index"),
    NavEntry(_l("Reviews"), "admin_reviews.index"),
    NavEntry(_l("Account & security"), "account.show"),
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
        if groups and groups[-1].label is link.group:  # the same lazy word: no translating
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
