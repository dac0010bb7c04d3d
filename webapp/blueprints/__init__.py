"""Every blueprint of the portal, registered from one list by the factory."""

from __future__ import annotations

from flask import Flask

from webapp import modules
from webapp.blueprints import (
    account,
    admin,
    admin_audit,
    admin_billing,
    admin_brand,
    admin_catalog,
    admin_customers,
    admin_estimates,
    admin_gateway,
    admin_import,
    admin_lists,
    admin_projects,
    admin_reviews,
    admin_subscriptions,
    admin_tax,
    admin_timesheets,
    admin_webhooks,
    auth,
    brand,
    credits,
    documents,
    estimates,
    home,
    invoices,
    language,
    messages,
    notifications,
    password,
    pay,
    payment_methods,
    payments,
    preferences,
    profile,
    projects,
    reviews,
    statements,
    stripe_webhooks,
    subscription_actions,
    subscription_changes,
    subscriptions,
    timesheets,
    two_factor,
)

# The customer's side, then the organization's (the back office).
BLUEPRINTS = (
    auth, password, account, two_factor, home, brand,
    subscriptions, subscription_changes, subscription_actions,
    invoices, credits, payments, pay, payment_methods, documents, statements,
    estimates, projects, timesheets, profile, messages, reviews, language,
    admin, admin_customers, admin_catalog, admin_subscriptions, admin_billing, admin_import,
    admin_audit, admin_lists, admin_gateway, admin_estimates, admin_projects, admin_timesheets,
    admin_reviews, preferences, admin_brand, notifications, stripe_webhooks, admin_webhooks,
    admin_tax,
)


def register_blueprints(app: Flask) -> None:
    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
    modules.register(app)  # switched-off modules answer 404 (webapp/modules.py)
