"""Credits: credit notes and the credit left to use."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from webapp.db import db
from webapp.htmx import render_page
from webapp.login import customer_required
from webapp.services.billing import credits

bp = Blueprint("credits", __name__, url_prefix="/credits")


@bp.get("")
@customer_required
def index():
    """Credit notes, newest first, with the unused credit at the top."""
    filters, messages = credits.read_filters(request.args)
    page = credits.list_credits(db.session, customer_id=current_user.customer_id,
                                filters=filters)
    balance = credits.balance(db.session, customer_id=current_user.customer_id)
    return render_page("credits/index.html", "credit_list", page=page, balance=balance,
                       filters=filters, messages=messages)


@bp.get("/<int:credit_note_id>")
@customer_required
def detail(credit_note_id: int):
    """A credit note and the invoices it was applied to."""
    view = credits.credit_detail(db.session, customer_id=current_user.customer_id,
                                 credit_note_id=credit_note_id)
    return render_page("credits/detail.html", detail=view)
