"""Profile: the customer's contact details and contact persons."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm, LocaleField
from webapp.htmx import form_errors, render_page, swap_or_redirect
from webapp.lazy_text import lazy_gettext as _l
from webapp.login import customer_required
from webapp.permissions import action_required
from webapp.services.accounts import profile
from webapp.services.core import preferences
from webapp.services.core.preferences import InvalidChanges

bp = Blueprint("profile", __name__, url_prefix="/profile")


class DetailsForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[Length(max=200)],
                               render_kw={"autocomplete": "name"})
    company = StringField(_l("Company"), validators=[Length(max=200)],
                          render_kw={"autocomplete": "organization"})
    phone = StringField(_l("Phone"), validators=[Length(max=50)],
                        render_kw={"autocomplete": "tel", "inputmode": "tel"})
    billing_address = TextAreaField(_l("Billing address"), validators=[Length(max=1000)])
    shipping_address = TextAreaField(_l("Shipping address"), validators=[Length(max=1000)])
    tax_id = StringField(_l("Tax ID"), validators=[Length(max=50)])
    locale = LocaleField()

    def details(self) -> profile.Details:
        return profile.Details(*(getattr(self, f).data or "" for f in (
            "display_name", "company", "phone", "billing_address", "shipping_address",
            "tax_id", "locale")))


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    email = StringField(_l("Email"), validators=[Length(max=254)],
                        render_kw={"type": "email", "autocomplete": "off"})
    role = SelectField(_l("Role"), choices=[SelectChoice(v, label) for v, label in profile.ROLES.items()],
                       validate_choice=False)

    def contact(self) -> profile.ContactInput:
        return profile.ContactInput(self.name.data or "", self.email.data or "",
                                    self.role.data or "")


def _actor() -> dict:
    return {"customer_id": current_user.customer_id, "user_id": current_user.user_id,
            "actor": current_user.email}


def _context(view: profile.Profile, details_form=None, contact_form=None) -> dict:
    return {"profile": view,
            "details_form": details_form or DetailsForm(formdata=None, obj=view.details),
            "contact_form": contact_form or ContactForm(formdata=None)}


def _current() -> profile.Profile:
    return profile.profile(db.session, customer_id=current_user.customer_id)


@bp.get("")
@customer_required
def show():
    """The customer's details and contact persons; editable when the preference allows."""
    return render_page("profile/show.html", **_context(_current()))


@bp.post("/details")
@customer_required
@action_required(preferences.PROFILE_UPDATE)
def update_details():
    """Save the contact details: every message next to its field, nothing saved on error."""
    form = DetailsForm()
    if form.validate_on_submit():
        try:
            saved = profile.update_details(db.session, data=form.details(), now=now(),
                                           **_actor())
        except InvalidChanges as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            message = (_("Saved: %(fields)s.", fields=", ".join(map(str, saved.changed)))
                       if saved.changed else _("Nothing changed."))
            return swap_or_redirect("profile_details", **_context(saved.profile),
                                    message=message, redirect_to=url_for(".show"))
    return form_errors("profile/show.html", "profile_details",
                       **_context(_current(), details_form=form))


@bp.post("/contacts")
@customer_required
@action_required(preferences.PROFILE_UPDATE)
def add_contact():
    """Add a contact person (they can then receive forwarded documents)."""
    form = ContactForm()
    if form.validate_on_submit():
        try:
            view = profile.add_contact(db.session, data=form.contact(), now=now(),
                                       **_actor())
        except InvalidChanges as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return swap_or_redirect("profile_contacts", **_context(view),
                                    message=_("Added %(name)s.", name=form.name.data.strip()),
                                    redirect_to=url_for(".show", _anchor="profile-contacts"))
    return form_errors("profile/show.html", "profile_contacts",
                       **_context(_current(), contact_form=form))


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@customer_required
@action_required(preferences.PROFILE_UPDATE)
def edit_contact(contact_id: int):
    """Change a contact person's name, email or role."""
    contact = profile.owned_contact(db.session, current_user.customer_id, contact_id)
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        try:
            view = profile.update_contact(db.session, contact_id=contact_id,
                                          data=form.contact(), now=now(), **_actor())
        except InvalidChanges as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return swap_or_redirect("profile_contacts", **_context(view),
                                    message=_("Saved %(name)s.", name=form.name.data.strip()),
                                    redirect_to=url_for(".show", _anchor="profile-contacts"))
    return render_template("profile/contact_edit.html", form=form, contact=contact), \
        422 if form.is_submitted() else 200


@bp.post("/contacts/<int:contact_id>/remove")
@customer_required
@action_required(preferences.PROFILE_UPDATE)
def remove_contact(contact_id: int):
    """Remove a contact person."""
    view = profile.remove_contact(db.session, contact_id=contact_id, now=now(),
                                  **_actor())
    commit_and_dispatch()
    return swap_or_redirect("profile_contacts", **_context(view),
                            message=_("Contact person removed."),
                            redirect_to=url_for(".show", _anchor="profile-contacts"))
