"""The SVG charts' geometry (issue 31): stacked bars above and below the zero line, round
ticks, the labels thinned when crowded, and the data the table and the CSV list."""

from __future__ import annotations

from pytest import approx

from webapp.services.admin import charts


def test_round_tick_steps():
    assert [charts.nice_step(span) for span in (0, 7, 40, 120, 999, 25_000)] == \
        [1, 2, 10, 50, 500, 10_000]


def test_positive_values_stack_up_and_negative_ones_down():
    chart = charts.stacked_bars(title="T", value_label="V", category_label="C", currency="USD",
                                categories=["a", "b"],
                                values={"up": [300, 100], "more": [100, 0], "down": [-200, 0]})
    by = {(s.series, s.category): s for s in chart.segments}
    assert set(by) == {("up", "a"), ("more", "a"), ("down", "a"), ("up", "b")}
    up, more, down = by["up", "a"], by["more", "a"], by["down", "a"]
    assert up.y + up.height == approx(chart.zero_y, abs=0.02)  # from the zero line up
    assert more.y + more.height == approx(up.y, abs=0.02)  # on top of the first
    assert down.y == approx(chart.zero_y, abs=0.02) and down.height > 0  # below the line
    assert round(up.height / down.height, 2) == 1.5
    assert [t.value for t in chart.ticks] == [-200, 0, 200, 400]
    assert chart.rows() == [("a", (300, 100, -200)), ("b", (100, 0, 0))]


def test_crowded_labels_are_thinned_and_empty_charts_still_have_an_axis():
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    chart = charts.stacked_bars(title="T", value_label="V", category_label="C", currency=None,
                                categories=months, values={"n": [0] * 12})
    assert [label.text for label in chart.labels] == months[::2]
    assert [t.value for t in chart.ticks] == [0, 1] and chart.segments == ()


def test_a_few_long_names_are_shortened_to_their_slot_not_dropped():
    names = [f"A rather long cancellation reason number {i}" for i in range(6)]
    chart = charts.stacked_bars(title="T", value_label="V", category_label="C", currency=None,
                                categories=names, values={"n": [1] * 6})
    assert len(chart.labels) == 6
    assert all(label.text.endswith("…") and len(label.text) < len(name)
               for label, name in zip(chart.labels, names, strict=True))
    assert [c for c, _ in chart.rows()] == names  # the table and the CSV keep them whole
