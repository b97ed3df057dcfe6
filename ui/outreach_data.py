"""Cached outreach queries for the page (store ref first, small arguments).

The grid of a level (areas, neighbours, Gi* weights) is built once per store
version (`cache_resource` keyed by the `StoreRef`, whose identity every sync
renews); hot spots and emerging hot spots of the default window come from the
tables the sync wrote, and are computed here only for another date or an older
store.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pandas as pd
import shapely
import shapely.geometry
import streamlit as st

from pipeline import outreach
from pipeline.store import Store
from ui import outreach_tables as tables
from ui.data import SharedStore, StoreRef, layer_shapes, reader
from ui.outreach_map import CLASS_COLOURS, EMERGING_COLOURS, deck_json
from ui.outreach_state import LEVELS, OutreachView

#: The page's team scopes and the map level whose shapes draw each one.
SCOPE_LAYER = {"district": "district", "beats": "beat", "community_area": "community_area"}


def _store(ref: StoreRef) -> Store:
    return SharedStore(ref)


@st.cache_resource(show_spinner="Building the grid...", max_entries=4)
def grid(ref: StoreRef, level: str) -> outreach.Grid:
    """Areas, neighbours and weights of `level`, once per store version (read-only)."""
    with reader(ref) as q:
        return outreach.grid_of(q.con, level)


@st.cache_data(show_spinner="Testing for hot spots...", max_entries=8)
def hotspots(ref: StoreRef, level: str, start: date, end: date, kind: str) -> pd.DataFrame:
    """Gi* per area: as the sync stored it for the default window, else computed."""
    with reader(ref) as q:
        stored = outreach.stored_hotspots(q.con, level, start, end, kind)
    if stored is not None:
        return stored
    return outreach.hotspot_table(_store(ref), level, start, end, kind, grid=grid(ref, level))


@st.cache_data(show_spinner="Looking for emerging hot spots...", max_entries=8)
def emerging(ref: StoreRef, level: str, as_of: date, kind: str) -> pd.DataFrame:
    with reader(ref) as q:
        stored = outreach.stored_emerging(q.con, level, as_of, outreach.DEFAULT_MONTHS, kind)
    if stored is not None:
        return stored
    permutations = outreach.EMERGING_PERMUTATIONS[level]
    return outreach.emerging_table(
        _store(ref), level, as_of, outreach.DEFAULT_MONTHS, kind, permutations, grid(ref, level)
    )


@st.cache_data(show_spinner=False, max_entries=16)
def windows(ref: StoreRef, as_of: date, days: int, radius_m: int, window_days: int) -> pd.DataFrame:
    """Open windows with their district and community area (of their beat)."""
    table = outreach.windows_table(_store(ref), as_of, days, radius_m, window_days)
    return outreach.windows_with_places(table, places(ref, "beat"))


@st.cache_data(show_spinner="Running the Knox test...", max_entries=8)
def knox(ref: StoreRef, start: date, end: date) -> pd.DataFrame:
    return outreach.knox_table(_store(ref), start, end, permutations=199)


@st.cache_data(show_spinner=False, max_entries=2)
def shapes(ref: StoreRef, level: str) -> list[dict[str, Any]]:
    if level == "beat":
        return layer_shapes(ref, "beat")
    return [{"key": cell, "hexagon": cell} for cell in grid(ref, "hex").keys]  # drawn by id


@st.cache_data(show_spinner=False, max_entries=4)
def places(ref: StoreRef, level: str) -> pd.DataFrame:
    """Each area's beat, district, community area and point (see `outreach.area_places`)."""
    with reader(ref) as q:
        return outreach.area_places(q.con, grid(ref, level))


@st.cache_data(show_spinner=False, max_entries=8)
def names(ref: StoreRef, level: str, start: date, end: date) -> dict[str, str]:
    """A name people know for each area: its most common block, or its community area."""
    blocks = (
        outreach.common_blocks(outreach.shootings(_store(ref), start, end), level)
        if level == "hex"
        else {}
    )
    return outreach.place_names(places(ref, level), blocks, level)


@st.cache_data(show_spinner=False, max_entries=16)
def team_shape(ref: StoreRef, scope: str, chosen: tuple[str, ...]) -> dict[str, Any] | None:
    """The team area's outline as one GeoJSON geometry (EPSG:4326), None for the city."""
    if scope not in SCOPE_LAYER or not chosen:
        return None
    wanted = set(chosen)
    pieces = [
        shapely.geometry.shape(s["geometry"])
        for s in layer_shapes(ref, SCOPE_LAYER[scope])
        if s["key"] in wanted
    ]
    if not pieces:
        return None
    merged = shapely.union_all(pieces)
    return dict(shapely.geometry.mapping(merged))


@st.cache_data(show_spinner=False, max_entries=16)
def map_spec(ref: StoreRef, view: OutreachView, as_of: date, tiles: bool) -> str:
    """The map's deck.gl JSON for a view, kept so a rerun (another widget) skips it."""
    start = outreach.hotspot_start(as_of)
    if view.shows == "hot":
        table = hotspots(ref, view.level, start, as_of, "shootings")
        column, colours = "class", CLASS_COLOURS
        wording = {c: tables.class_words(c) for c in CLASS_COLOURS}
    else:
        table = emerging(ref, view.level, as_of, "shootings")
        column, colours, wording = "category", EMERGING_COLOURS, tables.EMERGING_WORDS
    keep = tables.in_team(places(ref, view.level), view.scope, view.chosen())
    return deck_json(
        shapes(ref, view.level),
        table[tables.among(table["area"], keep)],
        column,
        colours,
        team_windows(ref, view, as_of),
        view.radius,
        names(ref, view.level, start, as_of),
        wording,
        team_shape(ref, view.scope, view.chosen()),
        tiles,
    )


def team_windows(ref: StoreRef, view: OutreachView, as_of: date) -> pd.DataFrame:
    """The open windows of the view whose beat lies in the team area."""
    table = windows(ref, as_of, view.days, view.radius, view.window)
    beats = tables.in_team(places(ref, "beat"), view.scope, view.chosen())
    return table[tables.among(table["beat"], beats)]


def warm_other_levels(ref: StoreRef, view: OutreachView, as_of: date, tiles: bool) -> None:
    """Compute what the same view on the other level shows (its grid, places, names,
    tables and map), for a session's first page once it is drawn: a server's first switch
    to hexagons then reads caches (it cost ~0.2 s more than a later switch, of the ~1 s a
    browser takes). Not on later reruns: another view's map costs ~50 ms to build."""
    start = outreach.hotspot_start(as_of)
    for level in LEVELS:
        if level != view.level:
            names(ref, level, start, as_of)
            hotspots(ref, level, start, as_of, "shootings")
            emerging(ref, level, as_of, "shootings")
            map_spec(ref, replace(view, level=level), as_of, tiles)
