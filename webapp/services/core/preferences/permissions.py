"""The permission service: "may customers do X now?" for every module and action.

An action inside a module is allowed only while its module is on; `_RULES` says which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from webapp.models import Preferences
from webapp.services.core.errors import Forbidden
from webapp.services.core.i18n import _

ORGANIZATION_ID = 1

__all__ = [
    "ORGANIZATION_ID", "ACTIONS", "MODULE_ACTIONS", "Permissions", "load", "allowed", "require",
    "module_enabled", "permissions", "edit_timings", "change_timings", "cancel_timings",
    "PRORATE", "NO_PRORATION_UPGRADE_NOW", "END_OF_TERM_ONLY",
    "MODULE_SUBSCRIPTIONS", "MODULE_INVOICES", "MODULE_PAYMENTS", "MODULE_STATEMENTS",
    "MODULE_PAYMENT_METHODS", "MODULE_PROFILE", "MODULE_ESTIMATES", "MODULE_PROJECTS",
    "MODULE_TIMESHEETS", "TRIAL_ACTIVATE", "TRIAL_EXTEND", "TRIAL_CANCEL", "SUBSCRIPTION_EDIT",
    "SUBSCRIPTION_CHANGE_PLAN", "SUBSCRIPTION_CHANGE_ADDONS", "SUBSCRIPTION_CHANGE_COUPONS",
    "SUBSCRIPTION_AUTOCHARGE", "SUBSCRIPTION_PAUSE", "SUBSCRIPTION_CANCEL",
    "SUBSCRIPTION_REACTIVATE", "DOCUMENTS_FORWARD", "PROFILE_UPDATE", "REVIEWS",
    "PAYMENT_METHODS_ADD", "PAYMENTS_PARTIAL",
]

# --- Action names: what customers may do --------------------------------------------------
MODULE_SUBSCRIPTIONS = "module.subscriptions"
MODULE_INVOICES = "module.invoices"
MODULE_PAYMENTS = "module.payments"
MODULE_STATEMENTS = "module.statements"
MODULE_PAYMENT_METHODS = "module.payment_methods"
MODULE_PROFILE = "module.profile"
MODULE_ESTIMATES = "module.estimates"
MODULE_PROJECTS = "module.projects"
MODULE_TIMESHEETS = "module.timesheets"
TRIAL_ACTIVATE = "trial.activate"
TRIAL_EXTEND = "trial.extend"
TRIAL_CANCEL = "trial.cancel"
SUBSCRIPTION_EDIT = "subscription.edit"
SUBSCRIPTION_CHANGE_PLAN = "subscription.change_plan"
SUBSCRIPTION_CHANGE_ADDONS = "subscription.change_addons"
SUBSCRIPTION_CHANGE_COUPONS = "subscription.change_coupons"
SUBSCRIPTION_AUTOCHARGE = "subscription.autocharge"
SUBSCRIPTION_PAUSE = "subscription.pause"
SUBSCRIPTION_CANCEL = "subscription.cancel"
SUBSCRIPTION_REACTIVATE = "subscription.reactivate"
DOCUMENTS_FORWARD = "documents.forward"
PROFILE_UPDATE = "profile.update"
REVIEWS = "reviews"
PAYMENT_METHODS_ADD = "payment_methods.add"
PAYMENTS_PARTIAL = "payments.partial"

_Rule = tuple[str | None, Callable[[Preferences], bool]]

# action -> (the action it lives inside, which must be allowed too; its own switch).
# Forwarding and partial payments live on documents/pay pages whose own module guards them.
_RULES: dict[str, _Rule] = {
    MODULE_SUBSCRIPTIONS: (None, lambda p: p.module_subscriptions),
    MODULE_INVOICES: (None, lambda p: p.module_invoices),
    MODULE_PAYMENTS: (None, lambda p: p.module_payments),
    MODULE_STATEMENTS: (None, lambda p: p.module_statements),
    MODULE_PAYMENT_METHODS: (None, lambda p: p.module_payment_methods),
    MODULE_PROFILE: (None, lambda p: p.module_profile),
    MODULE_ESTIMATES: (None, lambda p: p.module_estimates),
    MODULE_PROJECTS: (None, lambda p: p.module_projects),
    MODULE_TIMESHEETS: (None, lambda p: p.module_timesheets),
    TRIAL_ACTIVATE: (MODULE_SUBSCRIPTIONS, lambda p: p.trial_activate),
    TRIAL_EXTEND: (MODULE_SUBSCRIPTIONS, lambda p: p.trial_extend and p.trial_max_extensions > 0),
    TRIAL_CANCEL: (MODULE_SUBSCRIPTIONS, lambda p: p.trial_cancel),
    # Editing with nothing left to change is no edit at all.
    SUBSCRIPTION_EDIT: (MODULE_SUBSCRIPTIONS, lambda p: p.edit_subscription and (
        p.edit_change_plan or p.edit_change_addons or p.edit_change_coupons)),
    SUBSCRIPTION_CHANGE_PLAN: (SUBSCRIPTION_EDIT, lambda p: p.edit_change_plan),
    SUBSCRIPTION_CHANGE_ADDONS: (SUBSCRIPTION_EDIT, lambda p: p.edit_change_addons),
    SUBSCRIPTION_CHANGE_COUPONS: (SUBSCRIPTION_EDIT, lambda p: p.edit_change_coupons),
    SUBSCRIPTION_AUTOCHARGE: (MODULE_SUBSCRIPTIONS, lambda p: p.autocharge_toggle),
    SUBSCRIPTION_PAUSE: (MODULE_SUBSCRIPTIONS, lambda p: p.pause_resume),
    SUBSCRIPTION_CANCEL: (MODULE_SUBSCRIPTIONS, lambda p: p.cancel_subscription),
    SUBSCRIPTION_REACTIVATE: (MODULE_SUBSCRIPTIONS, lambda p: p.reactivation),
    DOCUMENTS_FORWARD: (None, lambda p: p.forward_documents),
    PROFILE_UPDATE: (MODULE_PROFILE, lambda p: p.update_customer_details),
    REVIEWS: (None, lambda p: p.reviews),
    PAYMENT_METHODS_ADD: (MODULE_PAYMENT_METHODS, lambda p: p.add_payment_methods),
    PAYMENTS_PARTIAL: (None, lambda p: p.partial_payments),
}
ACTIONS: frozenset[str] = frozenset(_RULES)

# A sidebar module (NavEntry.module) -> the action that switches it on or off.
MODULE_ACTIONS: dict[str, str] = {
    "subscriptions": MODULE_SUBSCRIPTIONS, "invoices": MODULE_INVOICES,
    "payments": MODULE_PAYMENTS, "statements": MODULE_STATEMENTS,
    "payment_methods": MODULE_PAYMENT_METHODS, "profile": MODULE_PROFILE,
    "estimates": MODULE_ESTIMATES, "projects": MODULE_PROJECTS,
    "timesheets": MODULE_TIMESHEETS, "reviews": REVIEWS,
}


def load(session: Session) -> Preferences:
    """The organization's preferences (one query); a new organization's defaults if unsaved."""
    return session.get(Preferences, ORGANIZATION_ID) or Preferences(organization_id=ORGANIZATION_ID)


def allowed(prefs: Preferences, action: str) -> bool:
    """May customers do `action` under these preferences? Unknown actions raise KeyError."""
    parent, switch = _RULES[action]
    return bool(switch(prefs)) and (parent is None or allowed(prefs, parent))


def require(prefs: Preferences, action: str) -> None:
    """Raise Forbidden (answered as 404) unless customers may do `action`."""
    if not allowed(prefs, action):
        raise Forbidden(_("This is not available in the portal."))


def module_enabled(prefs: Preferences, module: str) -> bool:
    """Is this sidebar module (e.g. "invoices") switched on?"""
    return allowed(prefs, MODULE_ACTIONS[module])


@dataclass(frozen=True)
class Permissions:
    """Every action's answer, computed once: templates ask `can("subscription.cancel")`."""

    allowed: frozenset[str]

    def __call__(self, action: str) -> bool:
        if action not in ACTIONS:
            raise KeyError(f"unknown portal action {action!r}")
        return action in self.allowed

    def module_enabled(self, module: str) -> bool:
        return self(MODULE_ACTIONS[module])


