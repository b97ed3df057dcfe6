"""Context beyond one year: the same period in each of the last five years, and every
area of the level ranked, with rates per 100,000 residents. The ranked table is also
the map's text equivalent (every area the map colours, with its numbers).

Queries are cached here by the store's `StoreRef`, as in `ui.data`; the display frames
are built by pure functions (`history_display`, `ranked_display`) the tests call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

from pipeline import report
from pipeline.aggregate import UNKNOWN_AREA
from pipeline.errors import UsageError
from pipeline.history import same_span_by_year
from pipeline.rates import (
    NO_RATE,
    RATE_DEFINITION,
    Population,
    population_by_area,
    ranked_areas,
    rate,
    with_rates,
)
from pipeline.settings import Settings
from pipeline.trends import COMPARE_COLUMNS, Span
from ui import data, words
from ui.state import LEVELS, View
from ui.text import plain, squeeze

YEARS = 5
BAR, PARTIAL_BAR = "#0072B2", "#9DB9D3"  # Okabe-Ito blue; a paler one for incomplete years
SMOOTHING_NOTE = (
    "Smoothed rate: empirical Bayes (esda), which pulls each area's rate toward the "
    "city's the fewer residents it has, so a small area with a few shootings does not "
    "top the list by chance."
)
ESTIMATED_NOTE = (
    "est.: estimated. No census count exists for {what}s: each gets the share of every "
    "community area's 2020 population that its area covers "
    "(area-weighted interpolation)."
)


@dataclass(frozen=True)
class Context:
    """The ranked table of `show_context`, for one view."""

    ranked: pd.DataFrame  # ranked_display: one row per area
    estimated: bool  # populations are estimates (districts, ZIP codes, neighbourhoods)
    has_rates: bool
    city_rate: float | None
    problem: str = ""  # why there are no rates when the population could not be matched


def show_context(ref: data.StoreRef, found: data.Facts, view: View) -> None:
    """The five-year chart and numbers for the selected area (or the city), then every
    area of the level ranked: two h2 sections, like the page's others."""
    period = report.PERIOD_WORDS[view.period]
    where = words.area_name(
        view.level if view.area else None, view.area, found.labels[view.level].get(view.area)
    )
    years = years_shown(ref, view, where)
    st.header(f"{period.now.capitalize()} in each of the last {YEARS} years: {plain(where)}")
    st.vega_lite_chart(years.chart_data, years.chart, width="stretch")
    st.table(years.table, hide_index=False)  # the years (see `page.show_compstat`)
    st.caption(years.caption)
    show_ranked(ranked_shown(ref, view), view)


@dataclass(frozen=True)
class YearsShown:
    """The five-year section as sent: Arrow tables, the chart's spec, the caption."""

    chart_data: pa.Table
    chart: dict[str, Any]
    table: pa.Table
    caption: str


@dataclass(frozen=True)
class RankedShown:
    """The ranked table as sent, its number formats and its notes."""

    table: pa.Table
    formats: dict[str, Any]
    notes: str


# Built once per view: the tables go to the page as Arrow, not converted on every rerun.
@data.shared_cache(32, data.PANEL_KEYS)
def years_shown(ref: data.StoreRef, view: View, where: str) -> YearsShown:
    years = five_years(ref, view)
    return YearsShown(
        pa.Table.from_pandas(years),
        history_chart(years, view.measure, where),
        pa.Table.from_pandas(history_text(years)),
        history_caption(years),
    )


# Keyed as the map's table: every area's figures do not depend on the selected one.
@data.shared_cache(32, data.MAP_TABLE_KEYS)
def ranked_shown(ref: data.StoreRef, view: View) -> RankedShown:
    found = data.facts(ref)
    assert found is not None  # the page draws nothing without facts
    context = build_context(ref, found, view)
    return RankedShown(
        pa.Table.from_pandas(context.ranked), formats(context.ranked), ranked_notes(context, view)
    )


