"""Back office: the brand (Admin → Brand): the logo and the colour customers see on every
page, email and document. A saved change reloads the whole page (htmx too: HX-Redirect), since
the header, the icons and the stylesheet's version change with it; a refused one re-renders its
section with the message next to the field (422)."""

from __future__ import annotations

from flask import Blueprint, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import StringField

from webapp.blueprints.admin_forms import actor
from webapp.context import now
from webapp.db import db
from webapp.forms import FlaskForm
from webapp.htmx import finish, render_page
from webapp.login import admin_required
from webapp.services.admin import brand
from webapp.services.core.errors import InvalidInput

bp = Blueprint("admin_brand", __name__, url_prefix="/admin/brand")


class LogoForm(FlaskForm):
    unplaced_errors = "logo"

    logo = FileField(_l("Logo"), render_kw={"accept": "image/png,image/jpeg"})

    def upload(self) -> bytes:
        """The chosen file's bytes, read up to one byte past the limit (enough to refuse it)."""
        file = self.logo.data
        if not file or not getattr(file, "filename", ""):
            return b""
        return file.read(brand.MAX_BYTES + 1)


class RemoveLogoForm(FlaskForm):
    pass


class ColourForm(FlaskForm):
    unplaced_errors = "colour"

    colour = StringField(_l("Brand colour"), render_kw={"placeholder": "#1f4e79",
                                                    "spellcheck": "false"})


def _page(status: int = 200, partial: str | None = None, **forms):
    view = brand.brand_view(db.session)
    forms = {"logo_form": LogoForm(formdata=None), "remove_form": RemoveLogoForm(formdata=None),
             "colour_form": ColourForm(formdata=None, data={"colour": view.colour or ""}),
             **forms}
    return render_page("admin/brand/edit.html", partial, status=status, brand=view, **forms)


@bp.get("")
@admin_required
def show():
    """The logo, the colour and the latest changes to them."""
    return _page()


@bp.post("/logo")
@admin_required
def upload_logo():
    """Store a new logo (and the icons made from it), or say next to the field why not."""
    form = LogoForm()
    if form.validate_on_submit():
        try:
            brand.upload_logo(db.session, actor=actor(), data=form.upload(), now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            db.session.commit()
            return finish(url_for(".show"), _("The new logo is saved."))
    return _page(422, "admin_brand_logo", logo_form=form)


@bp.post("/logo/remove")
@admin_required
def remove_logo():
    """Remove the logo: pages, mail and documents go back to the built-in icon."""
    form = RemoveLogoForm()
    if form.validate_on_submit():
        brand.remove_logo(db.session, actor=actor(), now=now())
        db.session.commit()
        return finish(url_for(".show"), _("The logo is removed."))
    return _page(422, "admin_brand_logo", remove_form=form)


@bp.post("/colour")
@admin_required
def set_colour():
    """Save the brand colour (empty: the built-in one) if white text on it passes WCAG AA."""
    form = ColourForm()
    if form.validate_on_submit():
        try:
            brand.set_colour(db.session, actor=actor(), text=form.colour.data, now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            db.session.commit()
            return finish(url_for(".show"), _("The brand colour is saved."))
    return _page(422, "admin_brand_colour", colour_form=form)
