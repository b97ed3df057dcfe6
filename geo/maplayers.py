"""Choropleth classes and colours for the web map. Pure: arrays in, lists out.

Colours are ColorBrewer schemes marked colour-blind safe: YlOrRd (5 classes)
for counts, RdBu (5) for change. Count classes use fixed breaks computed once
per sync from every full year in the store, so a colour means the same count
next month; the map shows counts as a yearly rate so periods of different
length share one scale.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import numpy as np

RGB = tuple[int, int, int]

COUNT_COLOURS: list[RGB] = [
    (255, 255, 178),
    (254, 204, 92),
    (253, 141, 60),
    (240, 59, 32),
    (189, 0, 38),
]
#: One colour per change class, strongest fall first. The classes are named by the
#: counting side (verdict plus direction; a test holds the two together): this
#: module only colours them.
CHANGE_COLOURS: dict[str, RGB] = {
    "likely decrease": (33, 102, 172),
    "decrease within normal variation": (146, 197, 222),
    "no change": (247, 247, 247),
    "increase within normal variation": (244, 165, 130),
    "likely increase": (178, 24, 43),
    "too few to judge": (224, 224, 224),
}
NO_DATA: RGB = (255, 255, 255)
DAYS_PER_YEAR = 365.25


def class_breaks(counts: np.ndarray, classes: int = 5) -> list[float]:
    """Rounded, strictly increasing quantile cuts splitting `counts` into `classes`."""
    cuts = np.quantile(counts.astype(float), np.linspace(0, 1, classes + 1)[1:-1])
    breaks: list[float] = []
    for cut in np.round(cuts):
        if not breaks or cut > breaks[-1]:
            breaks.append(float(cut))
    return breaks


def count_class(rate: float, breaks: list[float]) -> int:
    """0-based class of a yearly rate: class i holds rates <= breaks[i]."""
    return int(np.searchsorted(breaks, rate, side="left"))


def count_legend(breaks: list[float]) -> list[tuple[str, RGB]]:
    """(label, colour) per class, lowest first: 'up to 3', '3 to 8', ..., 'over 30'."""
    if not breaks:
        return [("any", COUNT_COLOURS[0])]
    labels = [f"up to {breaks[0]:.0f}"]
    labels += [f"{a:.0f} to {b:.0f}" for a, b in itertools.pairwise(breaks)]
    labels.append(f"over {breaks[-1]:.0f}")
    return list(zip(labels, _spread(COUNT_COLOURS, len(labels)), strict=True))


def _spread(colours: list[RGB], n: int) -> list[RGB]:
    """n colours from the scheme, keeping its ends (fewer classes when breaks collapse)."""
    if n >= len(colours):
        return colours
    return [colours[round(i * (len(colours) - 1) / max(n - 1, 1))] for i in range(n)]


def yearly_rates(counts: np.ndarray, days: int) -> np.ndarray:
    """Counts over `days` days as a yearly pace, to one decimal."""
    return np.round(np.asarray(counts, dtype=float) * DAYS_PER_YEAR / max(days, 1), 1)


def count_categories(rates: Iterable[float], breaks: list[float]) -> list[str]:
    """The count class label ('3 to 8', ...) of each yearly rate."""
    labels = [label for label, _ in count_legend(breaks)]
    return [labels[count_class(rate, breaks)] for rate in rates]


def fill_colours(categories: Iterable[str], colours: Mapping[str, RGB]) -> list[list[int]]:
    """[r, g, b] per category; white (NO_DATA) for one with no colour."""
    return [list(colours.get(c, NO_DATA)) for c in categories]