def show_ranked(shown: RankedShown, view: View) -> None:
    level = LEVELS[view.level].lower()
    st.header(f"Every {level}, ranked")
    st.caption(
        f"This table lists every {level} the map shows, with the numbers it colours: it is "
        "the map's text equivalent. Select a column header to sort by it."
    )
    st.dataframe(shown.table, hide_index=True, width="stretch", column_config=shown.formats)
    st.caption(shown.notes)


def ranked_notes(context: Context, view: View) -> str:
    level = LEVELS[view.level].lower()
    notes = [RATE_DEFINITION, SMOOTHING_NOTE] if context.has_rates else []
    if context.has_rates and context.city_rate is not None:
        notes.insert(1, f"City-wide rate: {context.city_rate:.1f} per 100,000 residents.")
    if context.estimated:
        notes.append(ESTIMATED_NOTE.format(what=level))
    if context.problem:
        notes.append(f"No rates: {plain(context.problem, 300)}")  # it may name a file
    elif view.level in NO_RATE:
        notes.append(f"No rates for {level}s: {NO_RATE[view.level].split(': ', 1)[-1]}.")
    return " ".join(notes)


def build_context(ref: data.StoreRef, found: data.Facts, view: View) -> Context:
    """Every area of the level ranked, with rates where there is a population."""
    population, problem = level_population(ref, view.level, _population_path())
    table = ranked(ref, view)
    return Context(
        ranked=ranked_display(table, view, found.labels[view.level], population),
        estimated=bool(population and population.estimated),
        has_rates=population is not None,
        city_rate=float(table["city_rate"].iloc[0]) if "city_rate" in table else None,
        problem=problem,
    )


def five_years(ref: data.StoreRef, view: View) -> pd.DataFrame:
    """`history_display` of the view's area (or the city), with the city's rate beside
    an area's where both have a population."""
    path = _population_path()
    population, _ = level_population(ref, view.level, path)
    city, _ = level_population(ref, "community_area", path)
    city_people = city.city if city else None
    area_people = _area_residents(view, population, city_people)
    city_years = history(ref, _city_view(view)) if view.area and area_people else None
    estimated = bool(view.area and population and population.estimated)
    return history_display(history(ref, view), area_people, city_years, city_people, estimated)


@data.shared_cache(32, data.PANEL_KEYS)
def history(ref: data.StoreRef, view: View) -> pd.DataFrame:
    """`pipeline.history.same_span_by_year` for the view's area (or the city)."""
    current, _ = data.spans(view)
    level, key = view.counted_in
    with data.counting_reader(ref) as q:
        return same_span_by_year(
            q, level, key, view.basis, view.kind, view.measure, current, YEARS, period=view.period
        )


@data.shared_cache(8)
def level_population(ref: data.StoreRef, level: str, path: str) -> tuple[Population | None, str]:
    """Residents per area of `level` (None for beats), as the sync stored them (estimated
    here only for a census file the sync did not use), or None and why when the population
    file does not fit the store's community areas; `path` '' is the shipped census."""
    try:
        with data.reader(ref) as q:
            return population_by_area(q, level, Path(path) if path else None), ""
    except UsageError as exc:  # a store of other areas: the page goes on without rates
        return None, str(exc)


def warm_populations(ref: data.StoreRef) -> None:
    """Read every level's residents now (`data.warm_levels` says why)."""
    path = _population_path()
    for level in LEVELS:
        level_population(ref, level, path)


# Keyed as the map's table: every area's figures do not depend on the selected one.
@data.shared_cache(32, data.MAP_TABLE_KEYS)
def ranked(ref: data.StoreRef, view: View) -> pd.DataFrame:
    """Every area of the level from the map's own comparison (`data.map_table`, built by
    `compstat.compare_areas`), with rates, most first."""
    table = _columns(data.map_table(ref, view), ["area", *COMPARE_COLUMNS])
    population, _ = level_population(ref, view.level, _population_path())
    return ranked_areas(with_rates(table, population))


