"""The portal's text rules (services/core/text.py): one filter for every form, filter and import."""

import pytest

from webapp.services.core import text


@pytest.mark.parametrize(("typed", "kept"), [
    ("Jane Cooper", "Jane Cooper"),
    ("Jose\u0301", "José"),  # NFC
    ("فرهاد\u200cی", "فرهاد\u200cی"),  # ZWNJ between letters
    ("क्\u200dष", "क्\u200dष"),  # ZWJ after a virama (a mark), before a letter
    ("O\u2019Brien \u00e9\u200f", "O\u2019Brien \u00e9\u200f"),  # the RLM mark is not a control
])
def test_single_line_text_is_kept_in_nfc(typed, kept):
    assert text.single_line(typed) == kept


@pytest.mark.parametrize(("typed", "says"), [
    ("a\x00b", "control character (U+0000)"),
    ("bell\x07", "control character (U+0007)"),
    ("\x1b[31m", "control character (U+001B)"),
    ("c1\x85", "control character (U+0085)"),
    ("del\x7f", "control character (U+007F)"),
    ("two\r\nlines", "a line break"),
    ("tab\there", "a tab"),
    ("evil\u202etxt.exe", "text-direction character (U+202E)"),
    ("\u2067isolate", "text-direction character (U+2067)"),
    ("\u200b\u200b\u200b", "at least one visible character"),
    ("   ", "at least one visible character"),
    ("\u200dJane", "only between letters"),
    ("Jane \u200c", "only between letters"),
])
def test_single_line_text_refuses_controls_bidi_and_invisible_names(typed, says):
    with pytest.raises(text.TextRefused) as refused:
        text.single_line(typed)
    assert says in refused.value.message


def test_multi_line_text_turns_crlf_and_cr_into_lf_and_keeps_tabs():
    assert text.multi_line("a\r\nb\rc\td") == "a\nb\nc\td"


@pytest.mark.parametrize("typed", ["a\x00b", "a\x0bb", "a\x1bb", "a\x9bb"])
def test_multi_line_text_refuses_other_controls(typed):
    with pytest.raises(text.TextRefused):
        text.multi_line(typed)


def test_a_password_is_kept_as_typed_but_never_with_a_control_character():
    assert text.secret("Jose\u0301 pass") == "Jose\u0301 pass"
    with pytest.raises(text.TextRefused):
        text.secret("pass\x00word")
