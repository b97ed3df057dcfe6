"""Chart specs written as plain Vega-Lite dicts: no Altair schema validation on each rerun."""

from __future__ import annotations

from typing import Any

import pandas as pd

# Okabe-Ito colours, safe for colour-blind readers.
SERIES_COLOURS = {"this period": "#D55E00", "same period last year": "#0072B2"}
MEAN_COLOUR = "#000000"


def weekly_chart(weekly: pd.DataFrame, measure: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Long-form data and a spec: this period and last year per week, plus the rolling mean."""
    long = weekly.reset_index().melt(id_vars="week", var_name="series", value_name="count")
    series = list(SERIES_COLOURS) + [c for c in weekly.columns if c not in SERIES_COLOURS]
    colours = [*SERIES_COLOURS.values(), MEAN_COLOUR]
    spec: dict[str, Any] = {
        "mark": {"type": "line", "point": False, "strokeWidth": 2.5},
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
                "legend": {"orient": "bottom", "labelLimit": 400},
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
