"""In the pseudo-locale en_XA every text the portal writes is translated: nothing English is left
outside the "[...]" that en_XA's translations are wrapped in (issue 33).

The en_XA catalog is made from the code as it is now (extracted in-process, pseudo-translated
and compiled into a temporary directory the app and `i18n` are pointed at). Then Jane (whose
locale is en_XA) opens the main customer pages, the admin (en_XA too) 29 back-office pages, and
an invoice mail and an invoice PDF's HTML are written for Jane. In each, the visible text (tags,
scripts, styles and <pre> file samples stripped; titles, alt texts, placeholders, aria-labels, hx-confirm and
data-label attributes, the values of buttons kept) may hold outside brackets only the data
(names, numbers, addresses... from the database), dates and amounts, and a few words that are
the same in every language (ALLOWED). A failure lists each English word with the text around it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from babel import Locale
from flask_babel import force_locale, gettext
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from tests.conftest import FIXED_NOW
from tests.factories import moment_on
from webapp import create_app, demo
from webapp.db import db
from webapp.extensions import babel
from webapp.i18n_tools import extract, write_pseudo_locales
from webapp.models import (
    CreditNote,
    Customer,
    Estimate,
    Invoice,
    Payment,
    Subscription,
    User,
    metadata,
)
from webapp.services.billing import invoices
from webapp.services.core import i18n, languages, locales, outbox, pdf, wording
from webapp.services.documents import sources, statements

LOCALE = "en_XA"
CUSTOMER_PAGES = ["/", "/subscriptions", "/invoices", "/invoices/{invoice_id}", "/payments",
                  "/credits", "/profile", "/account", "/payment-methods", "/estimates",
                  "/projects", "/reviews", "/timesheets", "/statements", "/messages/new",
                  "/invoices/{invoice_id}/forward"]
# The back office: every list, a customer with their subscription, invoice and payment, the
# forms that make things, and the settings' pages.
ADMIN_PAGES = ["/admin/", "/admin/customers", "/admin/customers/new", "/admin/customers/{customer}",
               "/admin/customers/{customer}/edit", "/admin/subscriptions", "/admin/invoices",
               "/admin/payments", "/admin/credits", "/admin/subscriptions/{subscription}",
               "/admin/invoices/{invoice}", "/admin/payments/{payment}",
               "/admin/customers/{customer}/invoices/new",
               "/admin/customers/{customer}/payments/new",
               "/admin/customers/{customer}/subscriptions/new", "/admin/audit", "/admin/brand",
               "/admin/catalog", "/admin/estimates", "/admin/estimates/new",
               "/admin/payment-gateway", "/admin/import", "/admin/projects",
               "/admin/projects/new", "/admin/reviews", "/admin/tax-rates", "/admin/webhooks",
               "/admin/webhooks/new", "/admin/preferences"]

# Words that are the same in every language (matched as written), and the languages whose
# names the language switcher shows in their own language (the locale selects' regions too:
# locales.SUPPORTED_LOCALES, "Deutsch (Deutschland)").
ALLOWED = {"PDF", "CSV", "HTMX", "JSON", "IBAN", "BIC"}
LANGUAGE_NAMES = ("en", "de", "fr", "es", "en_XA", "ar_XB")

# The data a page shows as it is: what people typed (names, addresses, descriptions, the
# organization's own texts), numbers and labels the portal gave things. Status words, kinds
# and reasons the code writes are not data: a page translates them.
DATA_COLUMNS = {
    "organization": ("name", "legal_name", "portal_name", "address", "phone", "email",
                     "tax_name", "tax_id", "banner_text", "payment_instructions"),
    "customer": ("display_name", "company", "email", "phone", "billing_address",
                 "shipping_address", "tax_id", "tax_exempt_reason"),
    "contact_person": ("name", "email"),
    "user": ("email",),
    "plan": ("code", "name", "description"),
    "addon": ("code", "name"),
    "coupon": ("code", "name"),
    "tax_rate": ("label",),
    "subscription": ("number", "cancel_reason"),
    "invoice": ("number",),
    "invoice_line": ("description", "tax_label"),
    "credit_note": ("number", "reason"),
    "payment": ("number", "reference", "failure_reason"),
    "payment_method": ("brand", "last4"),
    "estimate": ("number", "subject", "notes", "decision_reason"),
    "estimate_line": ("description", "tax_label"),
    "project": ("name", "description"),
    "project_task": ("name", "description"),
    "time_entry": ("description", "disapproval_reason"),
    "customer_message": ("subject", "body", "attachment_name"),
    "comment": ("author_label", "body"),
    "customer_note": ("author_label", "body"),
    "review": ("body",),
    "audit_entry": ("actor_label",),
    "user_session": ("device",),
    "trusted_device": ("device",),
    "preferences": ("retention_coupon_code", "retention_offer_text", "cancellation_reasons"),
    "webhook_endpoint": ("url", "description"),
}

# Columns the portal writes its own words into, with names and numbers in them, and the
# texts of core/wording.py each is read with.
STORED_WORDS = {("invoice_line", "description"): wording.TEXTS,
                ("credit_note", "reason"): wording.TEXTS, ("payment", "reference"): wording.TEXTS,
                ("user_session", "device"): wording.DEVICE_TEXTS,
                ("trusted_device", "device"): wording.DEVICE_TEXTS}

# Attributes a person reads (or hears); a button's value too.
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description",
                   "hx-confirm", "hx-prompt", "data-label", "label"}
BUTTON_TYPES = {"submit", "button", "reset"}
# A <pre> shows a file's format as it is (the import's example file: column names, sample rows).
SKIPPED_ELEMENTS = {"script", "style", "pre"}

WORD = re.compile(r"[^\W\d_]+")  # letters only: "INV-000011" has the word "INV"
ASCII_LETTER = re.compile(r"[A-Za-z]")
# Addresses are not words: links written out in a mail, e-mail addresses, paths; nor are
# colours ("#1f4e79", the brand page's example).
ADDRESS = re.compile(r"https?://\S+|[\w.+-]+@[\w.-]+|(?<![\w/])/[A-Za-z][\w/.?=&%#-]*"
                     r"|#[0-9A-Fa-f]{6}\b|#[0-9A-Fa-f]{3}\b")


class VisibleText(HTMLParser):
    """The text of a document in reading order, and each read attribute on its own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.attributes: list[str] = []
        self._skipping: str | None = None

    def handle_starttag(self, tag, attrs) -> None:
        if tag in SKIPPED_ELEMENTS:
            self._skipping = tag
        values = dict(attrs)
        for name, value in attrs:
            if value and (name in READ_ATTRIBUTES or (
                    name == "value" and tag == "input"
                    and (values.get("type") or "").lower() in BUTTON_TYPES)):
                self.attributes.append(value)
        self.text.append(" ")  # a tag separates words

    def handle_endtag(self, tag) -> None:
        if tag == self._skipping:
            self._skipping = None
        self.text.append(" ")

    def handle_data(self, data) -> None:
        if self._skipping is None:
            self.text.append(data)


