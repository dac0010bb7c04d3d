"""What the portal accepts as text, ids and dates from people and URLs (issue 21).

One set of rules, applied centrally: by every form (webapp/forms.py), by the list filters
(services/listing.py), by the CSV import and by the request guard (webapp/inputs.py).

- Line breaks: CRLF and CR become LF first.
- Control characters (NUL, C0, DEL, C1) are refused, never stripped; tab and LF are allowed
  only in multi-line text (textareas, CSV files).
- Single-line text (names, subjects, emails, references) is normalised to NFC and also
  refuses the bidi embedding, override and isolate characters (U+202A–202E, U+2066–2069),
  needs at least one visible character, and allows the zero-width joiner and non-joiner
  only between letters (Persian and Indic names need them there).
- Ids fit PostgreSQL's integer column (0 … 2^31−1); dates lie between DATE_MIN and DATE_MAX.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from webapp.services.core.i18n import _

MAX_ID = 2**31 - 1  # PostgreSQL `integer`; SQLite's own limit (2^63) is further out
DATE_MIN, DATE_MAX = date(2000, 1, 1), date(2099, 12, 31)
MULTI_LINE_ALLOWED = frozenset("\t\n")
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
JOINERS = frozenset("\u200c\u200d")  # ZWNJ, ZWJ


class TextRefused(ValueError):
    """The text holds a character the portal does not accept; the message says which."""

    def __init__(self, message: str) -> None:  # a lazy text (`i18n._`)
        super().__init__(message)
        self.message = message


def _code(char: str) -> str:
    return f"U+{ord(char):04X}"


def normalise_newlines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _refuse_controls(value: str, allowed: frozenset[str]) -> None:
    for char in value:
        if unicodedata.category(char) == "Cc" and char not in allowed:
            if char == "\n":
                raise TextRefused(_("This field cannot contain a line break."))
            if char == "\t":
                raise TextRefused(_("This field cannot contain a tab."))
            raise TextRefused(_("This field cannot contain a control character (%(code)s).",
                                code=_code(char)))


def multi_line(value: str) -> str:
    """Multi-line text: line breaks made LF; NUL and controls other than tab and LF refused."""
    value = normalise_newlines(value)
    _refuse_controls(value, MULTI_LINE_ALLOWED)
    return value


def _is_letter(char: str) -> bool:
    return unicodedata.category(char)[0] in "LM"


def _visible(char: str) -> bool:
    return unicodedata.category(char)[0] not in "ZC"


def single_line(value: str) -> str:
    """One line of text (a name, a subject, an email): NFC, and every rule above."""
    value = unicodedata.normalize("NFC", normalise_newlines(value))
    _refuse_controls(value, frozenset())
    for index, char in enumerate(value):
        if char in BIDI_CONTROLS:
            raise TextRefused(_("This field cannot contain an invisible text-direction "
                                "character (%(code)s).", code=_code(char)))
        if char in JOINERS and not (0 < index < len(value) - 1 and _is_letter(value[index - 1])
                                    and _is_letter(value[index + 1])):
            raise TextRefused(_("A zero-width joiner or non-joiner (%(code)s) is accepted "
                                "only between letters.", code=_code(char)))
    if value and not any(_visible(char) for char in value):
        raise TextRefused(_("Enter at least one visible character."))
    return value


def secret(value: str) -> str:
    """A password: kept exactly as typed (no normalising), but never with control characters."""
    _refuse_controls(value, frozenset())
    return value


def id_in_range(value: int) -> bool:
    return 0 <= value <= MAX_ID


def date_in_range(value: date) -> bool:
    return DATE_MIN <= value <= DATE_MAX


DATE_RANGE_MESSAGE = _("Enter a date between the years %(first)d and %(last)d.",
                       first=DATE_MIN.year, last=DATE_MAX.year)


# A tax number as written on invoices (VAT, EIN, ABN, GST, Steuernummer...): letters, digits
# and the separators countries print, starting and ending with a letter or digit.
_TAX_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ./-")
TAX_ID_MESSAGE = _("Enter a tax ID of 4 to 30 letters and digits, such as GB123456789 or "
                   "DE 123/456/78901.")


def tax_id(value: str | None) -> str:
    """A typed tax number as stored: spaces trimmed, upper-case (check it with tax_id_error)."""
    return (value or "").strip().upper()


def tax_id_error(value: str) -> str | None:
    """Why a cleaned tax number (`tax_id`) cannot be used; None when it can (or is empty)."""
    if not value:
        return None
    if (not 4 <= len(value) <= 30 or not set(value) <= _TAX_ID_CHARS
            or not value[0].isalnum() or not value[-1].isalnum()
            or not any(ch.isdigit() for ch in value)):
        return TAX_ID_MESSAGE
    return None
