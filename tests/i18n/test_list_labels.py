"""A list's status labels, translated once for the list (`i18n.translated`), read in the
language of the moment the list is made: the customer's on their pages."""

from __future__ import annotations

from tests.factories import make_customer, make_invoice, moment_on
from webapp.services.billing import invoices
from webapp.services.billing.invoices import InvoiceFilters
from webapp.services.core import i18n


def test_the_labels_are_plain_text_in_the_language_of_the_moment():
    with i18n.use_locale("de_DE"):
        german = i18n.translated(invoices.STATUS_LABELS)
    with i18n.use_locale("fr_FR"):
        french = i18n.translated(invoices.STATUS_LABELS)
    assert german["paid"] == "Bezahlt" and type(german["paid"]) is str
    assert french["paid"] != german["paid"]
    assert set(german) == set(invoices.STATUS_LABELS)


def test_a_list_made_in_german_labels_each_row_in_german(session, now):
    customer = make_customer(session, now=now)
    for _ in range(3):
        make_invoice(session, customer=customer, now=now).status = "paid"
    session.flush()
    with i18n.use_locale("de_DE"):
        page = invoices.list_invoices(session, customer_id=customer.id,
                                      filters=InvoiceFilters(), at=moment_on(now.date()))
    assert [row.status_label for row in page.items] == ["Bezahlt"] * 3
    assert all(type(row.status_label) is str for row in page.items)
