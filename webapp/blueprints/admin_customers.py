"""Back office: customers (list, create, edit, overview), contact persons, notes, portal access."""

from __future__ import annotations

from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField

from webapp.blueprints.admin_forms import actor, labelled, links, options, translated
from webapp.context import current_org, moment, now, use_customer_locale
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm, LocaleField
from webapp.htmx import finish, form_errors, render_page, swap_or_redirect
from webapp.login import admin_required
from webapp.services.admin import customers, overview, portal
from webapp.services.billing import tax
from webapp.services.core.errors import InvalidInput
from webapp.services.core.money import SUPPORTED_CURRENCIES

bp = Blueprint("admin_customers", __name__, url_prefix="/admin/customers")


class CustomerForm(FlaskForm):
    display_name = StringField(_l("Name"))
    company = StringField(_l("Company"))
    email = EmailField(_l("Email"))
    phone = StringField(_l("Phone"))
    currency = SelectField(_l("Currency"), choices=options((c, c) for c in SUPPORTED_CURRENCIES),
                           validate_choice=False)
    tax_id = StringField(_l("Tax ID"))
    billing_address = TextAreaField(_l("Billing address"))
    country = StringField(_l("Country"))
    region = StringField(_l("Region"))
    shipping_address = TextAreaField(_l("Shipping address"))
    locale = LocaleField()
    tax_exempt = BooleanField(_l("Tax-exempt"))
    tax_exempt_reason = StringField(_l("Reason for the exemption"))

    def values(self) -> customers.CustomerInput:
        return customers.CustomerInput(**{name: self[name].data or "" for name in (
            "display_name", "email", "currency", "company", "phone", "billing_address",
            "shipping_address", "tax_id", "locale", "country", "region",
            "tax_exempt_reason")}, tax_exempt=bool(self.tax_exempt.data))


class ContactForm(FlaskForm):
    name = StringField(_l("Name"))
    email = EmailField(_l("Email"))
    role = SelectField(_l("Role"), choices=labelled(customers.CONTACT_ROLES.items()),
                       validate_choice=False)


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Note"))


@bp.get("")
@admin_required
def index():
    """Customers by name; search and filters are query parameters, htmx swaps the list."""
    filters, messages = customers.read_filters(request.args)
    page = customers.list_customers(db.session, filters=filters, at=moment())
    db.session.commit()  # the day's retention cohort, when the filter took it
    return render_page("admin/customers/index.html", "admin_customer_list", page=page,
                       filters=filters, messages=messages,
                       statuses=translated(customers.STATUS_FILTERS),
                       portals=translated(customers.PORTAL_FILTERS))


@bp.get("/new")
@admin_required
def new():
    """The new-customer form, in the organization's currency."""
    form = CustomerForm(currency=current_org().base_currency)
    return render_page("admin/customers/form.html", form=form, customer=None)


@bp.post("")
@admin_required
def create():
    """Add a customer (and invite them if the portal opens for new customers automatically)."""
    form = CustomerForm()
    if form.validate_on_submit():
        try:
            saved = customers.create_customer(db.session, actor=actor(), data=form.values(),
                                              now=now(), links=links())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            name = saved.customer.display_name
            return finish(url_for(".detail", customer_id=saved.customer.id),
                          _("%(name)s was added. An invitation to the portal is on its way.",
                            name=name) if saved.invited else
                          _("%(name)s was added.", name=name))
    return form_errors("admin/customers/form.html", form=form, customer=None)


def _overview_context(customer_id: int, **forms) -> dict:
    view = overview.overview(db.session, customer_id=customer_id, at=moment())
    use_customer_locale(view.customer.locale)  # their figures, as they read them
    return {"view": view, "contact_form": ContactForm(formdata=None),
            "note_form": NoteForm(formdata=None),
            "tax": tax.tax_for(db.session, customer_id)} | forms


@bp.get("/<int:customer_id>")
@admin_required
def detail(customer_id: int):
    """The customer's overview."""
    return render_page("admin/customers/detail.html", **_overview_context(customer_id))


@bp.get("/<int:customer_id>/edit")
@admin_required
def edit(customer_id: int):
    customer = customers.get_customer(db.session, customer_id)
    form = CustomerForm(obj=customer)
    return render_page("admin/customers/form.html", form=form, customer=customer)


