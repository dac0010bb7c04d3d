"""The admin home's charts as geometry (issue 31): stacked bar charts (positive values above
the zero line, negative below) that a template draws as SVG, server-side, without a script.

A chart is its categories, series and values (the same numbers its CSV and its visually hidden
table show), and where each bar segment, tick and label goes in a fixed viewBox; the page
scales the SVG to its width.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from webapp.services.admin.lists import AGING, AGING_LABELS
from webapp.services.admin.metrics import OTHER_REASON, Receivables, RevenueHistory, half_up
from webapp.services.core.i18n import N_, _

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 84, 12, 12, 40  # room for the value axis and the category labels


@dataclass(frozen=True)
class Segment:
    series: str
    category: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Label:
    text: str
    x: float


@dataclass(frozen=True)
class Chart:
    title: str
    value_label: str  # the value axis: "MRR (USD)"
    category_label: str  # the category axis: "Month"
    currency: str | None  # values are minor units of it (None: counts)
    categories: tuple[str, ...]
    series: tuple[str, ...]
    values: Mapping[str, tuple[int, ...]]  # series -> one value per category
    segments: tuple[Segment, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[Label, ...]
    zero_y: float
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    axis_y: int = HEIGHT - BOTTOM

    def rows(self) -> list[tuple[str, tuple[int, ...]]]:
        """(category, one value per series), as the table and the CSV list them."""
        return [(category, tuple(self.values[s][i] for s in self.series))
                for i, category in enumerate(self.categories)]


def nice_step(span: int, steps: int = 4) -> int:
    """A round tick step (1, 2 or 5 × a power of ten) giving about `steps` ticks."""
    if span <= 0:
        return 1
    rough = span / steps
    power = 10 ** math.floor(math.log10(rough))
    for multiple in (1, 2, 5, 10):
        if multiple * power >= rough:
            return max(1, int(multiple * power))
    return max(1, int(10 * power))  # pragma: no cover - the loop always returns


def stacked_bars(*, title: str, value_label: str, category_label: str, currency: str | None,
                 categories: Sequence[str], values: Mapping[str, Sequence[int]]) -> Chart:
    """Bars per category, each series' value stacked on the others of its sign."""
    series = tuple(values)
    count = len(categories)
    highs = [sum(max(0, values[s][i]) for s in series) for i in range(count)]
    lows = [sum(min(0, values[s][i]) for s in series) for i in range(count)]
    top, bottom = max([0, *highs]), min([0, *lows])
    step = nice_step(top - bottom)
    top = math.ceil(top / step) * step if top else 0
    bottom = math.floor(bottom / step) * step if bottom else 0
    if top == bottom:
        top = step
    plot_height = HEIGHT - TOP - BOTTOM
    scale = plot_height / (top - bottom)

    def y_of(value: float) -> float:
        return round(TOP + (top - value) * scale, 2)

    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    bar = slot * 0.6
    segments = []
    for i, category in enumerate(categories):
        x = round(LEFT + slot * i + (slot - bar) / 2, 2)
        up = down = 0
        for name in series:
            value = values[name][i]
            if value == 0:
                continue
            start = up if value > 0 else down
            end = start + value
            if value > 0:
                up = end
            else:
                down = end
            high, low = max(start, end), min(start, end)
            segments.append(Segment(name, category, value, x, y_of(high), round(bar, 2),
                                    round(y_of(low) - y_of(high), 2)))
    ticks = tuple(Tick(v, y_of(v)) for v in range(bottom, top + 1, step))
    # A label is about 7 units a character. When crowded, a few long names (reasons) are
    # shortened to their slot, and many short ones (months) are named every `every`-th.
    every = max(1, math.ceil(max(len(c) for c in categories) * 7 / slot)) if count else 1
    if count <= 8:
        every = 1
    fits = max(3, int(slot * every // 7))
    labels = tuple(Label(c if len(c) <= fits else c[:fits - 1] + "…",
                         round(LEFT + slot * i + slot / 2, 2))
                   for i, c in enumerate(categories) if i % every == 0)
    return Chart(title, value_label, category_label, currency, tuple(categories), series,
                 {s: tuple(values[s]) for s in series}, tuple(segments), ticks, labels,
                 y_of(0))


# --- The admin home's charts --------------------------------------------------------------------
# Their words (title, axis labels, series and the aging buckets) are written in the reader's
# language when the chart is made, during the request: the page, its hidden table and the CSV
# all show the same texts. The reasons are the organization's own (data).

MOVEMENT_LABELS = {"new": N_("New"), "expansion": N_("Expansion"),
                   "reactivation": N_("Reactivation"), "contraction": N_("Contraction"),
                   "churn": N_("Churn")}


def mrr_chart(history: RevenueHistory) -> Chart:
    """MRR at each month's end (rounded half-up once per month)."""
    currency = history.currency
    return stacked_bars(
        title=str(_("MRR at each month's end (%(currency)s)", currency=currency)),
        value_label=str(_("MRR (%(currency)s)", currency=currency)),
        category_label=str(_("Month")),
        currency=currency, categories=[m.month.strftime("%Y-%m") for m in history.months],
        values={str(_("MRR")): [half_up(m.closing) for m in history.months]})


def movements_chart(history: RevenueHistory) -> Chart:
    """Each month's MRR movements by kind; churn and contraction below the line."""
    currency = history.currency
    return stacked_bars(
        title=str(_("MRR movements per month (%(currency)s)", currency=currency)),
        value_label=str(_("Change in MRR (%(currency)s)", currency=currency)),
        category_label=str(_("Month")),
        currency=currency, categories=[m.month.strftime("%Y-%m") for m in history.months],
        values={str(_(label)): [m.rounded(k) for m in history.months]
                for k, label in MOVEMENT_LABELS.items()})


def aging_chart(receivables: Receivables, currency: str) -> Chart:
    """Open invoices' balances by days past due."""
    return stacked_bars(
        title=str(_("Open invoices by days past due (%(currency)s)", currency=currency)),
        value_label=str(_("Balance due (%(currency)s)", currency=currency)),
        category_label=str(_("Days past due")),
        currency=currency, categories=[str(_(AGING_LABELS[b])) for b in AGING],
        values={str(_("Balance due")): [receivables.aging[currency][b] for b in AGING]})


def reasons_chart(reasons: Mapping[str, int]) -> Chart:
    """Cancellations by the reason customers gave, over the last 90 days."""
    return stacked_bars(
        title=str(_("Cancellation reasons, last 90 days")),
        value_label=str(_("Cancellations")),
        category_label=str(_("Reason")), currency=None,
        categories=[str(_(r)) if r == OTHER_REASON else r for r in reasons],
        values={str(_("Cancellations")): list(reasons.values())})
