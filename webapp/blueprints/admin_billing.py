"""Back office: one-off invoices, voids, offline payments, refunds and payments into credit."""

from __future__ import annotations

from flask import Blueprint, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.blueprints.admin_forms import actor, labelled, options
from webapp.charging import gateway
from webapp.context import moment, now, today, use_customer_locale
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm, MoneyField
from webapp.htmx import finish, render_page
from webapp.login import admin_required
from webapp.services.admin import billing, customers
from webapp.services.billing import charges, tax
from webapp.services.billing.gateway import GatewayNetworkError
from webapp.services.core.errors import InvalidInput
from webapp.services.payments.pay import new_idempotency_key
from webapp.units import unit_of_work

bp = Blueprint("admin_billing", __name__, url_prefix="/admin")
LINE_ROWS = 5


class LineForm(FlaskForm):
    class Meta:
        csrf = False  # the enclosing form carries the token

    description = StringField(_l("Description"))
    quantity = StringField(_l("Quantity"), default="1")
    unit_price = MoneyField(_l("Unit price"))


class InvoiceForm(FlaskForm):
    lines = FieldList(FormField(LineForm), min_entries=LINE_ROWS, max_entries=billing.MAX_LINES)
    due_date = DateField(_l("Due date"), validators=[Optional()])
    idempotency_key = HiddenField()

    def values(self) -> list[billing.LineInput]:
        return [billing.LineInput(e.form.description.data or "", e.form.quantity.data or "",
                                  e.form.unit_price.data or "") for e in self.lines]


def _invoice_page(customer_id: int, form: InvoiceForm, status: int = 200):
    customer = customers.get_customer(db.session, customer_id)
    if not form.idempotency_key.data:
        form.idempotency_key.data = new_idempotency_key()
    return render_page("admin/billing/invoice_new.html", status=status, form=form, customer=customer,
                       tax=tax.tax_for(db.session, customer_id))


@bp.get("/customers/<int:customer_id>/invoices/new")
@admin_required
def new_invoice(customer_id: int):
    """The one-off invoice form (the customer's tax, `tax.tax_for`)."""
    return _invoice_page(customer_id, InvoiceForm())


@bp.post("/customers/<int:customer_id>/invoices")
@admin_required
def create_invoice(customer_id: int):
    """Issue the one-off invoice and email it; the same form twice issues one invoice."""
    form = InvoiceForm()
    if form.validate_on_submit():
        try:
            invoice = billing.issue_one_off(
                db.session, actor=actor(), customer_id=customer_id, lines=form.values(),
                due_date=form.due_date.data, idempotency_key=form.idempotency_key.data or "",
                at=moment())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for(".invoice", invoice_id=invoice.id),
                          _("Invoice %(number)s was issued and emailed.", number=invoice.number))
    return _invoice_page(customer_id, form, 422)


class VoidForm(FlaskForm):
    reason = TextAreaField(_l("Reason"))


class ResolveForm(FlaskForm):
    """Ask the payment processor about the card payment holding the invoice."""


@bp.get("/invoices/<int:invoice_id>")
@admin_required
def invoice(invoice_id: int):
    """One invoice as the admin sees it, with Void while it is open."""
    view = billing.invoice_view(db.session, invoice_id=invoice_id, at=moment())
    use_customer_locale(view.customer.locale)
    return render_page("admin/billing/invoice.html", view=view, void_form=VoidForm(),
                       resolve_form=ResolveForm())


@bp.post("/invoices/<int:invoice_id>/pending-payment")
@admin_required
def resolve_payment(invoice_id: int):
    """Ask the gateway what became of the customer's payment that holds this invoice."""
    ResolveForm().validate_on_submit()  # the CSRF check runs for every POST
    payment_id = billing.pending_payment(db.session, invoice_id=invoice_id)
    db.session.close()  # no transaction of ours stays open while the gateway works
    outcome = charges.resolve(unit_of_work, gateway(), payment_id=payment_id,
                              now=now())
    target = url_for(".invoice", invoice_id=invoice_id)
    if outcome is None:
        return finish(target, _("The payment processor says the payment is still in progress, "
                                "or did not answer. Try again in a moment."), "info")
    if outcome.succeeded:
        return finish(target, _("The payment went through: %(number)s.",
                                number=outcome.payment.number))
    return finish(target, _("The payment did not go through (%(reason)s). The invoice is open "
                            "for another payment.", reason=str(outcome.message)), "info")


@bp.post("/invoices/<int:invoice_id>/void")
@admin_required
def void(invoice_id: int):
    """Void an open invoice; what was paid on it becomes credit."""
    form = VoidForm()
    voided = billing.void_invoice(db.session, actor=actor(), invoice_id=invoice_id,
                                  reason=form.reason.data or "", at=moment())
    db.session.commit()
    return finish(url_for(".invoice", invoice_id=invoice_id),
                  _("Invoice %(number)s is void. Credit note %(credit_note)s holds what had "
                    "been paid.", number=voided.invoice.number,
                    credit_note=voided.credit_note.number) if voided.credit_note else
                  _("Invoice %(number)s is void.", number=voided.invoice.number))


