"""Text for people: CompStat tables and their definitions, rendered from query results."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import stats
from pipeline.config import LEVELS
from pipeline.trends import Span

AREA_TITLES = {area: level.title for area, level in LEVELS.items()}

DEFINITIONS = (
    "victims = people shot or killed (one per victimization); incidents = distinct case numbers, "
    "each counted once, on its first victim's date and place.",
    "shootings = gunshot victims, fatal or not; homicides = all homicide victims, any weapon.",
    "Year to date = 1 January to the as-of date, both inclusive, Chicago local dates; last year "
    "covers the same span (29 February compares with 28 February).",
    "p-value: exact test for two Poisson counts; 'likely' means p < 0.05; "
    f"'too few to judge' when both counts are under {stats.MIN_COUNT}.",
)

BASIS_NOTES = {
    "geometry": "areas by location on the current boundaries (police beats/districts 2012 map, "
    "community areas), comparable across years",
    "recorded": "areas as recorded by CPD on each record at the time",
}


def source_label(source: str) -> str:
    """A sync log's source for people: the host, or 'local files (names)'."""
    if not source.startswith("file:"):
        return source
    return "local files (" + ", ".join(Path(p).name for p in source[5:].split(",")) + ")"


def area_title(by: str | None, key: str | None, label: str | None = None) -> str:
    if by is None:
        return "Citywide"
    title = f"{AREA_TITLES[by]} {key}"
    return f"{title} ({label})" if label and label != key else title


def comparison_header(
    title: str, current: Span, previous: Span, measure: str, basis: str
) -> list[str]:
    return [
        f"{title}: year to date through {current.end:%Y-%m-%d}, counted as {measure}",
        f"this year {current.start:%Y-%m-%d}..{current.end:%Y-%m-%d} against "
        f"last year {previous.start:%Y-%m-%d}..{previous.end:%Y-%m-%d}; {BASIS_NOTES[basis]}",
    ]


def comparison_rows(rows: pd.DataFrame, first: str) -> pd.DataFrame:
    """The CompStat table as display strings (the CLI, the page and the brief agree)."""
    return pd.DataFrame(
        {
            first: rows[first].str.replace("_", " "),
            "this year": rows["current"].map(str),
            "last year": rows["previous"].map(str),
            "change": rows["change"].map(lambda c: f"{c:+d}"),
            "% change": [
                stats.describe_pct(c, p)
                for c, p in zip(rows["current"], rows["previous"], strict=True)
            ],
            "p-value": rows["p_value"].map(format_p),
            "verdict": rows["verdict"],
        }
    )


def comparison_table(rows: pd.DataFrame, first: str) -> str:
    """Rows with current/previous/change/pct_change/p_value/verdict, readable at a glance."""
    return comparison_rows(rows, first).to_string(index=False)


def summary_sentence(row: Mapping[Any, Any], what: str, span_name: str = "year to date") -> str:
    """'Shootings are down 23 % year to date, 31 against 40; this change is within normal
    variation.' from one CompStat row."""
    current, previous = int(row["current"]), int(row["previous"])
    if current == previous:
        movement = "unchanged"
    else:
        pct = stats.describe_pct(current, previous)
        movement = (
            ("up " if current > previous else "down ") + pct.lstrip("+-")
            if pct != "new"
            else "up from none"
        )
    verdict = str(row["verdict"])
    judged = {
        stats.TOO_FEW: "there are too few to judge a trend",
        stats.NORMAL_VARIATION: "this change is within normal variation",
        stats.LIKELY_INCREASE: "this change is a likely increase",
        stats.LIKELY_DECREASE: "this change is a likely decrease",
    }.get(verdict, f"no verdict ({verdict})")
    return (
        f"{what.capitalize()} are {movement} {span_name}, {current} against {previous}; {judged}."
    )


def format_p(p: float) -> str:
    if math.isnan(p):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