@bp.post("/<int:customer_id>/edit")
@admin_required
def update(customer_id: int):
    """Save the customer's details; every change is in the audit log."""
    customer = customers.get_customer(db.session, customer_id)
    form = CustomerForm()
    if form.validate_on_submit():
        try:
            saved = customers.update_customer(db.session, actor=actor(), customer_id=customer_id,
                                              data=form.values(), now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            db.session.commit()
            return finish(url_for(".detail", customer_id=customer_id),
                          _("Saved.") if saved.changed else _("Nothing changed."))
    return form_errors("admin/customers/form.html", form=form, customer=customer)


@bp.post("/<int:customer_id>/contacts")
@admin_required
def add_contact(customer_id: int):
    """Add a contact person; htmx swaps the contact list."""
    form = ContactForm()
    if form.validate_on_submit():
        try:
            listed = customers.add_contact(
                db.session, actor=actor(), customer_id=customer_id, now=now(),
                data=customers.ContactInput(form.name.data or "", form.email.data or "",
                                            form.role.data or ""))
        except InvalidInput as exc:
            form.show(exc)
        else:
            db.session.commit()
            return swap_or_redirect("admin_customer_contacts", customer_id=customer_id,
                                    contacts=listed, contact_form=ContactForm(formdata=None),
                                    message=_("Contact person added."),
                                    redirect_to=url_for(".detail", customer_id=customer_id))
    return form_errors("admin/customers/detail.html", "admin_customer_contacts",
                       **_overview_context(customer_id, contact_form=form),
                       customer_id=customer_id,
                       contacts=customers.contacts(db.session, customer_id=customer_id))


@bp.post("/<int:customer_id>/contacts/<int:contact_id>/delete")
@admin_required
def remove_contact(customer_id: int, contact_id: int):
    """Remove a contact person; htmx swaps the contact list."""
    listed = customers.remove_contact(db.session, actor=actor(), customer_id=customer_id,
                                      contact_id=contact_id, now=now())
    db.session.commit()
    return swap_or_redirect("admin_customer_contacts", customer_id=customer_id, contacts=listed,
                            contact_form=ContactForm(formdata=None),
                            message=_("Contact person removed."),
                            redirect_to=url_for(".detail", customer_id=customer_id))


@bp.post("/<int:customer_id>/notes")
@admin_required
def add_note(customer_id: int):
    """Keep a note on the customer; htmx swaps the notes."""
    form = NoteForm()
    if form.validate_on_submit():
        try:
            kept = customers.add_note(db.session, actor=actor(), customer_id=customer_id,
                                      body=form.body.data or "", now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            db.session.commit()
            return swap_or_redirect("admin_customer_notes", customer_id=customer_id, notes=kept,
                                    note_form=NoteForm(formdata=None), message=_("Note added."),
                                    redirect_to=url_for(".detail", customer_id=customer_id))
    return form_errors("admin/customers/detail.html", "admin_customer_notes",
                       **_overview_context(customer_id, note_form=form), customer_id=customer_id,
                       notes=customers.notes(db.session, customer_id=customer_id))


@bp.post("/<int:customer_id>/portal/invite")
@admin_required
def invite(customer_id: int):
    """Invite the customer to the portal, or send the invitation again."""
    access = portal.invite(db.session, actor=actor(), customer_id=customer_id, links=links(),
                           now=now())
    commit_and_dispatch()
    return swap_or_redirect("admin_customer_portal", access=access,
                            message=_("Invitation sent to %(email)s.", email=access.login_email),
                            redirect_to=url_for(".detail", customer_id=customer_id))


@bp.post("/<int:customer_id>/portal/revoke")
@admin_required
def revoke(customer_id: int):
    """Close the portal to the customer; their sessions and links stop working."""
    access = portal.revoke(db.session, actor=actor(), customer_id=customer_id, now=now())
    db.session.commit()
    return swap_or_redirect("admin_customer_portal", access=access,
                            message=_("Portal access revoked."),
                            redirect_to=url_for(".detail", customer_id=customer_id))


@bp.post("/<int:customer_id>/portal/sessions/<int:session_id>/end")
@admin_required
def end_session(customer_id: int, session_id: int):
    """Sign the customer out of one device; they are told by email."""
    access = portal.sign_out(db.session, actor=actor(), customer_id=customer_id,
                             session_id=session_id, now=now())
    commit_and_dispatch()
    return swap_or_redirect("admin_customer_portal", access=access,
                            message=_("The customer has been signed out of that device."),
                            redirect_to=url_for(".detail", customer_id=customer_id))


@bp.post("/<int:customer_id>/portal/sessions/end-all")
@admin_required
def end_all_sessions(customer_id: int):
    """Sign the customer out everywhere; they are told by email."""
    access = portal.sign_out(db.session, actor=actor(), customer_id=customer_id,
                             now=now())
    commit_and_dispatch()
    return swap_or_redirect("admin_customer_portal", access=access,
                            message=_("The customer has been signed out everywhere."),
                            redirect_to=url_for(".detail", customer_id=customer_id))


@bp.post("/<int:customer_id>/portal/two-factor/reset")
@admin_required
def reset_two_factor(customer_id: int):
    """Turn off the customer's two-factor sign-in; they are told by email."""
    access = portal.reset_two_factor(db.session, actor=actor(), customer_id=customer_id,
                                     now=now())
    commit_and_dispatch()
    return swap_or_redirect("admin_customer_portal", access=access,
                            message=_("Two-factor sign-in is off for this customer; they have "
                                      "been emailed."),
                            redirect_to=url_for(".detail", customer_id=customer_id))