def outside_brackets(text: str) -> str:
    """`text` with everything inside "[...]" (nested too) blanked out."""
    kept, depth = [], 0
    for char in text:
        if char == "[":
            depth += 1
            kept.append(" ")
        elif char == "]" and depth:
            depth -= 1
            kept.append(" ")
        else:
            kept.append(" " if depth else char)
    return "".join(kept)


class Leftovers:
    """Finds the English a text has left outside brackets once the data (whole values, as
    the database holds them), dates, amounts and addresses are taken out."""

    def __init__(self, data: set[str], currencies: set[str]) -> None:
        english = Locale.parse(LOCALE)
        months = "|".join(sorted({re.escape(name) for width in english.months["format"].values()
                                  for name in width.values()}, key=len, reverse=True))
        days = "|".join(sorted({re.escape(name) for width in english.days["format"].values()
                                for name in width.values()}, key=len, reverse=True))
        periods = "|".join(re.escape(p) for p in english.day_periods["format"]["abbreviated"]
                           .values())
        values = sorted({" ".join(v.split()) for v in data if WORD.search(v)}, key=len,
                        reverse=True)
        self.data = re.compile("|".join(
            r"(?<!\w)" + r"\s+".join(re.escape(part) for part in value.split()) + r"(?!\w)"
            for value in values) or "(?!)", re.IGNORECASE)
        self.dates = re.compile(
            rf"(?:\b(?:{days}),?\s+)?\b(?:{months})\.?\s+\d{{1,2}}(?:,\s+\d{{4}})?\b"
            rf"|\b\d{{1,2}}\s+(?:{months})\.?(?:\s+\d{{4}})?\b"
            rf"|\b(?:{months})\.?\s+\d{{4}}\b|\b\d{{1,2}}:\d{{2}}\s*(?:{periods})\b")
        codes = "|".join(sorted(currencies))
        self.amounts = re.compile(rf"\b[A-Z]{{1,3}}\$|\b(?:{codes})(?=\s?[-−]?\d)"
                                  rf"|(?<=\d)\s?(?:{codes})\b")
        self.currencies = currencies

    def words(self, text: str) -> list[str]:
        """Each English word left, with the text around it."""
        outside = outside_brackets(text)
        for pattern in (ADDRESS, self.data, self.dates, self.amounts):
            outside = pattern.sub(lambda m: " " * len(m.group()), outside)
        found = []
        for match in WORD.finditer(outside):
            word = match.group()
            if ASCII_LETTER.search(word) and word not in ALLOWED | self.currencies:
                # The text as it is around the word (every blanking kept the positions).
                around = " ".join(text[max(0, match.start() - 40):match.end() + 40].split())
                found.append(f"{word!r} in \"{around}\"")
        return found

    def in_document(self, document: str, *, html: bool = True) -> list[str]:
        """The English words of an HTML (or plain text) document, once each with its context."""
        if not html:
            return list(dict.fromkeys(self.words(document)))
        parser = VisibleText()
        parser.feed(document)
        parser.close()
        found = self.words(" ".join("".join(parser.text).split()))
        for value in parser.attributes:
            found += [f"{word} (an attribute)" for word in self.words(value)]
        return list(dict.fromkeys(found))


