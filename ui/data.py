"""Cached, read-only queries for the page. The only module that uses `st.cache_data`.

Every cached function takes a `StoreRef` (path + the identity each sync writes
into the store) first, so a sync, which replaces the store file, invalidates the
cache by itself.
Arguments are small and hashable; results are DataFrames or plain values.
"""

from __future__ import annotations

import functools
import json
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
import streamlit as st

from geo.maplayers import style_areas
from pipeline import profiles, queries, report, trends
from pipeline.aggregate import between_dates, select_kind
from pipeline.boundaries import LAYER_OF_AREA
from pipeline.settings import Settings
from pipeline.store import Store
from ui import mapview
from ui.state import Bounds, View

PANEL_COLUMNS = (
    "unique_id",
    "case_number",
    "occurred_at",
    "gunshot",
    "fatal",
    "block",
    "age_band",
    "sex",
)


@dataclass(frozen=True)
class StoreRef:
    path: str
    version: str  # the store's identity (store_info): new on every sync, read from the file


def store_ref(settings: Settings) -> StoreRef | None:
    """The store as it is now, or None when there is none. Keyed by the identity the
    file holds, not its mtime: a replaced store can keep an mtime (coarse clocks, copies).
    Reading the identity opens the file (~20 ms), so it is read again only when the
    file's inode, size or mtime moved, which every swap does."""
    path = settings.store_path
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return StoreRef(str(path), _identity(str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _identity(path: str, inode: int, size: int, mtime_ns: int) -> str:
    return Store(Path(path)).identity()


@dataclass(frozen=True)
class Facts:
    """What every view discloses: coverage, freshness, what was left out."""

    bounds: Bounds
    labels: dict[str, dict[str, str]]  # level -> key -> label
    victims: int
    synced_at: pd.Timestamp | None  # UTC
    source: str
    quarantined: int
    placement: dict[str, int] = field(default_factory=dict)


def open_store(settings: Settings) -> tuple[StoreRef, Facts] | None:
    """The current store and what it holds, or None when there is nothing to show yet."""
    ref = store_ref(settings)
    found = facts(ref) if ref else None
    return (ref, found) if ref and found else None


@st.cache_data(show_spinner=False, max_entries=4)
def facts(ref: StoreRef) -> Facts | None:
    """None when the store holds no victims yet."""
    store = Store(Path(ref.path))
    status = queries.store_status(store)
    if (
        not status.tables["victims"]
        or status.first_occurred is None
        or (status.last_occurred is None)
    ):
        return None
    labels = {level: queries.area_labels(store, level) for level in LAYER_OF_AREA}
    bounds = Bounds(
        first=pd.Timestamp(status.first_occurred).date(),
        latest=pd.Timestamp(status.last_occurred).date(),
        areas={level: tuple(keys) for level, keys in labels.items()},
    )
    victims_sync = status.last_syncs[status.last_syncs["dataset"] == "victims"]
    synced_at = victims_sync["finished_at"].iloc[0] if len(victims_sync) else None
    source = victims_sync["source"].iloc[0] if len(victims_sync) else "unknown"
    return Facts(
        bounds,
        labels,
        status.tables["victims"],
        synced_at,
        report.source_label(source),
        int(status.tables["quarantine"]),
        status.placement,
    )


@st.cache_data(show_spinner=False, max_entries=2)
def victims(ref: StoreRef, basis: str) -> pd.DataFrame:
    """Every victim with the columns the page uses, areas on `basis`."""
    rows = queries.load_victims(Store(Path(ref.path)), basis=basis, columns=PANEL_COLUMNS)
    # Categories filter far faster than Arrow-backed strings, and every rerun filters.
    text = ["case_number", "block", "age_band", "sex", "district", "beat", "community_area"]
    return rows.astype(dict.fromkeys(text, "category"))


@st.cache_data(show_spinner=False, max_entries=3)
def layer_shapes(ref: StoreRef, level: str) -> list[dict[str, Any]]:
    """Simplified shapes of a level: key, label, GeoJSON geometry, label point [lon, lat]."""
    with Store(Path(ref.path)).read() as con:
        rows = con.execute(
            "SELECT key, name, web_geometry, geometry FROM boundaries WHERE layer = ? ORDER BY key",
            [LAYER_OF_AREA[level]],
        ).fetchall()
    points = shapely.point_on_surface(shapely.from_wkb([bytes(r[3]) for r in rows]))
    return [
        {
            "key": key,
            "label": label,
            "geometry": json.loads(web),
            "at": [round(p.x, 5), round(p.y, 5)],
        }
        for (key, label, web, _), p in zip(rows, points, strict=True)
    ]


@st.cache_data(show_spinner=False, max_entries=3)
def breaks(ref: StoreRef, level: str, kind: str, measure: str) -> list[float]:
    with Store(Path(ref.path)).read() as con:
        rows = con.execute(
            "SELECT breaks FROM map_breaks WHERE level = ? AND kind = ? AND measure = ?",
            [level, kind, measure],
        ).fetchall()
    return json.loads(rows[0][0]) if rows else []


def spans(view: View) -> tuple[trends.Span, trends.Span]:
    assert view.as_of is not None
    return trends.period_spans(view.period, view.as_of, view.start, view.end)


@st.cache_data(show_spinner=False, max_entries=32)
def map_table(ref: StoreRef, view: View) -> pd.DataFrame:
    """One styled row per area of the view's level: counts, verdict, rate, colour."""
    current, previous = spans(view)
    table = trends.compare_areas(
        victims(ref, view.basis),
        view.level,
        current,
        previous,
        view.measure,
        view.kind,
        areas=list(facts_labels(ref, view.level)),
    )
    return style_areas(
        table, view.metric, breaks(ref, view.level, view.kind, view.measure), current.days
    )


@st.cache_data(show_spinner=False, max_entries=32)
def map_json(ref: StoreRef, view: View) -> str:
    """The map's deck.gl JSON for a view."""
    return mapview.deck_json(
        layer_shapes(ref, view.level),
        map_table(ref, view),
        facts_labels(ref, view.level),
        view.level,
        view.area,
    )


def facts_labels(ref: StoreRef, level: str) -> dict[str, str]:
    found = facts(ref)
    return found.labels[level] if found else {}


@dataclass(frozen=True)
class Panels:
    compstat: pd.DataFrame
    weekly: pd.DataFrame
    hours: pd.DataFrame
    age_sex: pd.DataFrame
    recent: pd.DataFrame


@st.cache_data(show_spinner=False, max_entries=32)
def panels(ref: StoreRef, view: View) -> Panels:
    """The side panels for the selected area (or the whole city)."""
    current, previous = spans(view)
    rows = victims(ref, view.basis)
    if view.area:
        rows = rows[rows[view.level] == view.area]
    chosen = select_kind(rows, view.kind)
    in_period = between_dates(chosen, current.start, current.end)
    return Panels(
        compstat=trends.compare_kinds(rows, current, previous, view.measure),
        weekly=profiles.weekly_this_vs_last(chosen, current, previous, view.measure),
        hours=profiles.hour_by_weekday(in_period),
        age_sex=profiles.age_by_sex(in_period),
        recent=profiles.recent_incidents(in_period),
    )


def coverage_warnings(ref: StoreRef, view: View) -> list[str]:
    current, previous = spans(view)
    return trends.coverage_gaps(months_with_records(ref, view.basis), [previous, current])


@st.cache_data(show_spinner=False, max_entries=2)
def months_with_records(ref: StoreRef, basis: str) -> set[str]:
    """Months with any record; from the frame the view already loaded (same on either basis)."""
    return set(victims(ref, basis)["occurred_at"].dt.strftime("%Y-%m").unique())


@st.cache_data(show_spinner="Drawing the brief...", max_entries=8)
def brief_pdf(ref: StoreRef, level: str, area: str, as_of: date, measure: str) -> bytes:
    """The one-page meeting brief (year to date) as PDF bytes."""
    from pipeline.brief import make_brief  # matplotlib: loaded only when asked for

    with tempfile.TemporaryDirectory() as tmp:
        path = make_brief(
            Store(Path(ref.path)), level, area, Path(tmp) / "brief.pdf", as_of, measure
        )
        return path.read_bytes()
