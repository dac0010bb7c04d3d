"""Tiny compiled catalogs written at test time, so a test can see the words change language
without the real catalogs: `catalogs.write("de", {"Language": "Sprache"})`.

`service_catalogs` points services/core/i18n.py (services, PDFs, mail, and which languages
are available) at a temporary, empty catalog directory; `catalogs` points the app's
Flask-Babel (pages) there too. Every cache of what was found there is emptied before and
after the test. Only English is available until a test writes a catalog."""

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


def write_catalog(root: Path, language: str, messages: dict[str, str]) -> None:
    """root/<language>/LC_MESSAGES/messages.mo with these translations."""
    catalog = Catalog(locale=None if languages.is_pseudo(language) else language)
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    folder = root / language / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "messages.mo", "wb") as out:
        write_mo(out, catalog)


class Catalogs:
    def __init__(self, root: Path, app=None) -> None:
        self.root, self.app = root, app

    def write(self, language: str, messages: dict[str, str]) -> None:
        write_catalog(self.root, language, messages)
        self.forget()

    def forget(self) -> None:
        i18n.translations_for.cache_clear()
        languages.refresh()
        if self.app is not None:
            with self.app.app_context():
                babel.domain_instance.cache.clear()  # Flask-Babel's (locale, domain) cache


@pytest.fixture
def service_catalogs(tmp_path, monkeypatch) -> Iterator[Catalogs]:
    root = tmp_path / "translations"
    root.mkdir()
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", root)
    catalogs = Catalogs(root)
    catalogs.forget()
    yield catalogs
    catalogs.forget()


@pytest.fixture
def catalogs(app, service_catalogs, monkeypatch) -> Iterator[Catalogs]:
    root = service_catalogs.root
    monkeypatch.setitem(app.config, "BABEL_TRANSLATION_DIRECTORIES", str(root))
    monkeypatch.setattr(app.extensions["babel"], "translation_directories", [str(root)])
    catalogs = Catalogs(root, app)
    catalogs.forget()
    yield catalogs
    catalogs.forget()
