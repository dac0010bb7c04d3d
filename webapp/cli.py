"""Flask CLI commands: seed-demo, invite, reset-2fa, cron.

`cron` and `lifecycle tick` run the worker's jobs in this process (the embedded default has no
RQ). The worker imports webapp, never the reverse (an import-linter contract), so these two
commands import the worker's modules by name when they run (`_worker`), as `dispatch` runs a
job named by its path: the command line is where the two are put together.
"""

from __future__ import annotations

import importlib
import logging
import time

import click
from flask import Flask

from webapp import clock
from webapp.db import db, write_intent


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no organization.")
    @click.option("--scale", type=click.IntRange(min=0), default=0, metavar="N",
                  help="Then add N customers with years of history (bench data).")
    @click.option("--seed", default=1, show_default=True, help="Random seed for --scale.")
    def seed_demo_command(if_empty: bool, scale: int, seed: int) -> None:
        """Load the demo organization, logins and data (idempotent)."""
        from webapp import demo

        if if_empty and not demo.database_is_empty(db.session):
            click.echo("Database already has data; demo not loaded.")
            return
        result = demo.seed_demo(db.session, now=clock.now())
        if result.created:
            demo.seed_demo_camille(db.session, now=clock.now())  # the French customer
            demo.seed_demo_activity(db.session, now=clock.now())
        db.session.commit()
        click.echo("Demo data loaded." if result.created else "Demo data already present.")
        if scale:
            _seed_scale(scale, seed)

    @app.cli.command("backfill-mrr")
    def backfill_mrr_command() -> None:
        """Rebuild the MRR history of subscriptions older than the movements (issue 31)."""
        _backfill_mrr()

    @app.cli.command("invite")
    @click.argument("email")
    def invite_command(email: str) -> None:
        """Email an existing customer a link to set their portal password."""
        from flask import current_app

        from webapp.dispatch import commit_and_dispatch
        from webapp.services.accounts import invitations
        from webapp.services.core.errors import DomainError

        try:
            invited = invitations.invite(
                db.session, email=email, now=clock.now(), secret=current_app.config["SECRET_KEY"])
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc
        commit_and_dispatch(db.session)
        click.echo(f"Invitation sent to {invited.email}"
                   + (" (new portal login)." if invited.created_user else "."))

    @app.cli.command("reset-2fa")
    @click.argument("email")
    def reset_two_factor_command(email: str) -> None:
        """Turn off two-factor sign-in for EMAIL (audited; they are emailed): for the last
        admin, or anyone who lost both their phone and their recovery codes."""
        from webapp.dispatch import commit_and_dispatch
        from webapp.services.accounts import two_factor
        from webapp.services.core.errors import DomainError

        try:
            done = two_factor.reset_by_email(db.session, email=email, now=clock.now(),
                                             actor_label="command line (flask reset-2fa)")
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc
        commit_and_dispatch(db.session)
        click.echo(f"Two-factor sign-in turned off for {email}; remembered devices forgotten; "
                   f"they have been emailed." if done else
                   f"{email} does not use two-factor sign-in: nothing changed.")

    @app.cli.command("retire-old-cards")
    def retire_old_cards_command() -> None:
        """After moving to another gateway (PAYMENT_GATEWAY): mark the cards saved with the
        previous one unusable and email their customers to add a card (Admin → Payment
        gateway has the same button)."""
        from flask import current_app

        from webapp.dispatch import commit_and_dispatch
        from webapp.services.billing import gateway_switch

        retired = gateway_switch.retire_foreign_cards(
            db.session, gateway_name=current_app.config["PAYMENT_GATEWAY"], now=clock.now())
        commit_and_dispatch(db.session)
        click.echo(f"{retired.cards} cards marked unusable; {retired.subscriptions} "
                   f"subscriptions turned auto-charge off; {retired.customers_emailed} "
                   f"customers emailed.")

    @app.cli.group("lifecycle")
    def lifecycle_group() -> None:
        """The billing engine's tick."""

    @lifecycle_group.command("tick")
    @click.option("--now", "now_text", default=None, metavar="ISO",
                  help="Process as if it were this UTC time (e.g. 2027-01-31T09:00).")
    def lifecycle_tick_command(now_text: str | None) -> None:
        """Run one tick by hand: renewals, trial ends, dunning, pauses, reminders."""
        from datetime import UTC, datetime

        jobs = _worker("jobs")
        if now_text:
            moment = datetime.fromisoformat(now_text)
            app.config["FIXED_NOW"] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        processed = jobs.lifecycle_tick()
        click.echo(f"Processed {processed} due event(s).")

    @app.cli.command("cron")
    @click.option("--every", default=60, show_default=True, help="Seconds between checks.")
    @click.option("--once", is_flag=True, help="Run what is due once and exit.")
    def cron_command(every: int, once: bool) -> None:
        """Run the worker schedule in-process (the embedded default has no RQ)."""
        schedule = _worker("schedule").SCHEDULE

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        last_run: dict[int, float] = {}
        while True:
            started = time.monotonic()
            for index, (job, interval) in enumerate(schedule):
                if started - last_run.get(index, -interval) >= interval:
                    last_run[index] = started
                    try:
                        job()
                    except Exception:  # noqa: BLE001 - the schedule must outlive one bad run
                        # An RQ worker would record the failure and retry; here the next
                        # interval is the retry, and the traceback goes to the log.
                        logging.getLogger("portal.cron").exception("%s failed", job.__name__)
            if once:
                return
            time.sleep(max(1.0, min(every, min(i for _, i in schedule))))


def _worker(module: str):
    """A module of the worker package, imported by name (see the module's docstring)."""
    return importlib.import_module(f"worker.{module}")


def _seed_scale(customers: int, seed: int) -> None:
    """Add customers with long histories, committing after each batch."""
    from webapp.demo import scale as demo_scale

    started = time.monotonic()
    with write_intent():  # SQLite: each batch begins holding the write lock
        for progress in demo_scale.seed_scale(db.session, customers=customers, now=clock.now(),
                                              seed=seed):
            db.session.commit()
            click.echo(f"  {progress.customers} customers, {progress.invoices} invoices, "
                       f"{progress.lines} lines, {progress.payments} payments "
                       f"({time.monotonic() - started:.0f} s)")
        demo_scale.analyze(db.session)
        db.session.commit()
    _backfill_mrr()
    click.echo(f"Added {customers} customers in {time.monotonic() - started:.0f} s; "
               f"log in as {demo_scale.BENCH_EMAIL} / {demo_scale.PASSWORD}.")


def _backfill_mrr() -> None:
    """MRR movements for the subscriptions that have none, rebuilt from their invoices."""
    from webapp.services.billing import mrr

    with write_intent():
        written = mrr.backfill(db.session, now=clock.now())
        mrr.rebuild_sums(db.session)
        db.session.commit()
    click.echo(f"  {written} MRR movements rebuilt from invoices (estimated)")
