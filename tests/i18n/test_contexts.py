"""One English word with two meanings gets one catalog entry each (msgctxt): the admin
subscription page's "Cancel" heading is not a form's "Cancel" link."""

from __future__ import annotations

from jinja2 import Environment

from webapp.services.core import i18n


def test_a_context_picks_its_own_translation_in_a_template():
    env = Environment(autoescape=True)
    i18n.install_jinja(env)
    template = env.from_string('{{ pgettext("subscription", "Cancel") }}|{{ _("Cancel") }}')

    with i18n.use_locale("de_DE"):
        assert template.render() == "Kündigen|Abbrechen"
    with i18n.use_locale("fr_FR"):
        assert template.render() == "Résilier|Annuler"
    assert template.render() == "Cancel|Cancel"
