"""Back office: webhook endpoints, their signing secrets (shown once), "Send test event", and
the delivery log with Resend and Replay since. Nothing here sends: the schedule does."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, SelectMultipleField, StringField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.blueprints.admin_forms import actor, labelled
from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm
from webapp.htmx import finish, form_errors, render_page
from webapp.login import admin_required
from webapp.services.admin import webhooks
from webapp.services.core.errors import InvalidInput
from webapp.services.webhooks import keys

bp = Blueprint("admin_webhooks", __name__, url_prefix="/admin/webhooks")


class EndpointForm(FlaskForm):
    url = StringField(_l("URL"))
    description = StringField(_l("Description"))
    all_types = BooleanField(_l("All events, including types added later"))
    event_types = SelectMultipleField(_l("Event types"), validate_choice=False,
                                      choices=labelled(webhooks.type_choices()),
                                      widget=ListWidget(prefix_label=False),
                                      option_widget=CheckboxInput())

    def values(self) -> webhooks.EndpointInput:
        return webhooks.EndpointInput(url=self.url.data or "",
                                      description=self.description.data or "",
                                      event_types=tuple(self.event_types.data or ()),
                                      all_types=bool(self.all_types.data))


class ActionForm(FlaskForm):
    """The buttons' forms: CSRF alone."""


class ReplayForm(FlaskForm):
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To (blank: until now)"), validators=[Optional()])


def _policy() -> webhooks.Policy:
    return webhooks.Policy(production=current_app.config["PORTAL_ENV"] == "production")


def _key() -> str:
    return keys.encryption_key(current_app.config)


def _development() -> bool:
    return current_app.config["PORTAL_ENV"] != "production"


@bp.get("")
@admin_required
def index():
    """The endpoints, each with what waits and what failed."""
    return render_page("admin/webhooks/index.html", rows=webhooks.endpoint_rows(db.session),
                       development=_development())


@bp.get("/new")
@admin_required
def new():
    return render_page("admin/webhooks/new.html", "admin_webhook_form",
                       form=EndpointForm(all_types=True), endpoint=None,
                       development=_development())