class PaymentForm(FlaskForm):
    amount = MoneyField(_l("Amount"))
    method = SelectField(_l("Method"), choices=labelled(billing.OFFLINE_METHODS.items()),
                         validate_choice=False)
    reference = StringField(_l("Reference"))
    paid_on = DateField(_l("Received on"), validators=[Optional()])
    invoice_ids = SelectMultipleField(_l("Invoices it pays"), coerce=int, validate_choice=False,
                                      widget=ListWidget(prefix_label=False),
                                      option_widget=CheckboxInput())
    idempotency_key = HiddenField()


def _payment_page(customer_id: int, form: PaymentForm, status: int = 200):
    customer = customers.get_customer(db.session, customer_id)
    open_invoices = billing.payable(db.session, customer_id=customer_id)
    form.invoice_ids.choices = options((i.id, i.number) for i in open_invoices)
    if not form.idempotency_key.data:
        form.idempotency_key.data = new_idempotency_key()
    context = {"form": form, "customer": customer, "open_invoices": open_invoices}
    return render_page("admin/billing/payment_new.html", status=status, **context)


@bp.get("/customers/<int:customer_id>/payments/new")
@admin_required
def new_payment(customer_id: int):
    """Record cash, a bank transfer or a cheque."""
    return _payment_page(customer_id, PaymentForm(paid_on=today()))


@bp.post("/customers/<int:customer_id>/payments")
@admin_required
def create_payment(customer_id: int):
    """Record the payment on the chosen invoices (oldest first); the receipt is emailed."""
    form = PaymentForm()
    if form.validate_on_submit():
        try:
            payment = billing.record_offline_payment(
                db.session, actor=actor(), customer_id=customer_id, at=moment(),
                idempotency_key=form.idempotency_key.data or "",
                data=billing.OfflinePayment(form.amount.data or "", form.method.data or "",
                                            form.reference.data or "", form.paid_on.data,
                                            tuple(form.invoice_ids.data or ())))
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for(".payment", payment_id=payment.id),
                          _("Payment %(number)s was recorded and the receipt emailed.",
                            number=payment.number))
    return _payment_page(customer_id, form, 422)


class RefundForm(FlaskForm):
    amount = MoneyField(_l("Amount"))
    reference = StringField(_l("Reason or reference"))


class CreditForm(FlaskForm):
    amount = MoneyField(_l("Amount"))


def _payment_detail(payment_id: int, status: int = 200, *,
                    refused: tuple[FlaskForm, InvalidInput] | None = None, **forms):
    view = billing.payment_view(db.session, payment_id=payment_id)
    use_customer_locale(view.customer.locale)
    if refused is not None:  # shown once the locale is the customer's, as its amounts are
        refused[0].show(refused[1])
    context = {"view": view, "refund_form": RefundForm(formdata=None),
               "credit_form": CreditForm(formdata=None)} | forms
    return render_page("admin/billing/payment.html", status=status, **context)


@bp.get("/payments/<int:payment_id>")
@admin_required
def payment(payment_id: int):
    """One payment or refund: where it went, and Refund / Turn into credit."""
    return _payment_detail(payment_id)


@bp.post("/payments/<int:payment_id>/refund")
@admin_required
def refund(payment_id: int):
    """Give money back by the payment's own method: a card payment taken through Stripe is
    refunded there first (the admin's reason goes with it), then recorded."""
    form, refused = RefundForm(), None
    if form.validate_on_submit():
        try:
            asked = billing.check_refund(db.session, payment_id=payment_id,
                                         amount=form.amount.data or "")
            refund_id = gateway().refund(
                reference=asked.payment.gateway_reference, amount=asked.value,
                currency=asked.payment.currency, reason=form.reference.data or "",
                idempotency_key=f"refund-{payment_id}-{asked.refundable}-{asked.value}")
            made = billing.refund_payment(db.session, actor=actor(), payment_id=payment_id,
                                          amount=form.amount.data or "",
                                          reference=form.reference.data or "", at=moment(),
                                          gateway_reference=refund_id)
        except InvalidInput as exc:
            refused = (form, exc)
        except GatewayNetworkError:
            refused = (form, InvalidInput(_("The card processor did not answer; nothing was "
                                            "refunded or recorded. Try again."), field="amount"))
        else:
            db.session.commit()
            return finish(url_for(".payment", payment_id=payment_id),
                          _("Refund %(number)s was recorded.", number=made.number))
    return _payment_detail(payment_id, 422, refused=refused, refund_form=form)


@bp.post("/payments/<int:payment_id>/credit")
@admin_required
def to_credit(payment_id: int):
    """Turn what of the payment is on no invoice into a credit note."""
    form, refused = CreditForm(), None
    if form.validate_on_submit():
        try:
            note = billing.payment_to_credit(db.session, actor=actor(), payment_id=payment_id,
                                             amount=form.amount.data or "", at=moment())
        except InvalidInput as exc:
            refused = (form, exc)
        else:
            db.session.commit()
            return finish(url_for(".payment", payment_id=payment_id),
                          _("Credit note %(number)s was issued.", number=note.number))
    return _payment_detail(payment_id, 422, refused=refused, credit_form=form)
