"""Tiny compiled catalogs written at test time, so a test can see the words change language
without the real catalogs: `catalogs.write("de", {"Language": "Sprache"})`. Both readers of
the catalog directory are pointed at a temporary one (Flask-Babel's, for pages, and
services/core/i18n.py's, for services, PDFs and mail), and every cache of what was found there
is emptied before and after the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages import Catalog
from babel.messages.mofile import write_mo

from webapp.extensions import babel
from webapp.services.core import i18n, languages

# What the tests' German says (the switcher's own words and the 400 page's).
GERMAN = {
    "Language": "Sprache",
    "Change language": "Sprache ändern",
    "Your language also sets how dates and amounts are written for you, on your pages, "
    "documents and emails.": "Ihre Sprache legt auch fest, wie Daten und Beträge für Sie "
                              "geschrieben werden.",
    "Language not available": "Sprache nicht verfügbar",
    "Choose one of the languages offered.": "Wählen Sie eine der angebotenen Sprachen.",
}


def _forget(app) -> None:
    i18n.translations_for.cache_clear()
    languages.refresh()
    with app.app_context():
        babel.domain_instance.cache.clear()  # Flask-Babel's (locale, domain) -> translations


class Catalogs:
    def __init__(self, app, root: Path) -> None:
        self.app, self.root = app, root

    def write(self, language: str, messages: dict[str, str]) -> None:
        catalog = Catalog(locale=language if not languages.is_pseudo(language) else None)
        for msgid, msgstr in messages.items():
            catalog.add(msgid, msgstr)
        folder = self.root / language / "LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "messages.mo", "wb") as out:
            write_mo(out, catalog)
        _forget(self.app)


@pytest.fixture
def catalogs(app, tmp_path, monkeypatch) -> Iterator[Catalogs]:
    """An empty catalog directory (English only) for this test's app; `write` adds one."""
    root = tmp_path / "translations"
    root.mkdir()
    monkeypatch.setitem(app.config, "BABEL_TRANSLATION_DIRECTORIES", str(root))
    monkeypatch.setattr(app.extensions["babel"], "translation_directories", [str(root)])
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", root)
    _forget(app)
    yield Catalogs(app, root)
    _forget(app)