def permissions(prefs: Preferences) -> Permissions:
    """A snapshot of every action's answer (the web layer keeps one per request)."""
    return Permissions(frozenset(a for a in ACTIONS if allowed(prefs, a)))


def edit_timings(prefs: Preferences) -> tuple[str, ...]:
    """When a subscription change may take effect: immediately and/or at the end of the term."""
    return _TIMINGS[prefs.edit_timing]


# How a subscription change is billed (the `proration` preference, issue 30).
PRORATE = "prorate"  # now: the days left are charged at the new price and credited at the old
NO_PRORATION_UPGRADE_NOW = "no_proration_upgrade_now"  # now, nothing charged: the new price
                                                       # applies from the next term
END_OF_TERM_ONLY = "end_of_term_only"  # changes can only be scheduled for the term's end


def change_timings(prefs: Preferences, offered: tuple[str, ...]) -> tuple[str, ...]:
    """Of the timings `offered` (the customer's preference, or the back office's both), those
    the proration setting allows: only the end of the term under `end_of_term_only`."""
    if prefs.proration == END_OF_TERM_ONLY:
        return ("end_of_term",)
    return offered


def cancel_timings(prefs: Preferences) -> tuple[str, ...]:
    """When a cancellation may take effect: immediately and/or at the end of the term."""
    return _TIMINGS[prefs.cancel_timing]


_TIMINGS = {"immediately": ("immediately",), "end_of_term": ("end_of_term",),
            "customer_choice": ("immediately", "end_of_term"),
            "both": ("immediately", "end_of_term")}
