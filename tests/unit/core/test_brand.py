"""The brand colour's arithmetic: WCAG 2 contrast with white text, the nearest shade that
passes, and the stylesheet made from a colour."""

from __future__ import annotations

import pytest

from webapp.services.core import brand


def test_white_on_777777_is_4_48_to_1_and_fails_aa():
    ratio = brand.contrast_ratio(brand.WHITE, "#777777")
    assert brand.shown_ratio(ratio) == "4.48:1"
    assert not brand.passes_with_white("#777777")


def test_white_on_767676_is_4_54_to_1_and_passes_aa():
    ratio = brand.contrast_ratio(brand.WHITE, "#767676")
    assert brand.shown_ratio(ratio) == "4.54:1"
    assert brand.passes_with_white("#767676")


def test_black_on_white_is_21_to_1_whichever_comes_first():
    assert brand.contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert brand.contrast_ratio("#ffffff", "#000000") == pytest.approx(21)


def test_a_failing_ratio_never_reads_as_4_50():
    assert brand.shown_ratio(4.4999) == "4.49:1"


def test_the_nearest_passing_shade_of_777777_is_767676():
    assert brand.nearest_passing_shade("#777777") == "#767676"


@pytest.mark.parametrize("colour", ["#ffcc00", "#3b82f6", "#ffffff", "#00ff00"])
def test_the_nearest_passing_shade_passes_and_is_no_lighter(colour):
    shade = brand.nearest_passing_shade(colour)
    assert brand.passes_with_white(shade)
    assert brand.relative_luminance(shade) <= brand.relative_luminance(colour)


def test_a_passing_colour_is_its_own_nearest_shade():
    assert brand.nearest_passing_shade("#1f4e79") == "#1f4e79"


def test_the_stylesheet_sets_the_primary_colour_variables_to_the_brand_colour():
    css = brand.stylesheet("#1f4e79")
    assert "--pico-primary: #1f4e79;" in css
    assert "--pico-primary-background: #1f4e79;" in css
    assert "rgba(31, 78, 121, 0.5)" in css


def test_the_built_in_colour_overrides_nothing():
    assert "--pico" not in brand.stylesheet(None)
