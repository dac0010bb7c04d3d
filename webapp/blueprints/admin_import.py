"""Back office: CSV import of customers and subscriptions, with a dry run first."""

from __future__ import annotations

from flask import Blueprint, abort, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, TextAreaField

from webapp.blueprints.admin_forms import actor, labelled, links
from webapp.context import moment
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm
from webapp.htmx import finish, render_page
from webapp.login import admin_required
from webapp.services.admin import importer
from webapp.services.core.i18n import N_

bp = Blueprint("admin_import", __name__, url_prefix="/admin/import")
KINDS = {importer.CUSTOMERS: N_("Customers"), importer.SUBSCRIPTIONS: N_("Subscriptions")}


class ImportForm(FlaskForm):
    kind = RadioField(_l("What the file holds"), choices=labelled(KINDS.items()),
                      default=importer.CUSTOMERS, validate_choice=False)
    file = FileField(_l("CSV file"))
    text = TextAreaField(_l("Or paste the CSV here"))
    mode = HiddenField(default="dry_run")  # dry_run | import

    def csv_text(self) -> str:
        upload = self.file.data
        if upload and getattr(upload, "filename", ""):
            return upload.read().decode("utf-8-sig", errors="replace")
        return self.text.data or ""


def _page(form: ImportForm, report=None, status: int = 200):
    context = {"form": form, "report": report, "columns": importer.COLUMNS,
               "template_csv": importer.template_csv}
    return render_page("admin/import.html", status=status, **context)


@bp.get("")
@admin_required
def show():
    """The import form, with the columns each kind of file has."""
    return _page(ImportForm())


@bp.post("")
@admin_required
def run():
    """A dry run lists every bad line; an import writes all rows or, on any error, none."""
    form = ImportForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    text = form.csv_text()
    if not text.strip():
        form.text.errors = [_("Choose a CSV file or paste its contents.")]
        return _page(form, status=422)
    report = importer.run(db.session, actor=actor(), kind=form.kind.data, text=text,
                          dry_run=form.mode.data != "import", at=moment(), links=links())
    if report.written:
        commit_and_dispatch()
        return finish(url_for(".show"),
                      _("%(count)s customers were imported.", count=report.written)
                      if report.kind == importer.CUSTOMERS else
                      _("%(count)s subscriptions were imported.", count=report.written))
    db.session.rollback()
    form.text.data, form.mode.data = text, "import"
    return _page(form, report, 200 if report.ok else 422)


@bp.get("/<kind>.csv")
@admin_required
def template(kind: str):
    """An example file: the header and one row."""
    if kind not in KINDS:
        abort(404)
    return importer.template_csv(kind), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f"attachment; filename={kind}-template.csv"}
