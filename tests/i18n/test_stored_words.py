"""The billing core's own words on its records (core/wording.py): invoice lines, credit notes'
reasons and refunds' references are stored in English, as the record, and shown in the reader's
language; names, codes and numbers in them stay as they are, and text an admin typed is shown
as typed. So are the badges that name a day ("Endet am 06.01.2027"), one sentence each. The
German, French and Spanish are the real catalogs'.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlmodel import select

from tests.conftest import FIXED_NOW, Auth
from tests.factories import moment_on
from webapp import demo
from webapp.db import db
from webapp.models import (
    CreditNote,
    Customer,
    Invoice,
    InvoiceLine,
    Organization,
    Payment,
    Subscription,
    User,
    UserSession,
)
from webapp.services.billing import invoices, pricing
from webapp.services.billing.pricing import Charge, Discount
from webapp.services.core import i18n, pdf, wording
from webapp.services.core.dates import format_day
from webapp.services.core.money import format_money
from webapp.services.documents import sources

# Each text of ours with the values a record gives it.
SAMPLES = {
    wording.SETUP_FEE: {},
    wording.COUPON: {"code": "SAVE10", "name": "Ten off: spring (EU)"},
    wording.UNUSED: {"item": "Pro (10 of 30 days)"},
    wording.PRORATED: {"item": "Pro: annual (EU)", "days": "20", "term": "30"},
    wording.UNUSED_ON: {"number": "SUB-000004", "days": "10", "term": "30"},
    wording.CHANGE_CREDIT: {"number": "SUB-000004", "change": "Change plan to Pro, addons"},
    wording.VOIDED_PART: {"number": "INV-000012"},
    wording.PAYMENT_CREDIT: {"number": "PAY-000007"},
    wording.LATE_PAYMENT: {"number": "PAY-000007"},
    wording.VOIDED_REFUND: {"number": "INV-000012"},
    wording.CREDIT_REFUND: {"number": "PAY-000007"},
    wording.GATEWAY_REFUND: {},
    **{summary: {"plan": "Pro", "coupon": "SAVE10"} for summary in
       wording.CHANGE_SUMMARIES.values()},
}
LANGUAGES = ("de_DE", "fr_FR", "es_ES")
FIELD = re.compile(r"%\((\w+)\)s")


def _values(msgid: str) -> dict[str, str]:
    return {name: value for name, value in SAMPLES[msgid].items()
            if name in FIELD.findall(msgid)}


def _literal_words(msgid: str) -> set[str]:
    """The English words of a text's own (its fields blanked)."""
    return set(re.findall(r"[A-Za-z]{3,}", FIELD.sub(" ", msgid)))


def test_every_text_of_ours_reads_back_into_its_message_and_values():
    assert set(SAMPLES) == set(wording.TEXTS)
    for msgid in wording.TEXTS:
        values = _values(msgid)
        stored = wording.write(msgid, **values)
        assert wording.parse(stored) == (msgid, values), stored


def test_a_text_read_again_is_parsed_as_the_first_time_in_any_language():
    """`parse` is kept per text: a caller's change to the values it got is not kept, and
    the language is chosen after the parse, so one text reads into each reader's."""
    stored = "Unused time on SUB-000004 (10 of 30 days)"
    first = wording.parse(stored)
    first[1]["number"] = "changed by a caller"
    assert wording.parse(stored) == wording.parse(stored) != first
    assert wording.parse(stored)[1]["number"] == "SUB-000004"
    with i18n.use_locale("de_DE"):
        german = wording.reword_now(stored)
    assert german != wording.reword_now(stored) == stored and "10 von 30 Tagen" in german


@pytest.mark.parametrize("locale", LANGUAGES)
def test_every_text_of_ours_is_shown_in_the_readers_language(locale):
    for msgid in wording.TEXTS:
        values = _values(msgid)
        stored = wording.write(msgid, **values)
        with i18n.use_locale(locale):
            shown = wording.reword_now(stored)
        assert shown != stored, f"{stored!r} is shown in English in {locale}"
        for name, value in values.items():
            if name not in ("item", "change"):
                assert value in shown, (stored, shown)
        english = _literal_words(msgid) - {"SAVE", "Pro"}
        left = {word for word in english if re.search(rf"\b{word}\b", shown)}
        # "Plan" is German and Spanish too; a coupon is a "Coupon" in more than English.
        assert not left - {"Coupon", "plan"}, f"{shown!r} ({locale}) keeps {left}"