def history_display(
    years: pd.DataFrame,
    residents: float | None = None,
    city_years: pd.DataFrame | None = None,
    city_residents: float | None = None,
    estimated: bool = False,
) -> pd.DataFrame:
    """One row per year for people: Year, Dates, Count, and where there is a population
    the rate per 100,000 (and the city's beside it), and a Note on missing months."""
    # Lists, then one frame: writing it column by column cost ~2x as much, nearly all
    # of it pandas' per-call overhead on five rows.
    count = years["count"]
    counts = count.tolist()
    shown: dict[str, Any] = {
        "Year": pd.array([str(y) for y in years["year"].tolist()], dtype="str"),  # text, even empty
        "Dates": [
            report.span_text(Span(s, e))
            for s, e in zip(years["start"].tolist(), years["end"].tolist(), strict=True)
        ],
        "Count": count.array,
    }
    if residents:
        name = f"Rate per 100,000{' (estimated)' if estimated else ''}"
        shown[name] = [_rate_or_na(c, residents) for c in counts]
    if residents and city_years is not None and city_residents:
        city_counts = city_years["count"].tolist()
        shown["City per 100,000"] = [_rate_or_na(c, city_residents) for c in city_counts]
    missing = years["missing_months"].tolist()
    shown["Note"] = [_missing_note(n, m) for n, m in zip(counts, missing, strict=True)]
    return pd.DataFrame(shown, index=years.index)


def ranked_display(
    table: pd.DataFrame, view: View, labels: dict[str, str], population: Population | None
) -> pd.DataFrame:
    """`ranked` for people: names as people say them, numbers rounded to one decimal,
    columns named after the period and what it is compared with."""
    period = report.PERIOD_WORDS[view.period]
    names = {
        "rank": "Rank",
        "area": "Area",
        "current": period.now.capitalize(),
        "previous": period.before.capitalize(),
        "change": "Change",
        "pct_change": "Change %",
        "verdict": "Verdict",
    }
    if population is not None:
        estimated = " (est.)" if population.estimated else ""
        names |= {
            "residents": f"Residents{estimated}",
            "rate": f"Per 100,000{estimated}",
            "rate_smoothed": f"Smoothed{estimated}",
            "city_rate": "City per 100,000",
        }
    # One frame from the columns shown: rounding, selecting and renaming the whole
    # frame cost ~4x as much, nearly all of it pandas' per-call overhead.
    shown = {
        new: _rounded(table[old], 0 if old == "residents" else 1) for old, new in names.items()
    }
    shown["Area"] = [_area_label(view.level, k, labels) for k in table["area"].tolist()]
    return pd.DataFrame(shown, index=table.index)


def formats(ranked: pd.DataFrame) -> dict[str, Any]:
    """Numbers as people read them: residents with thousands separators, one decimal."""
    config: dict[str, Any] = {}
    for column in ranked.columns:
        if column.startswith("Residents"):
            config[column] = st.column_config.NumberColumn(format="localized")
        elif column.startswith(("Per 100,000", "Smoothed", "City per", "Change %")):
            config[column] = st.column_config.NumberColumn(format="%.1f")
    return config


def history_text(history: pd.DataFrame) -> pd.DataFrame:
    """The five-year numbers as text for a static table: 'no data' rather than an empty
    cell or zero, rates with one decimal."""
    # One frame from lists (a copy as objects, column writes and set_index cost ~1.7x
    # as much); the columns other than the numbers stay Python objects, as before.
    cells = history.to_numpy(dtype=object)  # as astype(object) has them, in one call
    years = pd.Index(cells[:, history.columns.get_loc("Year")], dtype=object, name="Year")
    shown: dict[str, Any] = {}
    for column, values in zip(history.columns, cells.T, strict=True):
        if column == "Year":
            continue
        if column == "Count":
            shown[column] = ["no data" if pd.isna(c) else f"{int(c):,}" for c in values]
        elif "100,000" in column:
            shown[column] = ["" if pd.isna(r) else f"{r:,.1f}" for r in values]
        else:  # a Series of objects: a plain list of text would become a text column
            shown[column] = pd.Series(values, index=years, dtype=object)
    return pd.DataFrame(shown, index=years)


