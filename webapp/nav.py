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
from webapp.languages import request_translations
from webapp.permissions import current_permissions
from webapp.services.core.i18n import N_
from webapp.services.core.preferences import Permissions


@dataclass(frozen=True)
class NavEntry:
    # The words are msgids (translated on each page, in its language, by `sidebar_for`) and
    # left out of the entry's identity: an app's paths are worked out once per tuple of
    # entries (`_links`).
    label: str = field(compare=False)
    endpoint: str  # hidden while its module is off (webapp/modules.py)
    # consecutive entries of one group are shown under its heading
    group: str | None = field(default=None, compare=False)


BILLING, WORK, ACCOUNT = N_("Billing"), N_("Work"), N_("Account")


CUSTOMER_NAV: tuple[NavEntry, ...] = (
    NavEntry(N_("Home"), "home.index"),
    NavEntry(N_("Subscriptions"), "subscriptions.index", BILLING),
    NavEntry(N_("Invoices"), "invoices.index", BILLING),
    NavEntry(N_("Payments Made"), "payments.index", BILLING),
    NavEntry(N_("Credits"), "credits.index", BILLING),
    NavEntry(N_("Statements"), "statements.index", BILLING),
    NavEntry(N_("Payment Methods"), "payment_methods.index", BILLING),
    NavEntry(N_("Estimates"), "estimates.index", WORK),
    NavEntry(N_("Projects"), "projects.index", WORK),
    NavEntry(N_("Timesheets"), "timesheets.index", WORK),
    NavEntry(N_("Profile"), "profile.show", ACCOUNT),
    NavEntry(N_("Reviews"), "reviews.index", ACCOUNT),
    NavEntry(N_("Account & security"), "account.show", ACCOUNT),
)

ADMIN_NAV: tuple[NavEntry, ...] = (
    NavEntry(N_("Admin home"), "admin.index"),
    NavEntry(N_("Customers"), "admin_customers.index"),
    NavEntry(N_("Subscriptions"), "admin_lists.subscriptions"),
    NavEntry(N_("Invoices"), "admin_lists.invoices"),
    NavEntry(N_("Payments"), "admin_lists.payments"),
    NavEntry(N_("Credit notes"), "admin_lists.credits"),
    NavEntry(N_("Catalog"), "admin_catalog.index"),
    NavEntry(N_("Import"), "admin_import.show"),
    NavEntry(N_("Audit log"), "admin_audit.index"),
    NavEntry(N_("Preferences"), "preferences.show"),
    NavEntry(N_("Tax rates"), "admin_tax.index"),
    NavEntry(N_("Brand"), "admin_brand.show"),
    NavEntry(N_("Payment gateway"), "admin_gateway.show"),
    NavEntry(N_("Notifications"), "notifications.index"),
    NavEntry(N_("Webhooks"), "admin_webhooks.index"),
    NavEntry(N_("Estimates"), "admin_estimates.index"),
    NavEntry(N_("Projects"), "admin_projects.index"),
    NavEntry(N_("Reviews"), "admin_reviews.index"),
    NavEntry(N_("Account & security"), "account.show"),
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
    customer's, leaving out modules the app lacks or that are off, and groups left empty.
    The words come from the page's catalog, looked up once: 22 lazy words, each finding the
    request's catalog when written, were 5 % of /invoices' profiled time (issue 32)."""
    links = _links(current_app, ADMIN_NAV if permissions is None else CUSTOMER_NAV)
    root = request.script_root
    word = request_translations().ugettext
    groups: list[SidebarGroup] = []
    group = None
    for link in links:
        if not (permissions is None or link.module is None
                or permissions.module_enabled(link.module)):
            continue
        shown = SidebarLink(word(link.label), root + link.path,
                            link.endpoint == current_endpoint)
        if groups and group is link.group:  # the same group's msgid
            groups[-1] = SidebarGroup(groups[-1].label, groups[-1].links + (shown,))
        else:
            group = link.group
            groups.append(SidebarGroup(word(group) if group else None, (shown,)))
    return tuple(groups)


def sidebar() -> tuple[SidebarGroup, ...]:
    """The signed-in user's sidebar groups for this request; none when signed out."""
    if not current_user.is_authenticated:
        return ()
    return sidebar_for(None if current_user.is_admin else current_permissions(),
                       request.endpoint)
