"""Chart specs written as plain Vega-Lite dicts: no Altair schema validation on each rerun."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

# Okabe-Ito colours, safe for colour-blind readers.
NOW_COLOUR, BEFORE_COLOUR, MEAN_COLOUR = "#D55E00", "#0072B2", "#000000"
#: The columns of `profiles.weekly_this_vs_last`, in this order.
WEEKLY_COLUMNS = ("this period", "same period last year", "this period, 4-week mean")


def weekly_named(
    weekly: pd.DataFrame, names: tuple[str, str, str], gaps: tuple[set[int], set[int]]
) -> pd.DataFrame:
    """`weekly` with its three series renamed to `names` and the weeks in `gaps` (per
    compared span) empty."""
    frame = weekly.rename(columns=dict(zip(WEEKLY_COLUMNS, names, strict=True)))
    for name, weeks in zip(names[:2], gaps, strict=True):
        frame[name] = frame[name].astype("float").mask(frame.index.isin(sorted(weeks)))
    return frame


def weekly_chart(named: pd.DataFrame, measure: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Long-form data and a spec: this period and its comparison per week, plus the
    rolling mean, from `weekly_named` (its column names label the series in the legend:
    what the period is compared against; the weeks it left out are not drawn, so a
    hole in the store never draws as a fall to zero)."""
    # Weeks left out stay as nulls, so the line breaks there instead of bridging the hole.
    long = long_form(named)
    series = [str(name) for name in named.columns]
    colours = [NOW_COLOUR, BEFORE_COLOUR, MEAN_COLOUR]
    spec: dict[str, Any] = {
        "mark": {
            "type": "line",
            "point": False,
            "strokeWidth": 2.5,
            "invalid": "break-paths-show-domains",
        },
        "encoding": {
            "x": {
                "field": "week",
                "type": "quantitative",
                "title": "week of the period",
                "axis": {"tickMinStep": 1},
            },
            "y": {"field": "count", "type": "quantitative", "title": measure},
            "color": {
                "field": "series",
                "type": "nominal",
                "title": None,
                "scale": {"domain": series, "range": colours},
                # One entry a line: a long label ("this year (1 Jan – 29 Nov 2020)") wraps
                # whole on a phone instead of being cut, and stays with its swatch.
                "legend": {"orient": "bottom", "direction": "vertical", "labelLimit": 0},
            },
            "strokeDash": {
                "field": "series",
                "type": "nominal",
                "legend": None,
                "scale": {"domain": series, "range": [[1, 0], [5, 3], [1, 0]]},
            },
            "tooltip": [{"field": "week"}, {"field": "series"}, {"field": "count"}],
        },
    }
    return long, spec


def long_form(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` (weeks by series) as one row per week and series: week, series, count;
    as `frame.reset_index().melt("week", ...)` has it, without melt's ~1 ms."""
    return pd.DataFrame(
        {
            "week": np.tile(frame.index.to_numpy(), frame.shape[1]),
            "series": np.repeat(frame.columns.to_numpy(dtype=object), len(frame)),
            "count": frame.to_numpy(dtype=float).T.reshape(-1),
        }
    )
