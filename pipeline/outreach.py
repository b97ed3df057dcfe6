"""Outreach numbers from the store: hot spots, emerging hot spots, open retaliation windows.

Each function reads what it needs (geometry basis) and hands pure tables to
`geo.hotspots`, `geo.emerging` and `geo.nearrepeat`.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import shapely

from geo import emerging, hexgrid, hotspots, nearrepeat
from geo.layers import load_layer
from pipeline.aggregate import between_dates, check_choice, select_kind
from pipeline.queries import load_victims
from pipeline.store import Store

LEVELS = ("beat", "hex")
POINT_COLUMNS = (
    "unique_id",
    "case_number",
    "occurred_at",
    "gunshot",
    "fatal",
    "block",
    "latitude",
    "longitude",
)
SLICE_DAYS = 30


def shootings(
    store: Store, start: date | None, end: date | None, kind: str = "shootings"
) -> pd.DataFrame:
    """Victims of `kind` in [start, end] with their points and current beats."""
    return select_kind(load_victims(store, start, end, columns=POINT_COLUMNS), kind)


def grid(store: Store, level: str) -> tuple[list[str], dict[str, list[str]]]:
    """Area keys and neighbours: beats (contiguity) or H3 cells over the city (first ring)."""
    check_choice("level", level, LEVELS)
    with store.read() as con:
        beats = load_layer(con, "beats")
    if level == "beat":
        keys = [str(k) for k in beats.keys]
        return keys, hotspots.touching_neighbours(keys, beats.geometries)
    cells = hexgrid.cells_covering(shapely.union_all(beats.geometries))
    return cells, hexgrid.ring_neighbours(cells)


def area_of(victims: pd.DataFrame, level: str) -> pd.Series:
    if level == "beat":
        return victims["beat"].astype("string")
    return pd.Series(
        hexgrid.cells_of(victims["latitude"].to_numpy(), victims["longitude"].to_numpy()),
        index=victims.index,
    )


def hotspot_table(
    store: Store,
    level: str,
    start: date,
    end: date,
    kind: str = "shootings",
    permutations: int = hotspots.PERMUTATIONS,
) -> pd.DataFrame:
    """Gi* for every area: area, count, z, p, p_fdr, class."""
    keys, neighbours = grid(store, level)
    victims = shootings(store, start, end, kind)
    counts = area_of(victims, level).value_counts().reindex(keys, fill_value=0)
    return hotspots.gi_star(counts, neighbours, permutations)


def slices(as_of: date, months: int) -> list[tuple[date, date]]:
    """`months` back-to-back 30-day slices ending on `as_of`, oldest first."""
    ends = [as_of - timedelta(days=SLICE_DAYS * k) for k in range(months)][::-1]
    return [(end - timedelta(days=SLICE_DAYS - 1), end) for end in ends]


def emerging_table(
    store: Store,
    level: str,
    as_of: date,
    months: int = 12,
    kind: str = "shootings",
    permutations: int = hotspots.PERMUTATIONS,
) -> pd.DataFrame:
    """Emerging-hot-spot category per area over `months` 30-day slices ending on `as_of`."""
    keys, neighbours = grid(store, level)
    spans = slices(as_of, months)
    victims = shootings(store, spans[0][0], as_of, kind)
    areas = area_of(victims, level)
    counts = pd.DataFrame(
        {
            f"{end:%Y-%m-%d}": areas[between_dates(victims, start, end).index]
            .value_counts()
            .reindex(keys, fill_value=0)
            for start, end in spans
        },
        index=keys,
    )
    table = emerging.emerging_hotspots(counts, neighbours, permutations)
    return table.assign(total=counts.sum(axis=1).to_numpy())


def windows_table(
    store: Store,
    as_of: date,
    days: int = 14,
    radius_m: float = 400,
    window_days: int = 14,
    kind: str = "shootings",
) -> pd.DataFrame:
    """Open retaliation-risk windows on `as_of` (see `geo.nearrepeat.open_windows`)."""
    victims = shootings(store, as_of - timedelta(days=days + window_days), as_of, kind)
    return nearrepeat.open_windows(
        nearrepeat.incidents(victims), as_of, days, radius_m, window_days
    )


def knox_table(
    store: Store, start: date, end: date, kind: str = "shootings", permutations: int = 999
) -> pd.DataFrame:
    victims = shootings(store, start, end, kind)
    return nearrepeat.knox_test(nearrepeat.incidents(victims), permutations=permutations)


def cell_shapes(cells: list[str]) -> list[dict[str, object]]:
    """Hexagon outlines for maps."""
    return [{"key": c, "polygon": hexgrid.cell_polygon(c)} for c in cells]
