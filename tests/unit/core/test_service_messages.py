"""The services' messages in the reader's language (issue 33): domain errors are lazy texts,
Dated messages are msgids translated when they are written, then filled in for the locale.
A tiny French catalog is made for the test: the real catalogs are not needed."""

from __future__ import annotations

import json
from datetime import date

import pytest

from webapp.services.core import i18n, state_machine
from webapp.services.core.dates import Dated, dated, interval_label, plain, say
from webapp.services.core.errors import IllegalTransition, InvalidInput, NotFound
from webapp.services.core.money import Amount

FRENCH = {
    "Not found.": "Introuvable.",
    "%(number)s pauses on %(pause_on)s and resumes on %(resume_on)s.":
        "%(number)s est suspendu le %(pause_on)s et reprend le %(resume_on)s.",
    "Change plan to %(plan)s": "Changer de formule pour %(plan)s",
    "%(summary)s: done.": "%(summary)s : fait.",
    "A trial subscription cannot %(action)s.":
        "Un abonnement en période d'essai ne peut pas %(action)s.",
    "be activated": "être activé",
    ("every month", "every %(num)d months"):  # fr: one, many, other
        ("tous les mois", "tous les %(num)d mois", "tous les %(num)d mois"),
}


@pytest.fixture
def french(service_catalogs):
    """A compiled fr catalog in a temporary translations directory."""
    service_catalogs.write("fr", FRENCH)


def test_a_domain_error_is_written_in_the_language_active_when_it_is_shown(french):
    error = NotFound()
    assert str(error) == "Not found."  # English outside any language
    with i18n.use_locale("fr_FR"):
        assert str(error) == "Introuvable."
        assert say(error.message) == "Introuvable."
    assert error.message == "Not found."  # a lazy text compares as its English


def test_a_state_machine_refusal_is_one_sentence_per_state(french):
    with pytest.raises(IllegalTransition) as refused:
        state_machine.check("trial", "reactivate")
    assert str(refused.value) == "A trial subscription cannot be reactivated."
    with i18n.use_locale("fr_FR"):
        with pytest.raises(IllegalTransition) as refused:
            state_machine.check("trial", "reactivate")
        assert "ne peut pas" in str(refused.value)
        with pytest.raises(IllegalTransition) as refused:
            state_machine.check("live", "activate")
        assert str(refused.value) == "A live subscription cannot être activé."  # half known


def test_a_dated_message_is_translated_first_then_filled_in_for_the_locale(french):
    message = dated("%(number)s pauses on %(pause_on)s and resumes on %(resume_on)s.",
                    number="SUB-1", pause_on=date(2026, 12, 28), resume_on=date(2027, 1, 4))
    assert message.format("en_US") == "SUB-1 pauses on Dec 28, 2026 and resumes on Jan 4, 2027."
    with i18n.use_locale("fr_FR"):
        assert message.format("fr_FR") == \
            "SUB-1 est suspendu le 28 déc. 2026 et reprend le 4 janv. 2027."


def test_a_dated_message_survives_json_with_texts_amounts_and_a_nested_message(french):
    summary = dated("Change plan to %(plan)s", plan="Pro {x} 100%")
    message = dated("%(summary)s: done.", summary=summary) + plain(" — {as it is} %(x)s") \
        + dated("%(total)s", total=Amount(1000, "EUR"))
    again = Dated.from_json(json.loads(json.dumps(message.as_json())))
    assert again == message
    assert again.format("en_US") == "Change plan to Pro {x} 100%: done. — {as it is} %(x)s€10.00"
    with i18n.use_locale("fr_FR"):
        assert again.format("fr_FR") == \
            "Changer de formule pour Pro {x} 100% : fait. — {as it is} %(x)s10,00\u00a0€"


def test_a_message_stored_before_the_translation_reads_as_it_did():
    """An outbox row written with the old "{name}" fields keeps working."""
    old = {"text": "SUB-1 (50% off) is due on {on}; {{braces}} stay.",
           "values": {"on": "2026-12-10"}}
    assert Dated.from_json(old).format("en_US") == \
        "SUB-1 (50% off) is due on Dec 10, 2026; {braces} stay."
    assert Dated.from_json({"text": "100% {{x}}", "values": {}}).format() == "100% {x}"


def test_a_field_error_keeps_its_lazy_text_until_the_form_shows_it(french):
    error = InvalidInput(i18n._("Not found."), field="x")
    with i18n.use_locale("fr_FR"):
        assert f"{error.message}" == "Introuvable."
    assert f"{error.message}" == "Not found."


def test_an_interval_reads_in_the_readers_language(french):
    assert str(interval_label("month")) == "every month"
    assert str(interval_label("month", 3)) == "every 3 months"
    with i18n.use_locale("fr_FR"):
        assert str(interval_label("month", 3)) == "tous les 3 mois"
