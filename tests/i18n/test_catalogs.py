"""The German, French and Spanish catalogs translate every text the code marks (issue 33).

The texts come from the code itself, extracted in-process the way `make translations` does
(babel.cfg, the Makefile's keywords: webapp.i18n_tools.extract), so a text wrapped after the
catalogs were last updated is reported here too. Each catalog must have every msgid with a
translation that is not empty, not fuzzy, in every plural form, and with the same
placeholders: `%(amount)s` in the msgid, `%(amount)s` in the translation.
"""

from __future__ import annotations

import re

import pytest
from babel.messages import Catalog

from webapp.i18n_tools import extract, read_catalog
from webapp.services.core.i18n import TRANSLATIONS_DIR

LANGUAGES = ("de", "fr", "es")
SHOWN = 40  # problems listed per language; the rest are counted

# "%(amount)s", "%(num)d", "%(rate).1f" and a Dated message's "{on}"; "%%" is not one.
_PLACEHOLDER = re.compile(r"%\([^)]*\)[#0 +-]*(?:\d+)?(?:\.\d+)?[diouxXeEfFgGcrsa]|\{[^{}]*\}")


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def code_messages() -> Catalog:
    return extract(strict=True)


def _label(message) -> str:
    msgid = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
    where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
    context = f" (context {message.context!r})" if message.context else ""
    return f"{msgid!r}{context} [{where}]"


def problems_in(catalog: Catalog, code_messages: Catalog) -> list[str]:
    """What is missing or wrong in `catalog` for the messages the code marks."""
    found = []
    for message in code_messages:
        if not message.id:
            continue
        translated = catalog.get(message.id, context=message.context)
        if translated is None:
            found.append(f"missing: {_label(message)}")
            continue
        if translated.fuzzy:
            found.append(f"fuzzy: {_label(message)}")
            continue
        if isinstance(message.id, (list, tuple)):
            strings = translated.string if isinstance(translated.string, (list, tuple)) else ()
            if len(strings) != catalog.num_plurals or not all(s.strip() for s in strings):
                found.append(f"not every plural form ({catalog.num_plurals}) translated: "
                             f"{_label(message)}")
                continue
            # The form for one may leave out %(num)d ("une facture"); the rest is the same.
            wanted = placeholders(message.id[0]) | placeholders(message.id[1])
            for form in strings:
                if placeholders(form) - {"%(num)d"} != wanted - {"%(num)d"} or \
                        not placeholders(form) <= wanted:
                    found.append(f"placeholders {sorted(placeholders(form))} instead of "
                                 f"{sorted(wanted)}: {_label(message)} -> {form!r}")
                    break
        else:
            if not (translated.string or "").strip():
                found.append(f"untranslated: {_label(message)}")
                continue
            if placeholders(translated.string) != placeholders(message.id):
                found.append(f"placeholders {sorted(placeholders(translated.string))} instead "
                             f"of {sorted(placeholders(message.id))}: {_label(message)} -> "
                             f"{translated.string!r}")
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_translates_every_text_the_code_marks(language, code_messages):
    path = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"
    assert path.exists(), (f"{path.relative_to(TRANSLATIONS_DIR.parent.parent)} does not "
                           "exist: `make translations` creates it, then translate it")
    catalog = read_catalog(path, locale=language)

    found = problems_in(catalog, code_messages)

    assert not found, (f"{language}: {len(found)} of {len(code_messages)} texts are not "
                       f"ready in {path.name}:\n  " + "\n  ".join(found[:SHOWN])
                       + (f"\n  ... and {len(found) - SHOWN} more" if len(found) > SHOWN else ""))


def test_the_check_reports_what_is_missing_fuzzy_or_has_other_placeholders():
    code = Catalog()
    for msgid in ["Invoices", "Pay %(amount)s now", "Due on {on}", "Profile", "Open",
                  ("%(num)d invoice", "%(num)d invoices"), ("%(num)d day", "%(num)d days")]:
        code.add(msgid, locations=[("webapp/x.html", 1)])
    catalog = Catalog(locale="de")  # two plural forms
    catalog.add("Invoices", "Rechnungen")
    catalog.add("Pay %(amount)s now", "Jetzt %(betrag)s bezahlen")
    catalog.add("Due on {on}", "Fällig am {on}")
    catalog.add("Profile", "Profil", flags=["fuzzy"])
    catalog.add("Open", "")
    catalog.add(("%(num)d invoice", "%(num)d invoices"), ("eine Rechnung", "%(num)d Rechnungen"))
    catalog.add(("%(num)d day", "%(num)d days"), ("%(num)d Tag", ""))

    found = problems_in(catalog, code)

    assert found == [
        "placeholders ['%(betrag)s'] instead of ['%(amount)s']: 'Pay %(amount)s now' "
        "[webapp/x.html:1] -> 'Jetzt %(betrag)s bezahlen'",
        "fuzzy: 'Profile' [webapp/x.html:1]",
        "untranslated: 'Open' [webapp/x.html:1]",
        "not every plural form (2) translated: '%(num)d day' [webapp/x.html:1]",
    ]
