"""The accountant pack: for a date range, one ZIP with the statement PDF, the PDF of every
invoice, credit note and receipt (payments and refunds) on it, and its transactions as CSV.

Built in a job (webapp/services/document_jobs.py): `load_pack` reads every row the pack needs,
then `AccountantPack.render` makes the files with no database, reporting progress per document.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from webapp.services.core import i18n, pdf, spreadsheets
from webapp.services.core.dates import Moment
from webapp.services.core.i18n import N_, _, gettext_now
from webapp.services.core.money import to_decimal
from webapp.services.documents import sources, statements

ZIP_MEDIA_TYPE = "application/zip"
Report = Callable[[int], None]

# Statement entry kind -> (document kind, folder in the ZIP).
_PACKED = {"invoice": ("invoice", "invoices"), "credit_note": ("credit_note", "credit-notes"),
           "credit_application": ("credit_note", "credit-notes"),
           "payment": ("receipt", "receipts"), "refund": ("receipt", "receipts")}
# The CSV's header row, written in the customer's language (`transactions_csv`).
CSV_HEADER = (N_("Date"), N_("Type"), N_("Number"), N_("Details"), N_("Debit"), N_("Credit"),
              N_("Balance"), N_("Currency"))


@dataclass(frozen=True)
class PackedDocument:
    folder: str
    source: pdf.DocumentSource


def filename_for(period: statements.StatementPeriod) -> str:
    return f"accountant-pack-{period.start.isoformat()}-to-{period.end.isoformat()}.zip"


def transactions_csv(statement: statements.Statement) -> str:
    """The statement's rows as CSV: amounts in major units (exact decimals, written as
    numbers), opening first; text cells escaped so none is a formula (services/spreadsheets).
    Its words (header, row types) in the language active (the pack's: its customer's)."""
    currency = statement.currency

    def amount(value: int) -> Decimal | str:
        return to_decimal(value, currency) if value else ""

    out = io.StringIO()
    writer = spreadsheets.writer(out)
    writer.writerow([gettext_now(name) for name in CSV_HEADER])
    opening = statement.summary.opening
    writer.writerow([statement.period.start.isoformat(), str(_("Opening Balance")), "",
                     "", "", "", to_decimal(opening, currency), currency])
    for entry in statement.entries:
        details = str(_("Due %(date)s", date=entry.due_date.isoformat())) \
            if entry.due_date else \
            f"{amount(entry.applied)} {entry.details}" if entry.applied else entry.details
        writer.writerow([entry.on.isoformat(), _label(entry.label), entry.number, details,
                         amount(entry.debit), amount(entry.credit),
                         to_decimal(entry.balance, currency), currency])
    return out.getvalue()


def _label(label: object) -> str:
    """A row's type in the active language: the service's label is an `N_` constant or a lazy
    text (translated when made str)."""
    return gettext_now(label) if isinstance(label, str) and label else str(label)


@dataclass(frozen=True)
class AccountantPack:
    statement: statements.StatementDocument
    documents: tuple[PackedDocument, ...]

    def render(self, report: Report | None = None) -> pdf.Document:
        """The ZIP; `report(percent)` hears how far it has got (20-95 over the documents)."""
        report = report or (lambda _percent: None)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            statement_pdf = self.statement.render()
            archive.writestr(statement_pdf.filename, statement_pdf.content)
            # The CSV's words in its customer's language, as the statement's PDF.
            loaded = self.statement
            with i18n.use_locale(pdf.document_locale({"org": loaded.org,
                                                      "customer": loaded.statement.customer})):
                archive.writestr("transactions.csv", transactions_csv(loaded.statement))
            for index, packed in enumerate(self.documents, start=1):
                rendered = packed.source.render()
                archive.writestr(f"{packed.folder}/{rendered.filename}", rendered.content)
                report(20 + 75 * index // len(self.documents))
        return pdf.Document(filename_for(self.statement.statement.period),
                            buffer.getvalue(), ZIP_MEDIA_TYPE)


def load_pack(session: Session, *, customer_id: int, period: statements.StatementPeriod,
              at: Moment, page_url: pdf.PageUrl | None = None) -> AccountantPack:
    """Load everything the pack for this range holds (each document once)."""
    loaded = statements.load_statement_document(session, customer_id=customer_id,
                                                period=period, at=at)
    packed, seen = [], set()
    for entry in loaded.statement.entries:
        kind, folder = _PACKED[entry.kind]
        if (kind, entry.document_id) in seen:
            continue
        seen.add((kind, entry.document_id))
        packed.append(PackedDocument(folder, sources.document_source(
            session, kind=kind, customer_id=customer_id, document_id=entry.document_id, at=at,
            page_url=page_url)))
    return AccountantPack(loaded, tuple(packed))