def assert_translated(where_found: dict[str, list[str]]) -> None:
    """Fail with every English word left, by page (or mail, or document)."""
    lines = []
    for where, found in where_found.items():
        if found:
            lines.append(f"{where}: {len(found)} English word(s) outside [...]:")
            lines += [f"    {item}" for item in found]
    if lines:
        pytest.fail("\n".join(lines), pytrace=False)


# --- the set-up -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pseudo_translations(tmp_path_factory):
    """en_XA and ar_XB compiled from the texts the code marks today."""
    directory = tmp_path_factory.mktemp("translations")
    write_pseudo_locales(extract(strict=True), directory, compile_mo=True)
    return directory


@pytest.fixture
def app(engine, pseudo_translations, monkeypatch):
    """The tests' app, reading its catalogs from `pseudo_translations` (Flask-Babel for pages,
    `i18n` for services, mail and PDFs), with no translation cached from another test."""
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", pseudo_translations)
    i18n.translations_for.cache_clear()
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SECRET_KEY": "test-secret-key",
        "REDIS_URL": None,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "FIXED_NOW": FIXED_NOW,
        "BABEL_TRANSLATION_DIRECTORIES": str(pseudo_translations),
    })
    with app.app_context():  # Flask-Babel's one domain caches every app's catalogs
        monkeypatch.setattr(babel.domain_instance, "cache", {})
    yield app
    i18n.translations_for.cache_clear()


@pytest.fixture
def in_pseudo_locale(app, seeded) -> Leftovers:
    """Jane and the admin read the portal in en_XA; what may be left in English then."""
    with app.app_context():
        jane = db.session.get(Customer, seeded.jane_customer_id)
        jane.locale = LOCALE
        admin = db.session.exec(select(User).where(User.email == demo.ADMIN[0])).one()
        admin.locale = LOCALE
        db.session.commit()
        return leftovers(db.session)


