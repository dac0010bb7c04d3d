"""Every CSV the portal writes goes through `writer`: no cell is a formula (CSV injection).

Excel, LibreOffice and Google Sheets run a cell that begins with "=", "+", "-" or "@" (and,
after trimming, one that begins with a tab or CR) as a formula, so text a customer or an
admin typed (`=HYPERLINK(...)`) could act when an accountant opens the file. A *text* cell
beginning with one of them gets a leading "'", which the spreadsheet shows as text and does
not display. Numbers are passed as numbers (int or Decimal) and written as they are, so
-5.00 stays a number. The import reads the portal's own files back (`unescape`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

from babel.support import LazyProxy

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A text cell made safe to open; any other value (a number, a date) unchanged. A lazy
    text (`i18n._`, a stored text reworded) is text: written out, then escaped."""
    if isinstance(value, LazyProxy):
        value = str(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unescape(value: str) -> str:
    """The text `cell` escaped, as it was typed (for CSV files read back in)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


class SafeWriter:
    """csv.writer, with every text cell through `cell`."""

    def __init__(self, out: TextIO, **kwargs) -> None:
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: TextIO, **kwargs) -> SafeWriter:
    return SafeWriter(out, **kwargs)
