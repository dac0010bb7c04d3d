"""One blueprint per portal module, registered by the factory."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from webapp.blueprints import (
        account,
        admin,
        auth,
        credits,
        home,
        invoices,
        pay,
        payment_methods,
        payments,
        subscription_changes,
        subscriptions,
    )

    for module in (auth, account, home, subscriptions, subscription_changes, invoices, credits, payments, pay,
                   payment_methods, admin):
        app.register_blueprint(module.bp)

    from webapp import modules
    from webapp.blueprints import preferences

    app.register_blueprint(preferences.bp)
    modules.register(app)  # switched-off modules answer 404 (webapp/modules.py)

    from webapp.blueprints import notifications, password

    app.register_blueprint(notifications.bp)
    app.register_blueprint(password.bp)

    from webapp.blueprints import documents, statements

    app.register_blueprint(documents.bp)
    app.register_blueprint(statements.bp)

    from webapp.blueprints import subscription_actions

    app.register_blueprint(subscription_actions.bp)

    from webapp.blueprints import (
        admin_audit,
        admin_billing,
        admin_catalog,
        admin_customers,
        admin_import,
        admin_subscriptions,
    )

    for module in (admin_customers, admin_catalog, admin_subscriptions, admin_billing,
                   admin_import, admin_audit):  # the back office (issue 12)
        app.register_blueprint(module.bp)

    from webapp.blueprints import (
        admin_estimates,
        admin_projects,
        admin_reviews,
        admin_timesheets,
        estimates,
        messages,
        profile,
        projects,
        reviews,
        timesheets,
    )

    for module in (estimates, projects, timesheets, profile, messages, reviews,
                   admin_estimates, admin_projects, admin_timesheets, admin_reviews):
        app.register_blueprint(module.bp)

    import os

    # The bench's bare floor routes (bench/): only when asked for, never in a real portal.
    if app.config.get("BENCH_ROUTES") or os.environ.get("PORTAL_BENCH_ROUTES") == "1":
        from webapp.blueprints import bench

        app.register_blueprint(bench.bp)