def history_chart(history: pd.DataFrame, measure: str, where: str) -> dict[str, Any]:
    """Bars per year with the count written on them; incomplete years paler, years with
    no data at all labelled 'no data' instead of drawn as zero."""
    described = ", ".join(
        f"{y}: {'no data' if pd.isna(c) else c}"
        for y, c in zip(history["Year"], history["Count"], strict=True)
    )
    count = {"field": "Count", "type": "quantitative", "title": measure}
    year = {"field": "Year", "type": "ordinal", "title": None, "axis": {"labelAngle": 0}}
    return {
        "description": f"{squeeze(where, 120)}: {measure} per year, {described}",
        "height": 220,
        "transform": [
            {"calculate": "isValid(datum.Count) ? '' + datum.Count : 'no data'", "as": "label"},
            {"calculate": "isValid(datum.Count) ? datum.Count : 0", "as": "at"},
            {"calculate": "datum.Note == '' ? 'complete' : 'incomplete'", "as": "coverage"},
        ],
        "layer": [
            {
                "mark": {"type": "bar"},
                "encoding": {
                    "x": year,
                    "y": count,
                    "color": {
                        "field": "coverage",
                        "type": "nominal",
                        "title": None,
                        "scale": {
                            "domain": ["complete", "incomplete"],
                            "range": [BAR, PARTIAL_BAR],
                        },
                        "legend": {"orient": "bottom"},
                    },
                    "tooltip": [{"field": "Year"}, {"field": "Dates"}, count, {"field": "Note"}],
                },
            },
            {
                "mark": {"type": "text", "dy": -8, "fontSize": 14},
                "encoding": {
                    "x": year,
                    "y": {"field": "at", "type": "quantitative"},
                    "text": {"field": "label"},
                },
            },
        ],
    }


def history_caption(history: pd.DataFrame) -> str:
    parts = [
        "The same dates in each year, counted as the table above counts them.",
    ]
    rates = [str(c) for c in history if str(c).startswith("Rate per 100,000")]
    if rates:
        parts.append(
            "Rates: per 100,000 residents in the period (not annualised), every year over "
            "the 2020 census population"
            + (", estimated for this area." if "(estimated)" in rates[0] else ".")
        )
    if history["Note"].ne("").any():
        parts.append("Years with months missing from the store are incomplete, not low.")
    return " ".join(parts)


def _area_residents(
    view: View, population: Population | None, city_people: float | None
) -> float | None:
    if not view.area:
        return city_people
    if population is None:
        return None
    people = population.residents.get(view.area)
    return float(people) if people is not None and pd.notna(people) else None


def _city_view(view: View) -> View:
    return replace(view, area="")


def _columns(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """`frame[names]`, taken by position: pandas' lookup of a list of labels costs ~4x
    (~0.2 ms); a missing name is a KeyError all the same."""
    positions = [frame.columns.get_loc(name) for name in names]
    return frame.take(cast(list[int], positions), axis=1)  # names are unique: ints


def _rounded(column: pd.Series, decimals: int) -> Any:
    """`column`'s values, floats rounded as `DataFrame.round` rounds them (numpy's round);
    whole numbers and text as they are."""
    if column.dtype == np.float64:
        return column.to_numpy().round(decimals)
    return column.array


def _rate_or_na(count: Any, residents: float) -> float | None:
    return None if pd.isna(count) else round(rate(float(count), residents), 1)


def _missing_note(count: Any, missing: str) -> str:
    if not missing:
        return ""
    months = missing.split(", ")
    if pd.isna(count):
        return "no data: the store has no records for these dates"
    return f"incomplete: no records in {words.month_ranges(months)}"


def _area_label(level: str, key: str, labels: dict[str, str]) -> str:
    if key == UNKNOWN_AREA:
        return f"Not in any {LEVELS[level].lower()}"
    return words.area_name(level, key, labels.get(key))


def _population_path() -> str:
    path = Settings.from_env().population_path
    return str(path) if path else ""
