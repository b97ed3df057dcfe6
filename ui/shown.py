"""What the page draws for one view, built once per view and cached ready to send.

A rerun that changes nothing for a piece (a seen view, or a control the piece does
not depend on) gets it from the cache as it is sent: tables as Arrow tables (a cache
hit unpickles one in ~40 us and Streamlit serialises it as is, where a DataFrame
costs ~0.7 ms to unpickle and convert on every rerun), sentences as strings, chart
specs as dicts, the map as its final JSON. The numbers are `ui.data`'s; only their
display is built here, by the same pure functions (`ui.words`, `ui.charts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from geo.maplayers import CHANGE_COLOURS
from pipeline import report
from ui import charts, data, mapview, words
from ui.state import View
from ui.text import in_html


def arrow(frame: pd.DataFrame) -> pa.Table:
    """`frame` as Streamlit itself converts it (a named index kept as a column)."""
    return pa.Table.from_pandas(frame)


@dataclass(frozen=True)
class Figures:
    """The first screen's sentence and table, for one view, each cached under what it
    depends on (`data.PANEL_KEYS` and the like). The detail tabs' parts (`trend_shown`,
    `profile_shown`, `incidents_shown`) are built only when their tab is open."""

    table: CompStatShown
    headline: str  # plain text: the page escapes it into its HTML paragraph


def figures(ref: data.StoreRef, view: View, where: str) -> Figures:
    """What the first screen shows of the selected area (`where`: its name)."""
    return Figures(compstat_shown(ref, view, where), headline(ref, view))


@data.shared_cache(32, data.PANEL_KEYS)
def headline(ref: data.StoreRef, view: View) -> str:
    """The sentence on the view's kind (`words.headline`)."""
    compstat, _, _ = data.compstat_panel(ref, view)
    return words.headline(compstat, view.kind, report.PERIOD_WORDS[view.period])


@dataclass(frozen=True)
class CompStatShown:
    gaps: str  # the warning on months missing from the store, or ''
    gone: tuple[bool, bool]  # (this span, the comparison span) has no record at all
    compstat: pa.Table  # `words.compstat_display`, figures on one line
    basis_line: str  # `words.basis_difference`, plain text ('' when both agree)


@data.shared_cache(32, data.COMPSTAT_KEYS)
def compstat_shown(ref: data.StoreRef, view: View, where: str) -> CompStatShown:
    """The CompStat table (every kind) and what is said about its months and bases."""
    compstat, other_basis, _ = data.compstat_panel(ref, view)
    spans = data.spans(view)
    period = report.PERIOD_WORDS[view.period]
    missing = data.missing_months(ref, view)
    gone = (words.all_missing(missing[0], spans[0]), words.all_missing(missing[1], spans[1]))
    partial = (bool(missing[0]), bool(missing[1]))
    table = words.compstat_display(compstat, period, spans, gone, partial)
    return CompStatShown(
        gaps=words.gaps_note(missing[0], missing[1], period, spans),
        gone=gone,
        compstat=arrow(table.map(unbroken)),
        basis_line=words.basis_difference(
            compstat, other_basis, view.basis, view.level, where, period
        ),
    )


@dataclass(frozen=True)
class TrendShown:
    weekly_long: pa.Table  # the weekly chart's data
    weekly_spec: dict[str, Any]
    weekly_named: pa.Table  # the numbers behind the chart
    weeks_left_out: bool


@data.shared_cache(32, data.PANEL_KEYS)
def trend_shown(ref: data.StoreRef, view: View) -> TrendShown:
    """The weekly chart of the view's kind, and the numbers behind it."""
    weekly = data.weekly(ref, view)
    spans = data.spans(view)
    period = report.PERIOD_WORDS[view.period]
    missing = data.missing_months(ref, view)
    names = (
        f"{period.now} ({report.span_text(spans[0])})",
        f"{period.before} ({report.span_text(spans[1])})",
        f"{period.now}, 4-week mean",
    )
    gaps = (words.gap_weeks(spans[0], missing[0]), words.gap_weeks(spans[1], missing[1]))
    named = charts.weekly_named(weekly, names, gaps)
    long, spec = charts.weekly_chart(named, view.measure)
    return TrendShown(
        weekly_long=arrow(long),
        weekly_spec=spec,
        weekly_named=arrow(named),
        weeks_left_out=any(gaps),
    )


@dataclass(frozen=True)
class ProfileShown:
    hours: pa.Table
    age_sex: pa.Table


@data.shared_cache(32, data.ROWS_KEYS)
def profile_shown(ref: data.StoreRef, view: View) -> ProfileShown:
    """The victims' hours and ages, as sent."""
    hours, age_sex = data.victim_profile(ref, view)
    return ProfileShown(arrow(hours), arrow(age_sex))


@data.shared_cache(32, data.ROWS_KEYS)
def incidents_shown(ref: data.StoreRef, view: View) -> pa.Table:
    """The latest incidents, as sent."""
    return arrow(data.latest_incidents(ref, view))


def unbroken(cell: object) -> object:
    """A figure such as '+1 (+33 %)' kept on one line (no-break spaces)."""
    if isinstance(cell, str) and any(ch.isdigit() for ch in cell) and len(cell) <= 24:
        return cell.replace(" ", "\u00a0")
    return cell


@data.shared_cache(32)
def map_spec(ref: data.StoreRef, view: View, ring: tuple[float, float, float] | None) -> str:
    """The map's deck.gl JSON as sent: `data.map_json` with the presentation mode's
    label size and zoom and a searched point's ring (`mapview.with_overlay`)."""
    if not view.present and ring is None:  # nothing to add: the JSON is sent as built
        return data.map_json(ref, view)
    return mapview.with_overlay(
        data.map_json(ref, view),
        label_px=mapview.PRESENT_LABEL_SIZE if view.present else None,
        ring=ring,
        zoom_by=presentation_zoom(view),
    )


def presentation_zoom(view: View) -> float:
    """How much closer the projected map starts: around a selected area, closer; the
    whole city (taller than wide) only a little, so it still fits."""
    if not view.present:
        return 0.0
    return mapview.PRESENT_ZOOM_BY if view.area else mapview.PRESENT_ZOOM_BY / 3


@data.shared_cache(32, data.MAP_TABLE_KEYS)
def legend(ref: data.StoreRef, view: View) -> str:
    """The map's legend as HTML: its classes, in order, with their colours."""
    return legend_html(data.map_table(ref, view), view)


def legend_html(table: pd.DataFrame, view: View) -> str:
    order = (
        list(dict.fromkeys(table.sort_values("rate")["category"]))
        if view.metric == "count"
        else [*CHANGE_COLOURS, data.NOT_COMPARABLE]
    )
    colours = dict(zip(table["category"], table["fill"], strict=True))
    items = "".join(  # swatch and label never part across a line break
        f'<span class="item"><span class="swatch" style="background: '
        f'rgb({",".join(map(str, colours[c]))})"></span>{in_html(c)}</span> '
        for c in order
        if c in colours
    )
    title = (
        "Per year at this period's pace (fixed classes)"
        if view.metric == "count"
        else f"Change against {report.PERIOD_WORDS[view.period].against}"
    )
    return f'<div class="legend"><b>{title}:</b>{items}</div>'
