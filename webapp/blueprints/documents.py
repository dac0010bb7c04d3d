"""Documents: PDF downloads of invoices, credit notes and receipts, and forwarding them."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectMultipleField, TextAreaField
from wtforms.validators import Length

from webapp import links
from webapp.context import moment, now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm
from webapp.htmx import finish, render_page
from webapp.login import customer_required, reads_along, ridden
from webapp.permissions import action_required
from webapp.services.core import pdf, preferences
from webapp.services.core.errors import InvalidInput
from webapp.services.core.i18n import N_
from webapp.services.documents import forwarding, sources

bp = Blueprint("documents", __name__)


def download(document: pdf.Document):
    """A rendered document as a download named after its number (INV-000123.pdf)."""
    response = send_file(BytesIO(document.content), mimetype=document.media_type,
                         as_attachment=True, download_name=document.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/invoices/<int:invoice_id>.pdf")
@customer_required
def invoice_pdf(invoice_id: int):
    """One of the customer's invoices as a PDF."""
    return download(sources.invoice_pdf(db.session, customer_id=current_user.customer_id,
                                        invoice_id=invoice_id, at=moment(),
                                        page_url=links.page_urls()))


@bp.get("/credits/<int:credit_note_id>.pdf")
@customer_required
def credit_note_pdf(credit_note_id: int):
    """One of the customer's credit notes as a PDF."""
    return download(sources.credit_note_pdf(db.session, customer_id=current_user.customer_id,
                                            credit_note_id=credit_note_id))


@bp.get("/payments/<int:payment_id>.pdf")
@customer_required
def receipt_pdf(payment_id: int):
    """The receipt of one of the customer's payments as a PDF."""
    return download(sources.receipt_pdf(db.session, customer_id=current_user.customer_id,
                                        payment_id=payment_id))


# --- Forwarding ------------------------------------------------------------------------------

class ForwardForm(FlaskForm):
    """Who gets the document, and a message; the service checks the addresses and limits."""

    unplaced_errors = "contacts"
    contacts = SelectMultipleField(_l("Contact persons"), coerce=int, validate_choice=False)
    addresses = TextAreaField(_l("Other email addresses"), validators=[Length(max=3000)],
                              description=_l("Separate addresses with commas or new lines. "
                                             "At most %(num)d recipients.",
                                             num=forwarding.MAX_RECIPIENTS))
    message = TextAreaField(_l("Message (optional)"),
                            validators=[Length(max=forwarding.MAX_MESSAGE)])


# The page each kind of document lives on: (endpoint, its id argument).
DETAIL_PAGES = {"invoice": ("invoices.detail", "invoice_id"),
                "credit_note": ("credits.detail", "credit_note_id"),
                "receipt": ("payments.receipt", "payment_id"),
                "estimate": ("estimates.detail", "estimate_id")}


# The flash after forwarding, for each kind (one sentence each; "recipient(s)" either way).
FORWARDED = {"invoice": N_("Invoice %(number)s is on its way to %(num)d recipient(s)."),
             "credit_note": N_("Credit note %(number)s is on its way to %(num)d recipient(s)."),
             "receipt": N_("Payment receipt %(number)s is on its way to %(num)d "
                           "recipient(s)."),
             "estimate": N_("Estimate %(number)s is on its way to %(num)d recipient(s).")}


def detail_url(kind: str, document_id: int) -> str:
    endpoint, argument = DETAIL_PAGES[kind]
    return url_for(endpoint, **{argument: document_id})


def forward(kind: str, document_id: int):
    """Show the forward form, or forward the document and go to the sending status."""
    document = forwarding.target(db.session, customer_id=current_user.customer_id, kind=kind,
                                 document_id=document_id)
    form = ForwardForm()
    if form.validate_on_submit():
        try:
            result = forwarding.forward(
                db.session, customer_id=current_user.customer_id, user_id=current_user.user_id,
                kind=kind, document_id=document_id, contact_ids=form.contacts.data or [],
                addresses=form.addresses.data, message=form.message.data, now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for("documents.forward_status", forward_id=result.forward_id),
                          _(FORWARDED[kind], number=document.number,
                            num=len(result.recipients)))
    return render_template("documents/forward.html", form=form, document=document,
                           back_url=detail_url(kind, document_id)), \
        422 if form.is_submitted() else 200


@bp.route("/invoices/<int:invoice_id>/forward", methods=["GET", "POST"])
@customer_required
@action_required(preferences.DOCUMENTS_FORWARD)
def forward_invoice(invoice_id: int):
    """Forward one of the customer's invoices by email."""
    return forward("invoice", invoice_id)


@bp.route("/credits/<int:credit_note_id>/forward", methods=["GET", "POST"])
@customer_required
@action_required(preferences.DOCUMENTS_FORWARD)
def forward_credit_note(credit_note_id: int):
    """Forward one of the customer's credit notes by email."""
    return forward("credit_note", credit_note_id)


@bp.route("/payments/<int:payment_id>/forward", methods=["GET", "POST"])
@customer_required
@action_required(preferences.DOCUMENTS_FORWARD)
def forward_receipt(payment_id: int):
    """Forward the receipt of one of the customer's payments by email."""
    return forward("receipt", payment_id)


@bp.get("/documents/forwards/<int:forward_id>")
@customer_required
@reads_along(forwarding.status_rider)
def forward_status(forward_id: int):
    """Where a forward's mail has got to: queued, then sent (htmx polls while it waits). Its
    read comes in the login's statement: one round trip a poll."""
    view = forwarding.status(db.session, customer_id=current_user.customer_id,
                             forward_id=forward_id, ridden=ridden())
    return render_page("documents/forward_status.html", "document_forward_status",
                       forward=view, detail_url=detail_url)  # the full page's link back