def test_the_figures_in_german_french_and_spanish():
    stored = ["Setup fee", "Coupon SAVE10: Ten off (20 of 30 days)",
              "Unused time: Pro (10 of 30 days)", "Unused time on SUB-000004 (10 of 30 days)",
              "Unused time on SUB-000004: Change plan to Pro, coupon SAVE10",
              "Credit from payment PAY-000007"]
    expected = {
        "de_DE": ["Einrichtungsgebühr", "Gutschein SAVE10: Ten off (20 von 30 Tagen)",
                  "Ungenutzte Zeit: Pro (10 von 30 Tagen)",
                  "Ungenutzte Zeit von SUB-000004 (10 von 30 Tagen)",
                  "Ungenutzte Zeit von SUB-000004: Tarifwechsel zu Pro, Gutschein SAVE10",
                  "Guthaben aus Zahlung PAY-000007"],
        "fr_FR": ["Frais de mise en service",
                  "Code promo SAVE10 : Ten off (20 jours sur 30)",
                  "Période non utilisée : Pro (10 jours sur 30)",
                  "Période non utilisée de SUB-000004 (10 jours sur 30)",
                  None, "Crédit issu du paiement PAY-000007"],
        "es_ES": ["Cuota de alta", "Cupón SAVE10: Ten off (20 de 30 días)",
                  "Tiempo no utilizado: Pro (10 de 30 días)",
                  "Tiempo no utilizado de SUB-000004 (10 de 30 días)",
                  None, "Saldo a favor del pago PAY-000007"],
    }
    for locale, texts in expected.items():
        with i18n.use_locale(locale):
            shown = [wording.reword_now(text) for text in stored]
        assert [s for s, e in zip(shown, texts, strict=True) if e is not None] == \
            [e for e in texts if e is not None], locale


def test_text_an_admin_typed_and_english_readers_see_it_as_stored():
    typed = ["Consulting, 3 hours", "Goodwill credit", "Cheque 0042", "", None]
    with i18n.use_locale("de_DE"):
        assert [wording.reword_now(text) for text in typed] == typed
    for msgid in wording.TEXTS:
        stored = wording.write(msgid, **_values(msgid))
        assert wording.reword_now(stored) == stored  # no language active: English


def test_the_values_of_a_stored_text_are_its_names_codes_and_numbers():
    assert wording.values_of("Unused time: Coupon SAVE10: Ten off (10 of 30 days)") == \
        ["SAVE10", "Ten off", "10", "30"]
    assert wording.values_of("Consulting, 3 hours") == ["Consulting, 3 hours"]


def test_pricing_writes_the_texts_the_wording_reads():
    priced = pricing.price([Charge("plan", "Pro", 1, 3000),
                            Charge("setup_fee", wording.SETUP_FEE, 1, 500, discountable=False)],
                           [Discount("SAVE10", "Ten off", percent_bp=1000)])
    proration = pricing.prorate([Charge("plan", "Basic", 1, 1000)],
                                [Charge("plan", "Pro", 1, 3000)], term_days=30, days_left=20)
    texts = [line.description for line in priced.lines] + \
        [c.description for c in (*proration.charges, *proration.credits)]

    assert texts == ["Pro", "Setup fee", "Coupon SAVE10: Ten off", "Pro (20 of 30 days)",
                     "Unused time: Basic (20 of 30 days)"]
    assert [wording.parse(text)[0] if wording.parse(text) else None for text in texts] == \
        [None, wording.SETUP_FEE, wording.COUPON, wording.PRORATED, wording.UNUSED]
    assert pricing.base_description(texts[-1]) == "Basic"  # a later change matches on it


# --- what a German customer reads ------------------------------------------------------------

@pytest.fixture
def german_records(app, seeded):
    """Jane reads German; her payable invoice holds lines the billing core wrote, she has a
    credit note for a plan change's unused time and a refund to credit."""
    with app.app_context():
        session = db.session
        jane = session.get(Customer, seeded.jane_customer_id)
        jane.locale = "de_DE"
        invoice = invoices.payable_invoices(session, customer_id=jane.id)[0]
        for position, text in enumerate(
                (wording.SETUP_FEE, "Coupon SAVE10: Ten off (20 of 30 days)",
                 "Unused time: Starter (10 of 30 days)"), start=90):
            session.add(InvoiceLine(invoice_id=invoice.id, position=position, kind="one_off",
                                    description=text, amount=0))
        note = CreditNote(number="CN-WORDS-1", customer_id=jane.id, currency=invoice.currency,
                          reason="Unused time on SUB-000001: Change plan to Pro", total=100,
                          balance=0, issue_date=FIXED_NOW.date(), status="closed",
                          created_at=FIXED_NOW)
        session.add(note)
        payment = session.exec(select(Payment).where(Payment.customer_id == jane.id)
                               .order_by(Payment.id)).first()
        payment.reference = "Refunded at the payment processor"
        session.commit()
        return {"invoice_id": invoice.id, "note_id": note.id, "payment_id": payment.id}


GERMAN_LINES = ("Einrichtungsgebühr", "Gutschein SAVE10: Ten off (20 von 30 Tagen)",
                "Ungenutzte Zeit: Starter (10 von 30 Tagen)")
GERMAN_REASON = "Ungenutzte Zeit von SUB-000001: Tarifwechsel zu Pro"


def _assert_german(html: str, german: tuple[str, ...], english: tuple[str, ...]) -> None:
    for text in german:
        assert text in html
    for text in english:
        assert text not in html


