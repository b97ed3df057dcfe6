"""Text for people: CompStat tables and their definitions, rendered from query results."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from pipeline import stats
from pipeline.config import LEVELS
from pipeline.trends import INCOMPLETE as INCOMPLETE_VERDICT
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


class PeriodWords(NamedTuple):
    """What a period and its comparison are called: in a header ('last 28 days', 'same
    28 days last year') and after a number in a sentence ('in the last 28 days')."""

    now: str
    before: str
    now_in: str
    before_in: str

    @property
    def against(self) -> str:
        """The comparison after 'against': 'last year', 'the previous 28 days'."""
        return self.before if self.before.startswith("last") else f"the {self.before}"


#: Each period of `trends.PERIOD_CHOICES`, named with what it is compared against.
PERIOD_WORDS = {
    "ytd": PeriodWords("this year", "last year", "this year", "last year"),
    "28d": PeriodWords(
        "last 28 days",
        "same 28 days last year",
        "in the last 28 days",
        "in the same 28 days last year",
    ),
    "28d-prev": PeriodWords(
        "last 28 days", "previous 28 days", "in the last 28 days", "in the 28 days before"
    ),
    "12m": PeriodWords(
        "last 12 months", "previous 12 months", "in the last 12 months", "in the 12 months before"
    ),
    "custom": PeriodWords(
        "this range", "same dates last year", "in this range", "on the same dates last year"
    ),
}


def span_text(span: Span) -> str:
    """'1 Jan - 29 Nov 2020', or '2 Dec 2019 - 29 Nov 2020' across a new year."""
    first = f"{span.start.day} {span.start:%b}"
    if span.start.year != span.end.year:
        first += f" {span.start.year}"
    return f"{first} \u2013 {span.end.day} {span.end:%b %Y}"


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


def summary_sentence(
    row: Mapping[Any, Any],
    what: str,
    span_name: str = "year to date",
    words: PeriodWords = PERIOD_WORDS["ytd"],
) -> str:
    """One CompStat row in one sentence that leads with the verdict:

    'Too few to judge: 4 homicides this year, 3 last year.' (no percentage on so few);
    'Within normal variation: 31 shootings this year against 40 last year (-23 %).';
    'Likely increase: shootings are up 106 % this year, 70 against 34 last year.'
    `span_name` is kept for callers that name the period alone; `words` names both spans.
    """
    current, previous = int(row["current"]), int(row["previous"])
    verdict = str(row["verdict"])
    if verdict == stats.TOO_FEW:
        return f"Too few to judge: {current} {what} {words.now_in}, {previous} {words.before_in}."
    if verdict == stats.NORMAL_VARIATION:
        return (
            f"Within normal variation: {current} {what} {words.now_in} against "
            f"{previous} {words.before_in} ({_pct_words(current, previous)})."
        )
    if verdict in (stats.LIKELY_INCREASE, stats.LIKELY_DECREASE):
        pct = stats.describe_pct(current, previous)
        movement = (
            "up from none"
            if pct == "new"
            else ("up " if current > previous else "down ") + pct.lstrip("+-")
        )
        return (
            f"{verdict.capitalize()}: {what} are {movement} {words.now_in}, {current} against "
            f"{previous} {words.before_in}."
        )
    return f"No verdict ({verdict}): {current} {what} {words.now_in}, {previous} {words.before_in}."


def _pct_words(current: int, previous: int) -> str:
    if current == previous:
        return "unchanged"
    pct = stats.describe_pct(current, previous)
    return "none before" if pct == "new" else pct


def export_table(
    table: pd.DataFrame,
    *,
    area: str,
    area_name: str,
    level: str,
    period: str,
    current: Span,
    previous: Span,
    measure: str,
    basis: str,
    missing: tuple[bool, bool] = (False, False),
) -> pd.DataFrame:
    """A CompStat table (`kind` then COMPARE_COLUMNS) as the CSV people download: every
    row says where, when, against what, how counted and how placed. Percent to 1 decimal,
    p-value to 3 significant digits. Where the store has a hole in the compared spans,
    change, percent and p-value are left empty (`missing`: (this span, comparison span)
    has no record at all: its count is empty too)."""
    incomplete = table["verdict"].eq(INCOMPLETE_VERDICT)
    counts = {
        name: pd.Series(pd.NA, index=table.index, dtype="Int64")
        if gone
        else table[name].astype("Int64")
        for name, gone in (("current", missing[0]), ("previous", missing[1]))
    }
    return pd.DataFrame(
        {
            "area": area or "city",
            "area_name": area_name,
            "level": level if area else "city",
            "period": PERIOD_WORDS[period].now,
            "period_start": current.start.isoformat(),
            "period_end": current.end.isoformat(),
            "compared_with": PERIOD_WORDS[period].before,
            "comparison_start": previous.start.isoformat(),
            "comparison_end": previous.end.isoformat(),
            "measure": measure,
            "basis": basis,
            "kind": table["kind"],
            "current": counts["current"],
            "previous": counts["previous"],
            "change": table["change"].astype("Int64").mask(incomplete),
            "pct_change": pd.to_numeric(table["pct_change"], errors="coerce")
            .round(1)
            .mask(incomplete),
            "p_value": pd.to_numeric(table["p_value"], errors="coerce")
            .map(_significant)
            .mask(incomplete),
            "verdict": table["verdict"],
        }
    )


def _significant(p: float) -> float:
    return float(f"{p:.3g}") if not math.isnan(p) else p


def format_p(p: float) -> str:
    if math.isnan(p):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