@bp.post("")
@admin_required
def create():
    """Add an endpoint; the answer shows its signing secret, once."""
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            created = webhooks.create(db.session, actor=actor(), data=form.values(),
                                      policy=_policy(), key=_key(), now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            db.session.commit()
            response = render_page("admin/webhooks/secret.html", "admin_webhook_secret",
                                   endpoint=created.endpoint, secret=created.secret,
                                   rotated=False)
            return _no_store(response)
    return form_errors("admin/webhooks/new.html", "admin_webhook_form", form=form,
                       endpoint=None, development=_development())


def _no_store(response):
    """A page with a secret on it is kept by no cache and no history."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def _detail_context(endpoint_id: int, **forms) -> dict:
    filters, messages = webhooks.read_log_filters(request.args)
    return {"row": webhooks.endpoint_row(db.session, endpoint_id),
            "log": webhooks.delivery_log(db.session, endpoint_id=endpoint_id, filters=filters),
            "filters": filters, "messages": messages, "statuses": webhooks.sending.STATUSES,
            "types": tuple(webhooks.events.TYPES), "action_form": ActionForm(formdata=None),
            "replay_form": ReplayForm(formdata=None), "development": _development()} | forms


@bp.get("/<int:endpoint_id>")
@admin_required
def detail(endpoint_id: int):
    """The endpoint, its actions, and its delivery log (filters swap the log for htmx)."""
    return render_page("admin/webhooks/detail.html", "admin_webhook_log",
                       **_detail_context(endpoint_id))


@bp.get("/<int:endpoint_id>/edit")
@admin_required
def edit(endpoint_id: int):
    endpoint = webhooks.get(db.session, endpoint_id)
    all_types = webhooks.events.ALL_TYPES in endpoint.event_types
    form = EndpointForm(url=endpoint.url, description=endpoint.description, all_types=all_types,
                        event_types=[] if all_types else list(endpoint.event_types))
    return render_page("admin/webhooks/new.html", "admin_webhook_form", form=form,
                       endpoint=endpoint, development=_development())


@bp.post("/<int:endpoint_id>/edit")
@admin_required
def update(endpoint_id: int):
    endpoint = webhooks.get(db.session, endpoint_id)
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            changed = webhooks.update(db.session, actor=actor(), endpoint_id=endpoint_id,
                                      data=form.values(), policy=_policy(), now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            db.session.commit()
            return finish(url_for(".detail", endpoint_id=endpoint_id),
                          _("Saved.") if changed else _("Nothing changed."))
    return form_errors("admin/webhooks/new.html", "admin_webhook_form", form=form,
                       endpoint=endpoint, development=_development())


def _csrf_refused(endpoint_id: int):
    """The buttons' CSRF check: None when it passes, else back to the endpoint's page."""
    if ActionForm().validate_on_submit():
        return None
    return finish(url_for(".detail", endpoint_id=endpoint_id), _("The form expired; try again."),
                  "error")


@bp.post("/<int:endpoint_id>/test")
@admin_required
def send_test(endpoint_id: int):
    """Queue a test.ping for this endpoint; the log shows it within seconds."""
    if (refused := _csrf_refused(endpoint_id)) is not None:
        return refused
    try:
        event = webhooks.send_test(db.session, actor=actor(), endpoint_id=endpoint_id,
                                   now=now())
    except InvalidInput as exc:
        return finish(url_for(".detail", endpoint_id=endpoint_id), exc.message, "error")
    commit_and_dispatch()
    return finish(url_for(".detail", endpoint_id=endpoint_id),
                  _("Test event %(id)s queued; it is sent within seconds.",
                    id=event.public_id))


@bp.post("/<int:endpoint_id>/rotate")
@admin_required
def rotate(endpoint_id: int):
    """A new signing secret, shown once; the old one signs too for 24 hours."""
    if (refused := _csrf_refused(endpoint_id)) is not None:
        return refused
    rotated = webhooks.rotate_secret(db.session, actor=actor(), endpoint_id=endpoint_id,
                                     key=_key(), now=now())
    db.session.commit()
    return _no_store(render_page("admin/webhooks/secret.html", "admin_webhook_secret",
                                 endpoint=rotated.endpoint, secret=rotated.secret,
                                 rotated=True))


@bp.post("/<int:endpoint_id>/enabled")
@admin_required
def set_enabled(endpoint_id: int):
    if (refused := _csrf_refused(endpoint_id)) is not None:
        return refused
    enabled = request.form.get("enabled") == "yes"
    webhooks.set_enabled(db.session, actor=actor(), endpoint_id=endpoint_id, enabled=enabled,
                         now=now())
    db.session.commit()
    return finish(url_for(".detail", endpoint_id=endpoint_id),
                  _("Enabled: held events are sent now.") if enabled else
                  _("Disabled: nothing is sent to it until it is enabled again."))


@bp.post("/<int:endpoint_id>/delete")
@admin_required
def delete(endpoint_id: int):
    if not ActionForm().validate_on_submit() or request.form.get("confirmed") != "yes":
        return finish(url_for(".detail", endpoint_id=endpoint_id),
                      _("Tick the box to confirm the deletion."), "error")
    url = webhooks.remove(db.session, actor=actor(), endpoint_id=endpoint_id, now=now())
    db.session.commit()
    return finish(url_for(".index"), _("Deleted the endpoint %(url)s and its delivery log.",
                                       url=url))


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/resend")
@admin_required
def resend(endpoint_id: int, delivery_id: int):
    if (refused := _csrf_refused(endpoint_id)) is not None:
        return refused
    webhooks.resend(db.session, actor=actor(), endpoint_id=endpoint_id, delivery_id=delivery_id,
                    now=now())
    commit_and_dispatch()
    return finish(url_for(".detail", endpoint_id=endpoint_id),
                  _("Queued again, with the same event id."))


@bp.post("/<int:endpoint_id>/replay")
@admin_required
def replay(endpoint_id: int):
    """Send again every event of its types from a day on (after an outage)."""
    form = ReplayForm()
    if form.validate_on_submit():
        try:
            count = webhooks.replay(db.session, actor=actor(), endpoint_id=endpoint_id,
                                    since=form.since.data, until=form.until.data, now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for(".detail", endpoint_id=endpoint_id),
                          _("%(count)s event(s) queued again, each with its own id.",
                            count=count))
    return form_errors("admin/webhooks/detail.html", "admin_webhook_replay",
                       **_detail_context(endpoint_id, replay_form=form))
