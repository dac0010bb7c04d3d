"""The pseudo-locales en_XA and ar_XB, made known to Babel.

`python -m webapp.i18n_tools pseudo` writes their catalogs (webapp/translations/en_XA: every
text accented, longer and in [brackets]; ar_XB: the same, right to left), so a page shows at a
glance which of its words are not translatable, which do not fit, and how it looks mirrored.

CLDR has no data for these two identifiers, so `Locale.parse("en_XA")` (Flask-Babel's locale
selector, the money and date filters, `i18n.translations_for`) would raise UnknownLocaleError.
`register()` gives them the data of their base locale: en_XA formats numbers and dates as
"en", ar_XB as "ar" (right-to-left, Arabic plural rules). It runs once when
webapp.services.core is imported (every layer that formats or translates imports it).
"""

from __future__ import annotations

from babel import localedata

# Each pseudo-locale and the CLDR locale whose data it borrows.
PSEUDO_LOCALES: dict[str, str] = {"en_XA": "en", "ar_XB": "ar"}


def register() -> None:
    """Let Babel parse and format the pseudo-locales (idempotent)."""
    missing = [code for code in PSEUDO_LOCALES if code not in localedata._cache]
    if not missing:
        return
    for code in missing:
        # localedata.load() answers from this cache before it looks for a data file; a copy,
        # so the base locale's own data is never changed through it.
        localedata._cache[code] = localedata.load(PSEUDO_LOCALES[code]).copy()
    localedata.exists.cache_clear()  # it may have answered False for them already