def leftovers(session: Session) -> Leftovers:
    """The data's values (each line of a value on several lines too) and the languages' names
    as the language switcher shows them are taken out as they are."""
    data: set[str] = set()
    tables = {table.name: table for table in metadata.sorted_tables}
    for name, columns in DATA_COLUMNS.items():
        table = tables[name]
        for row in session.execute(sa_select(*(table.c[c] for c in columns))).all():
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, list):  # a list of texts (the cancellation reasons)
                    data.update(item for item in value if isinstance(item, str) and item.strip())
                    continue
                if not (isinstance(value, str) and value.strip()):
                    continue
                # The billing core's own words are not data: only the names, codes and
                # numbers in them are (core/wording.py); what an admin typed is.
                texts = STORED_WORDS.get((name, column))
                values = [value] if texts is None else wording.values_of(value, texts)
                for value in values:
                    data.add(value)
                    data.update(line for line in value.splitlines() if line.strip())
    for code in (*LANGUAGE_NAMES, *locales.SUPPORTED_LOCALES):
        data.add(code)
        for in_language in (code, "en"):
            data.add(Locale.parse(code).get_display_name(in_language) or code)
    # The names the switcher and the locale select show, as languages.NAMES writes them
    # (never translated: a reader looks for their language's own name). The pseudo-locales'
    # are not CLDR's ("English (pseudo-accents, en-XA)"): they name a tool for developers.
    data.update(languages.NAMES.values())
    return Leftovers(data, set(Locale.parse(LOCALE).currency_symbols))


# --- the tests --------------------------------------------------------------------------------

def test_the_pseudo_catalog_translates_a_marked_text(app):
    """The set-up itself: a text the code marks comes out in brackets (or, before any text is
    marked, the catalog is simply empty)."""
    with app.test_request_context(), force_locale(LOCALE):
        assert gettext("Invoices") in {"Invoices", "[Îñṽöîçëš ~]"}
    with i18n.use_locale(LOCALE):
        assert str(i18n._("Invoices")) in {"Invoices", "[Îñṽöîçëš ~]"}


def test_the_check_finds_english_but_not_data_dates_amounts_or_addresses():
    leftovers = Leftovers({"Jane Cooper", "INV-000011", "12 Harbour Street\nBristol"}, {"USD"})
    page = """<html><head><title>[Ĥöɱë ~] · Jane Cooper</title><style>p{color:red}</style>
        <script>var english = "not shown";</script></head><body>
        <p>[Ĥëļļö [Jane Cooper] ~], jane@example.com INV-000011 US$369.40 1,332.00 USD</p>
        <p>Dec 28, 2026 · 28 Oct 2026 · Sep 2026 · 10:30 AM · /invoices/3 PDF
        12 Harbour Street<br>Bristol [Ŕëáð ţĥë <a href="/terms">ţëŕɱš</a>. ~~]</p>
        <input type="submit" value="[Šåṽë ~]"><input type="text" value="Typed text">
        <button aria-label="[Çļöšë ~]" title="[Çļöšë ~]">×</button></body></html>"""

    assert leftovers.in_document(page) == []
    english = page.replace("[Ĥëļļö [Jane Cooper] ~]", "Hello Jane Cooper") \
        .replace('title="[Çļöšë ~]"', 'title="Close"')
    assert leftovers.in_document(english) == [
        "'Hello' in \"[Ĥöɱë ~] · Jane Cooper Hello Jane Cooper, jane@example.com INV-00001\"",
        "'Close' in \"Close\" (an attribute)"]
    assert leftovers.in_document("Total: [Ţöţáļ ~]", html=False) == [
        "'Total' in \"Total: [Ţöţáļ ~]\""]


def test_the_customer_pages_have_no_english_left(app, client, auth, seeded, in_pseudo_locale):
    with app.app_context():
        invoice_id = invoices.payable_invoices(
            db.session, customer_id=seeded.jane_customer_id)[0].id
    assert auth.login().status_code in (302, 303)

    found = {}
    for path in CUSTOMER_PAGES:
        path = path.format(invoice_id=invoice_id)
        response = client.get(path)
        assert response.status_code == 200, path
        found[path] = in_pseudo_locale.in_document(response.get_data(as_text=True))

    assert_translated(found)


