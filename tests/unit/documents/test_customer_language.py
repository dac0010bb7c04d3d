"""Mail and documents in their reader's language (issue 33): a customer whose locale is fr_FR
gets the mail's subject and bodies, the PDF (its "Page i of M" too) and the accountant pack's
CSV in French, another customer the same in English. The French comes from a small catalog made
here: the real catalogs are not needed (nor assumed)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta

import pytest

from tests.factories import make_customer, make_invoice, moment_on
from tests.unit.documents.test_documents import pdf_text
from webapp import demo
from webapp.services.core import i18n, outbox
from webapp.services.core.i18n import _
from webapp.services.documents import packs, sources
from webapp.services.documents.statements import StatementPeriod

FRENCH = {
    "Invoice %(number)s from %(org)s": "Facture %(number)s de %(org)s",
    "Hello %(name)s,": "Bonjour %(name)s,",
    "Invoice %(number)s for %(amount)s is ready. It is due on %(date)s; you can view and pay "
    "it in the portal:": "La facture %(number)s de %(amount)s est prête. Elle est due le "
                         "%(date)s ; vous pouvez la voir et la payer sur le portail :",
    "Invoice <strong>%(number)s</strong> for <strong>%(amount)s</strong> is ready. It is due "
    "on %(date)s; you can view and pay it in the portal:":
        "La facture <strong>%(number)s</strong> de <strong>%(amount)s</strong> est prête. "
        "Elle est due le %(date)s ; vous pouvez la voir et la payer sur le portail :",
    "Invoice": "Facture",
    "Balance due": "Solde dû",
    "Bill to": "Facturer à",
    "Page %(number)d of %(count)d": "Page %(number)d sur %(count)d",
    "Balance": "Solde",
    "Opening Balance": "Solde d'ouverture",
}


@pytest.fixture
def french(service_catalogs):
    """A compiled French catalog in a directory of its own, as webapp/translations would be."""
    service_catalogs.write("fr", FRENCH)
    return service_catalogs.root


@pytest.fixture
def customers(session, now):
    demo.seed_organization(session, now=now)
    claire = make_customer(session, now=now, email="claire@example.fr", currency="EUR")
    claire.display_name, claire.locale = "Claire", "fr_FR"
    kim = make_customer(session, now=now, email="kim@example.com", currency="EUR")
    session.flush()
    return claire, kim


def _invoice_mail(session, customer, invoice, now):
    """The invoice's mail as the services write it, sent as the outbox builds it."""
    row = outbox.enqueue(session, template="invoice_issued", to=customer.email,
                         subject=_("Invoice %(number)s from %(org)s", number=invoice.number,
                                   org="Northwind"),
                         customer_id=customer.id, now=now,
                         context={"name": customer.display_name, "number": invoice.number,
                                  "amount": invoice.total, "currency": invoice.currency,
                                  "due_date": invoice.due_date.isoformat(),
                                  "page": outbox.page("invoices.detail",
                                                      invoice_id=invoice.id)})
    return row, outbox.build_message(session, row, mail_from="portal@northwind.example",
                                     now=now, base_url="https://portal.example",
                                     paths=lambda endpoint, values: f"/invoices/{invoice.id}")


def test_a_french_customers_mail_is_written_in_french(session, now, customers, french):
    claire, _kim = customers
    invoice = make_invoice(session, customer=claire, now=now, amount=1250)
    row, message = _invoice_mail(session, claire, invoice, now)

    assert row.subject == message["Subject"] == f"Facture {invoice.number} de Northwind"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert text.startswith("Bonjour Claire,\n\nLa facture ")
    assert "est prête. Elle est due le" in text and "Hello" not in text
    assert f"<p>La facture <strong>{invoice.number}</strong> de <strong>" in html
    assert "<p>Bonjour Claire,</p>" in html


def test_an_english_customers_mail_stays_in_english(session, now, customers, french):
    _claire, kim = customers
    invoice = make_invoice(session, customer=kim, now=now, amount=1250)
    row, message = _invoice_mail(session, kim, invoice, now)

    assert row.subject == f"Invoice {invoice.number} from Northwind"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Hello Kim Test,\n\nInvoice ")
    assert "is ready. It is due on" in text


def test_a_french_customers_invoice_pdf_is_written_in_french(session, now, customers, french):
    claire, kim = customers
    at = moment_on(now.date())
    french_pdf = pdf_text(sources.invoice_pdf(
        session, customer_id=claire.id, at=at,
        invoice_id=make_invoice(session, customer=claire, now=now).id).content)
    english_pdf = pdf_text(sources.invoice_pdf(
        session, customer_id=kim.id, at=at,
        invoice_id=make_invoice(session, customer=kim, now=now).id).content)

    assert "Facture" in french_pdf and "Solde dû" in french_pdf
    assert "Facturer à" in french_pdf and "Page 1 sur 1" in french_pdf
    assert "Bill to" not in french_pdf and "Page 1 of 1" not in french_pdf
    assert "Bill to" in english_pdf and "Balance due" in english_pdf
    assert "Page 1 of 1" in english_pdf and "Facture" not in english_pdf


def test_a_french_customers_accountant_pack_is_written_in_french(session, now, customers,
                                                                  french):
    claire, _kim = customers
    start = date(2026, 6, 1)
    make_invoice(session, customer=claire, now=now, amount=999, issue=start + timedelta(days=1))
    pack = packs.load_pack(session, customer_id=claire.id, at=moment_on(now.date()),
                           period=StatementPeriod("custom", start, start + timedelta(days=29)))
    archive = zipfile.ZipFile(io.BytesIO(pack.render().content))
    rows = list(csv.reader(io.StringIO(archive.read("transactions.csv").decode())))

    assert rows[0][6] == "Solde" and rows[1][1] == "Solde d'ouverture"
    statement = next(name for name in archive.namelist() if name.startswith("statement-"))
    assert "Page 1 sur 1" in pdf_text(archive.read(statement))


def test_the_apps_templates_follow_use_locale_outside_a_request(app, french):
    """A template of the app's environment rendered for a customer (a worker's, or a page
    about their document) is in the language of the `use_locale` block around it."""
    template = app.jinja_env.from_string('{{ _("Invoice") }} · {{ _("Balance due") }}')
    with app.app_context():
        assert template.render() == "Invoice · Balance due"
        with i18n.use_locale("fr_FR"):
            assert template.render() == "Facture · Solde dû"
        assert template.render() == "Invoice · Balance due"