def test_a_german_customer_reads_the_lines_reasons_and_references_in_german(
        client, auth, german_records):
    assert auth.login().status_code in (302, 303)

    invoice = client.get(f"/invoices/{german_records['invoice_id']}").get_data(as_text=True)
    credits = client.get("/credits").get_data(as_text=True)
    swapped = client.get("/credits", headers={"HX-Request": "true"}).get_data(as_text=True)
    detail = client.get(f"/credits/{german_records['note_id']}").get_data(as_text=True)
    receipt = client.get(f"/payments/{german_records['payment_id']}").get_data(as_text=True)

    _assert_german(invoice, GERMAN_LINES, ("Setup fee", "Unused time", "of 30 days"))
    for page in (credits, swapped, detail):
        _assert_german(page, (GERMAN_REASON,), ("Unused time", "Change plan"))
    assert "<html" not in swapped  # the htmx swap is the list alone
    _assert_german(receipt, ("Beim Zahlungsdienstleister erstattet",),
                   ("Refunded at the payment processor",))


def test_a_german_customers_invoice_and_credit_note_pdfs_are_in_german(app, seeded,
                                                                      german_records):
    at = moment_on(FIXED_NOW.date(), FIXED_NOW)
    with app.app_context():
        page_url = lambda endpoint, values: "https://portal.example/"  # noqa: E731
        invoice = sources.invoice_source(db.session, customer_id=seeded.jane_customer_id,
                                         invoice_id=german_records["invoice_id"], at=at,
                                         page_url=page_url)
        note = sources.credit_note_source(db.session, customer_id=seeded.jane_customer_id,
                                          credit_note_id=german_records["note_id"], at=at)
        with i18n.use_locale("de_DE"):
            invoice_html = pdf.render_html(invoice.template, invoice.context)
            note_html = pdf.render_html(note.template, note.context)

    _assert_german(invoice_html, GERMAN_LINES, ("Setup fee", "Unused time"))
    _assert_german(note_html, (GERMAN_REASON,), ("Unused time",))


# --- a badge that names its day: one sentence, so a language orders it its own way -------------

def test_a_dated_badge_is_one_translated_sentence(app, client, auth, seeded):
    ends = date(2027, 1, 6)
    with app.app_context():
        session = db.session
        session.get(Customer, seeded.jane_customer_id).locale = "de_DE"
        sub = session.exec(select(Subscription).where(
            Subscription.customer_id == seeded.jane_customer_id,
            Subscription.status == "live").order_by(Subscription.id)).first()
        sub.status, sub.current_term_end = "non_renewing", ends
        session.commit()
    assert auth.login().status_code in (302, 303)

    listed = client.get("/subscriptions").get_data(as_text=True)
    swapped = client.get("/subscriptions", headers={"HX-Request": "true"}).get_data(as_text=True)

    badge = f"Endet am {format_day(ends, 'de_DE')}</span>"
    assert badge in listed and badge in swapped
    assert "Ends on" not in listed


# --- an admin's own locale writes the back office's dates and amounts too ----------------------

def test_an_admins_own_locale_writes_the_back_offices_dates_and_amounts(app, client, auth,
                                                                       seeded):
    with app.app_context():
        session = db.session
        admin = session.exec(select(User).where(User.email == demo.ADMIN[0])).one()
        invoice = session.exec(select(Invoice).where(
            Invoice.customer_id == seeded.jane_customer_id).order_by(Invoice.id)).first()
        org_locale = session.get(Organization, 1).locale
        admin.locale = "de_DE"
        session.commit()
    assert auth.login(*demo.ADMIN).status_code in (302, 303)

    page = client.get("/admin/invoices").get_data(as_text=True)

    german_day = format_day(invoice.issue_date, "de_DE")
    assert german_day in page  # "29.09.2026", where the organization writes "29 Sept 2026"
    assert format_day(invoice.issue_date, org_locale) not in page
    assert format_money(invoice.total, invoice.currency, "de_DE") in page


# --- a sign-in's device: stored "Mobile Safari on iOS", read "Mobile Safari auf iOS" -----------

PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


def test_a_german_customer_reads_their_devices_in_german(app, seeded):
    with app.app_context():
        db.session.get(Customer, seeded.jane_customer_id).locale = "de_DE"
        db.session.commit()
    phone, laptop = app.test_client(), app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = PHONE
    for browser in (phone, laptop):
        assert Auth(browser).login().status_code in (302, 303)
    with app.app_context():
        stored = set(db.session.exec(select(UserSession.device)).all())

    page = laptop.get("/account").get_data(as_text=True)

    assert {"Mobile Safari on iOS", "Unknown browser"} <= stored  # the record stays English
    assert "Mobile Safari auf iOS" in page and "Unbekannter Browser" in page
    assert "Mobile Safari on iOS" not in page and "Unknown browser" not in page
    with i18n.use_locale("fr_FR"):
        assert wording.device_now("Chrome on macOS") == "Chrome sur macOS"
    with i18n.use_locale("es_ES"):
        assert wording.device_now("Unknown browser") == "Navegador desconocido"
    assert wording.device_now("Consulting on site") == "Consulting on site"  # English: as is
    with i18n.use_locale("de_DE"):  # and a billing text never reads as a device, nor back
        assert wording.reword_now("Work on site") == "Work on site"
