"""Cached outreach queries for the page (store path + version first, small arguments)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from pipeline import outreach
from pipeline.store import Store
from ui.data import StoreRef, layer_shapes

#: Fewer permutations for emerging hot spots on the hexagon grid: 12 slices of
#: ~5,600 cells at 999 permutations would take a minute per view.
HEX_EMERGING_PERMUTATIONS = 199


def _store(ref: StoreRef) -> Store:
    return Store(Path(ref.path))


@st.cache_data(show_spinner="Testing for hot spots...", max_entries=8)
def hotspots(ref: StoreRef, level: str, start: date, end: date, kind: str) -> pd.DataFrame:
    return outreach.hotspot_table(_store(ref), level, start, end, kind)


@st.cache_data(show_spinner="Looking for emerging hot spots...", max_entries=8)
def emerging(ref: StoreRef, level: str, as_of: date, kind: str) -> pd.DataFrame:
    permutations = HEX_EMERGING_PERMUTATIONS if level == "hex" else 999
    return outreach.emerging_table(_store(ref), level, as_of, 12, kind, permutations)


@st.cache_data(show_spinner=False, max_entries=16)
def windows(ref: StoreRef, as_of: date, days: int, radius_m: int, window_days: int) -> pd.DataFrame:
    return outreach.windows_table(_store(ref), as_of, days, radius_m, window_days)


@st.cache_data(show_spinner="Running the Knox test...", max_entries=8)
def knox(ref: StoreRef, start: date, end: date) -> pd.DataFrame:
    return outreach.knox_table(_store(ref), start, end, permutations=199)


@st.cache_data(show_spinner=False, max_entries=2)
def shapes(ref: StoreRef, level: str) -> list[dict[str, Any]]:
    if level == "beat":
        return layer_shapes(ref, "beat")
    keys, _ = outreach.grid(_store(ref), "hex")
    return outreach.cell_shapes(keys)


@st.cache_data(show_spinner=False, max_entries=4)
def beat_areas(ref: StoreRef) -> pd.DataFrame:
    """Each beat's district and the community area holding most of it, for team filters."""
    import shapely

    from geo.layers import beat_districts, load_layer

    with _store(ref).read() as con:
        beats, areas = load_layer(con, "beats"), load_layer(con, "community_areas")
    points = shapely.point_on_surface(beats.geometries)
    tree = shapely.STRtree(areas.geometries)
    beat_idx, area_idx = tree.query(points, predicate="within")
    community = dict(zip(beats.keys[beat_idx], areas.keys[area_idx], strict=True))
    districts = beat_districts(beats)
    return pd.DataFrame(
        {
            "beat": list(beats.keys),
            "district": [districts[b] for b in beats.keys],
            "community_area": [community.get(b) for b in beats.keys],
        }
    )
