"""CSV the portal writes: a text cell never starts a formula; numbers stay numbers."""

import csv
import io
from decimal import Decimal

import pytest

from webapp.services.admin import importer
from webapp.services.core import i18n, spreadsheets, wording


@pytest.mark.parametrize("typed", ["=1+1", "+44 20 7946 0000", "-2+3", "@SUM(A1)", "\tx", "\rx",
                                   '=HYPERLINK("http://evil.example","x")'])
def test_a_text_cell_that_would_start_a_formula_gets_a_leading_quote(typed):
    assert spreadsheets.cell(typed) == "'" + typed
    assert spreadsheets.unescape(spreadsheets.cell(typed)) == typed


@pytest.mark.parametrize("value", ["Jane", "2026-06-01", "", Decimal("-5.00"), -500, "'quoted"])
def test_other_cells_are_written_as_they_are(value):
    assert spreadsheets.cell(value) == value


def test_the_writer_escapes_text_and_leaves_numbers_alone():
    out = io.StringIO()
    spreadsheets.writer(out).writerow(["=cmd|'/c calc'!A0", Decimal("-5.00"), "-5.00 text"])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == \
        ["'=cmd|'/c calc'!A0", "-5.00", "'-5.00 text"]


def test_the_import_example_file_is_written_safely_too():
    rows = list(csv.reader(io.StringIO(importer.template_csv(importer.CUSTOMERS))))
    assert rows[1][3] == "'+44 20 7946 0000"


def test_a_lazy_text_is_text_and_escaped_too():
    """A service's lazy text (a credit note's stored reason, reworded when written) is not a
    str until written: it is escaped like one (the reason below was typed by an admin)."""
    typed = '=HYPERLINK("http://evil.example","refund")'
    assert spreadsheets.cell(wording.reword(typed)) == "'" + typed
    assert spreadsheets.cell(i18n._("Credit note")) == "Credit note"