def test_the_admin_pages_have_no_english_left(app, client, auth, seeded, in_pseudo_locale):
    with app.app_context():
        session, customer = db.session, seeded.jane_customer_id
        ids = {"customer": customer, **{name: session.exec(
            sa_select(model.id).where(model.customer_id == customer)
            .order_by(model.id)).scalars().first()
            for name, model in (("subscription", Subscription), ("invoice", Invoice),
                                ("payment", Payment))}}
    assert auth.login(*demo.ADMIN).status_code in (302, 303)

    found = {}
    for page in ADMIN_PAGES:
        path = page.format(**ids)
        response = client.get(path)
        assert response.status_code == 200, path
        found[path] = in_pseudo_locale.in_document(response.get_data(as_text=True))

    assert_translated(found)


def test_an_invoice_mail_has_no_english_left(app, seeded, in_pseudo_locale):
    with app.app_context():
        session = db.session
        jane = session.get(Customer, seeded.jane_customer_id)
        invoice = invoices.payable_invoices(session, customer_id=jane.id)[0]
        row = outbox.enqueue(session, template="invoice_issued", to=jane.email,
                             subject=f"Invoice {invoice.number}", customer_id=jane.id,
                             now=FIXED_NOW,
                             context={"name": jane.display_name, "number": invoice.number,
                                      "amount": invoice.total, "currency": invoice.currency,
                                      "due_date": invoice.due_date.isoformat(),
                                      "page": outbox.page("invoices.detail",
                                                          invoice_id=invoice.id)})
        # The worker writes a customer's mail in their language (use_locale); so does this.
        with i18n.use_locale(LOCALE):
            message = outbox.build_message(session, row, mail_from="portal@example.com",
                                           now=FIXED_NOW,
                                           paths=lambda endpoint, values: "/invoices/1")

    found = {
        "invoice_issued (HTML)": in_pseudo_locale.in_document(
            message.get_body(preferencelist=("html",)).get_content()),
        "invoice_issued (text)": in_pseudo_locale.in_document(
            message.get_body(preferencelist=("plain",)).get_content(), html=False),
    }
    assert_translated(found)


def test_the_five_pdfs_have_no_english_left(app, seeded, in_pseudo_locale):
    """The invoice, credit note, receipt, estimate and statement, as their PDFs are made."""
    at = moment_on(FIXED_NOW.date(), FIXED_NOW)
    customer = seeded.jane_customer_id
    found = {}
    with app.app_context():
        session = db.session

        def first(model, *where):
            return session.exec(select(model.id).where(model.customer_id == customer, *where)
                                .order_by(model.id)).first()

        documents = {
            "invoice": invoices.payable_invoices(session, customer_id=customer)[0].id,
            "credit_note": first(CreditNote),
            "receipt": first(Payment, Payment.kind == "payment",
                             Payment.status == "succeeded"),
            "estimate": first(Estimate)}
        for kind, document_id in documents.items():
            assert document_id is not None, kind
            source = sources.document_source(
                session, kind=kind, customer_id=customer, document_id=document_id, at=at,
                page_url=lambda endpoint, values: "https://portal.example/invoices/1")
            # A PDF is written in its customer's language (use_locale), by the web or a worker.
            with i18n.use_locale(LOCALE):
                found[f"{source.template} ({kind} {document_id})"] = \
                    in_pseudo_locale.in_document(pdf.render_html(source.template, source.context))
        period = statements.preset_period("this_year", at.today)
        document = statements.load_statement_document(session, customer_id=customer,
                                                      period=period, at=at)
        context = {"org": document.org, "customer": document.statement.customer,
                   "statement": document.statement, "logo": document.logo}
        with i18n.use_locale(LOCALE):
            found["print/statement.html"] = in_pseudo_locale.in_document(
                pdf.render_html("print/statement.html", context))

    assert_translated(found)
