"""Outreach numbers from the store: hot spots, emerging hot spots, open retaliation windows.

Each function reads what it needs (geometry basis) and hands pure tables to
`geo.hotspots`, `geo.emerging` and `geo.nearrepeat`. The grid of a level (its
areas, neighbours and weights) costs more than one Gi* run on hexagons, so
callers that ask several questions build it once (`grid_of`) and pass it in;
the page keeps one per store version. Hot spots and emerging hot spots for the
default windows are computed at sync (`store_outreach_tables`; a full read plans its
grids while the victims download, `plan_step_grids`) and read back (`stored_emerging`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import duckdb
import numpy as np
import pandas as pd
import shapely

from geo import emerging, gistar, hexgrid, hotspots, nearrepeat
from geo.layers import BoundaryLayer, beat_districts
from pipeline.aggregate import between_dates, check_choice, select_kind
from pipeline.queries import Reader, load_layer, load_victims
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
#: What the post-sync step reads of each victim (the current beat comes with every read).
STEP_COLUMNS = ("occurred_at", "gunshot", "fatal", "latitude", "longitude")
SLICE_DAYS = 30
#: The windows precomputed at sync: 12 slices ending on the store's latest day.
DEFAULT_MONTHS = 12
DEFAULT_KIND = "shootings"
#: Fewer permutations for emerging hot spots on the hexagon grid: 12 slices of ~5,600
#: cells at 999 permutations would take ~2 s of every sync (199: ~0.3 s).
EMERGING_PERMUTATIONS = {"beat": hotspots.PERMUTATIONS, "hex": 199}
EMERGING_TABLE = "emerging_hotspots"
#: Hot spots of the default window (the 365 days to the latest day), written at sync.
HOTSPOT_TABLE = "hotspots_stored"
HOTSPOT_DAYS = 365
HOTSPOT_COLUMNS: dict[str, str] = {
    "level": "VARCHAR",
    "start": "DATE",
    "end": "DATE",
    "kind": "VARCHAR",
    "permutations": "INTEGER",
    "area": "VARCHAR",
    "count": "INTEGER",
    "z": "DOUBLE",
    "p": "DOUBLE",
    "p_fdr": "DOUBLE",
    "class": "VARCHAR",
}
#: Each level's areas and neighbours, written at sync, and a digest of the beats they were
#: built from (a sync that brings only victims keeps them).
GRID_TABLE = "outreach_grid"
GRID_SOURCE_TABLE = "outreach_grid_source"
EMERGING_COLUMNS: dict[str, str] = {
    "level": "VARCHAR",
    "as_of": "DATE",
    "months": "INTEGER",
    "kind": "VARCHAR",
    "permutations": "INTEGER",
    "area": "VARCHAR",
    "category": "VARCHAR",
    "hot_slices": "INTEGER",
    "slices": "INTEGER",
    "trend_z": "DOUBLE",
    "trend_p": "DOUBLE",
    "last_class": "VARCHAR",
    "total": "INTEGER",
}


@dataclass(frozen=True)
class Grid:
    """A level's areas and their neighbours; the Gi* weights over them are built on first
    use (a page that reads stored results never needs them)."""

    level: str
    keys: list[str]
    neighbours: dict[str, list[str]]

    @cached_property
    def weights(self) -> gistar.Weights:
        return hotspots.binary_weights(self.keys, self.neighbours)


def shootings(
    store: Store, start: date | None, end: date | None, kind: str = "shootings"
) -> pd.DataFrame:
    """Victims of `kind` in [start, end] with their points and current areas."""
    return select_kind(load_victims(store, start, end, columns=POINT_COLUMNS), kind)


def grid_of(con: duckdb.DuckDBPyConnection, level: str) -> Grid:
    """Beats (contiguity) or H3 cells over the city (first ring), with their weights: as
    the sync stored them, or built from the beats when the store predates that step."""
    check_choice("level", level, LEVELS)
    keys, neighbours = _stored_grid(con, level) or build_grid(con, level)
    return Grid(level, keys, neighbours)


def build_grid(
    con: duckdb.DuckDBPyConnection, level: str
) -> tuple[list[str], dict[str, list[str]]]:
    beats = load_layer(con, "beats")
    if level == "beat":
        keys = [str(k) for k in beats.keys]
        return keys, hotspots.touching_neighbours(keys, beats.geometries)
    cells = hexgrid.cells_covering(beats.geometries)
    return cells, hexgrid.ring_neighbours(cells)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchall()
    )


def _stored_grid(
    con: duckdb.DuckDBPyConnection, level: str
) -> tuple[list[str], dict[str, list[str]]] | None:
    if not _has_table(con, GRID_TABLE):
        return None
    rows = con.execute(
        f"SELECT area, neighbours FROM {GRID_TABLE} WHERE level = ? ORDER BY area", [level]
    ).fetchall()
    if not rows:
        return None
    return [r[0] for r in rows], {r[0]: list(r[1]) for r in rows}


def _grid(store: Store, level: str, given: Grid | None) -> Grid:
    if given is not None:
        check_choice("level", level, (given.level,))
        return given
    with store.read() as con:
        return grid_of(con, level)


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
    grid: Grid | None = None,
) -> pd.DataFrame:
    """Gi* for every area: area, count, z, p, p_fdr, class."""
    built = _grid(store, level, grid)
    victims = shootings(store, start, end, kind)
    return hotspots.gi_star(
        _counts(victims, built, start, end), built.neighbours, permutations, weights=built.weights
    )


def _counts(
    victims: pd.DataFrame, built: Grid, start: date, end: date, areas: pd.Series | None = None
) -> pd.Series:
    """Victims per area of the grid in [start, end], zeros included. `areas`: each
    victim's area (`area_of`), when the caller has found them already."""
    inside = between_dates(victims, start, end)
    found = area_of(inside, built.level) if areas is None else areas[inside.index]
    return found.value_counts().reindex(built.keys, fill_value=0)


def stored_hotspots(
    con: duckdb.DuckDBPyConnection, level: str, start: date, end: date, kind: str = DEFAULT_KIND
) -> pd.DataFrame | None:
    """The hot spots computed at sync for exactly this window, or None."""
    if not _has_table(con, HOTSPOT_TABLE):
        return None
    table = con.execute(
        f'SELECT area, "count", z, p, p_fdr, "class" FROM {HOTSPOT_TABLE} '
        'WHERE level = ? AND "start" = ? AND "end" = ? AND kind = ? ORDER BY area',
        [level, start, end, kind],
    ).df()
    return table if len(table) else None


def slices(as_of: date, months: int) -> list[tuple[date, date]]:
    """`months` back-to-back 30-day slices ending on `as_of`, oldest first."""
    ends = [as_of - timedelta(days=SLICE_DAYS * k) for k in range(months)][::-1]
    return [(end - timedelta(days=SLICE_DAYS - 1), end) for end in ends]


def emerging_table(
    store: Store,
    level: str,
    as_of: date,
    months: int = DEFAULT_MONTHS,
    kind: str = DEFAULT_KIND,
    permutations: int = hotspots.PERMUTATIONS,
    grid: Grid | None = None,
) -> pd.DataFrame:
    """Emerging-hot-spot category per area over `months` 30-day slices ending on `as_of`."""
    built = _grid(store, level, grid)
    spans = slices(as_of, months)
    victims = shootings(store, spans[0][0], as_of, kind)
    return _emerging(victims, built, spans, permutations)


def _emerging(
    victims: pd.DataFrame,
    built: Grid,
    spans: list[tuple[date, date]],
    permutations: int,
    areas: pd.Series | None = None,
) -> pd.DataFrame:
    counts = slice_counts(victims, built, spans, areas)
    table = emerging.emerging_hotspots(
        counts, built.neighbours, permutations, weights=built.weights
    )
    return table.assign(total=counts.sum(axis=1).to_numpy())


def slice_counts(
    victims: pd.DataFrame,
    built: Grid,
    spans: list[tuple[date, date]],
    areas: pd.Series | None = None,
) -> pd.DataFrame:
    """Victims per area of the grid (rows, zeros included) in each of the back-to-back
    `spans` (columns, named by their last day), counted in one pass. `areas`: each
    victim's area (`area_of`), when the caller has found them already."""
    inside = between_dates(victims, spans[0][0], spans[-1][1])
    found = area_of(inside, built.level) if areas is None else areas[inside.index]
    starts = np.array([np.datetime64(start, "ns") for start, _ in spans])
    when = inside["occurred_at"].to_numpy().astype("datetime64[ns]")
    span = np.searchsorted(starts, when, side="right") - 1
    area = pd.Index(built.keys).get_indexer(pd.Index(found))
    known = area >= 0  # points outside the grid (or without a place) are not counted
    flat = np.bincount(
        area[known] * len(spans) + span[known], minlength=len(built.keys) * len(spans)
    )
    return pd.DataFrame(
        flat.reshape(len(built.keys), len(spans)),
        index=built.keys,
        columns=[f"{end:%Y-%m-%d}" for _, end in spans],
    )


@dataclass(frozen=True)
class StepGrids:
    """The grids of the post-sync step, worked out from the beats alone (`plan_step_grids`)."""

    grids: list[Grid]
    beats: str  # digest of the beats they are built from (`_fingerprint`)
    stored: bool  # already in the store; else the step writes them


def plan_step_grids(con: duckdb.DuckDBPyConnection) -> StepGrids | None:
    """Each level's grid for `store_outreach_tables` (as stored while the beats are those
    it was built from, else built: ~0.5 s for the hexagons), its Gi* weights and its
    permutation draws: the part of the step that needs no victims, done ahead (a full
    sync calls it while the pages download). None without beats."""
    beats = load_layer(con, "beats")
    if not beats.keys.size:
        return None
    source = _fingerprint(beats)
    kept = _kept_grids(con, source)
    grids = kept or [Grid(level, *build_grid(con, level)) for level in LEVELS]
    for built in grids:
        for permutations in {hotspots.PERMUTATIONS, EMERGING_PERMUTATIONS[built.level]}:
            gistar.prepare(built.weights, permutations, hotspots.SEED)
    return StepGrids(grids, source, stored=kept is not None)


def store_outreach_tables(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    changed: bool = True,
    planned: StepGrids | None = None,
) -> int:
    """Post-sync step on the sync's own write connection `con`: each level's grid (areas
    and neighbours, `outreach_grid`), the hot spots (`hotspots_stored`) and emerging hot
    spots (`emerging_hotspots`) of the default windows (both levels, to the store's
    latest day), replacing the last ones. A sync that `changed` neither victims nor
    boundaries keeps the tables it finds; the grids are kept while the beats are those
    they were built from. `planned`: the grids `plan_step_grids` worked out on the same
    beats. Returns the emerging rows written."""
    if not changed and all(_has_table(con, t) for t in (GRID_TABLE, EMERGING_TABLE, HOTSPOT_TABLE)):
        return 0
    _create_outreach_tables(con)
    for name in (EMERGING_TABLE, HOTSPOT_TABLE):
        con.execute(f"DELETE FROM {name}")
    latest = con.execute("SELECT max(occurred_at) FROM victims").fetchall()[0][0]
    step = None if latest is None else planned or plan_step_grids(con)
    if step is None:
        _replace_grids(con, [], "")
        return 0
    if not step.stored:
        _replace_grids(con, step.grids, step.beats)
    as_of = pd.Timestamp(latest).date()
    first = min(slices(as_of, DEFAULT_MONTHS)[0][0], hotspot_start(as_of))
    victims = select_kind(
        Reader(con, store).victims(first, as_of, columns=STEP_COLUMNS), DEFAULT_KIND
    )
    written = 0
    for built in step.grids:
        areas = area_of(victims, built.level)  # once for both windows (H3 cells take time)
        _insert(con, HOTSPOT_TABLE, _default_hotspots(victims, built, as_of, areas))
        table = _default_emerging(victims, built, as_of, areas)
        _insert(con, EMERGING_TABLE, table)
        written += len(table)
    return written


def _create_outreach_tables(con: duckdb.DuckDBPyConnection) -> None:
    for name, columns in (
        (GRID_TABLE, {"level": "VARCHAR", "area": "VARCHAR", "neighbours": "VARCHAR[]"}),
        (GRID_SOURCE_TABLE, {"beats": "VARCHAR"}),
        (EMERGING_TABLE, EMERGING_COLUMNS),
        (HOTSPOT_TABLE, HOTSPOT_COLUMNS),
    ):
        quoted = ", ".join(f'"{n}" {t}' for n, t in columns.items())
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({quoted})")


def _fingerprint(beats: BoundaryLayer) -> str:
    """A digest of the beats (keys and exact geometries) the grids are built from."""
    digest = hashlib.sha256("\n".join(map(str, beats.keys)).encode())
    for wkb in shapely.to_wkb(beats.geometries):
        digest.update(wkb)
    return digest.hexdigest()


def _kept_grids(con: duckdb.DuckDBPyConnection, source: str) -> list[Grid] | None:
    """Each level's grid as stored, if it was built from the beats of digest `source`
    (most syncs bring victims only), else None."""
    if not _has_table(con, GRID_SOURCE_TABLE):
        return None
    if con.execute(f"SELECT beats FROM {GRID_SOURCE_TABLE}").fetchall() != [(source,)]:
        return None
    found = [(level, _stored_grid(con, level)) for level in LEVELS]
    kept = [Grid(level, *grid) for level, grid in found if grid is not None]
    return kept if len(kept) == len(LEVELS) else None


def _replace_grids(con: duckdb.DuckDBPyConnection, grids: list[Grid], source: str) -> None:
    con.execute(f"DELETE FROM {GRID_TABLE}")
    con.execute(f"DELETE FROM {GRID_SOURCE_TABLE}")
    for built in grids:
        _insert(con, GRID_TABLE, pd.DataFrame(
            {"level": built.level, "area": built.keys,
             "neighbours": [built.neighbours[k] for k in built.keys]}
        ))  # fmt: skip
    if grids:
        con.execute(f"INSERT INTO {GRID_SOURCE_TABLE} VALUES (?)", [source])


def hotspot_start(as_of: date) -> date:
    """The first day of the default hot-spot window: the `HOTSPOT_DAYS` to `as_of`."""
    return as_of - timedelta(days=HOTSPOT_DAYS - 1)


def _default_hotspots(
    victims: pd.DataFrame, built: Grid, as_of: date, areas: pd.Series
) -> pd.DataFrame:
    """Gi* of the default window (the `HOTSPOT_DAYS` to `as_of`), as `HOTSPOT_TABLE` rows."""
    start = hotspot_start(as_of)
    hot = hotspots.gi_star(
        _counts(victims, built, start, as_of, areas), built.neighbours, weights=built.weights
    )
    return hot.assign(
        level=built.level, start=start, end=as_of, kind=DEFAULT_KIND,
        permutations=hotspots.PERMUTATIONS,
    )  # fmt: skip


def _default_emerging(
    victims: pd.DataFrame, built: Grid, as_of: date, areas: pd.Series
) -> pd.DataFrame:
    """Emerging hot spots of the default slices to `as_of`, as `EMERGING_TABLE` rows."""
    permutations = EMERGING_PERMUTATIONS[built.level]
    table = _emerging(victims, built, slices(as_of, DEFAULT_MONTHS), permutations, areas)
    return table.assign(
        level=built.level, as_of=as_of, months=DEFAULT_MONTHS, kind=DEFAULT_KIND,
        permutations=permutations,
    )  # fmt: skip


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame) -> None:
    con.register("outreach_rows", rows)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM outreach_rows")
    finally:
        con.unregister("outreach_rows")


def stored_emerging(
    con: duckdb.DuckDBPyConnection,
    level: str,
    as_of: date,
    months: int = DEFAULT_MONTHS,
    kind: str = DEFAULT_KIND,
) -> pd.DataFrame | None:
    """The emerging table computed at sync for exactly this window, or None (not stored:
    another window, or a store synced before this step existed)."""
    if not _has_table(con, EMERGING_TABLE):
        return None
    table = con.execute(
        f"SELECT area, category, hot_slices, slices, trend_z, trend_p, last_class, total "
        f"FROM {EMERGING_TABLE} WHERE level = ? AND as_of = ? AND months = ? AND kind = ? "
        "ORDER BY area",
        [level, as_of, months, kind],
    ).df()
    return table if len(table) else None


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


def area_places(con: duckdb.DuckDBPyConnection, built: Grid) -> pd.DataFrame:
    """Where each area of a grid lies: area, beat, district, community_area, lon, lat.

    A beat's community area is the one holding a point inside it; a hexagon's beat and
    community area are those holding its centre (None outside every one, e.g. the lake
    edge). Team areas select by these columns."""
    beats, areas = load_layer(con, "beats"), load_layer(con, "community_areas")
    if built.level == "beat":
        points = shapely.point_on_surface(beats.geometries)
        keys = [str(k) for k in beats.keys]
    else:
        centres = [hexgrid.cell_centre(c) for c in built.keys]
        points = shapely.points([c[0] for c in centres], [c[1] for c in centres])
        keys = list(built.keys)
    beat = _holder(points, beats.keys, beats.geometries)
    if built.level == "beat":
        beat = np.array(keys, dtype=object)
    districts = beat_districts(beats)
    return pd.DataFrame(
        {
            "area": keys,
            "beat": beat,
            "district": [districts.get(b) if b else None for b in beat],
            "community_area": _holder(points, areas.keys, areas.geometries),
            "lon": shapely.get_x(points).round(5),
            "lat": shapely.get_y(points).round(5),
        }
    )


def _holder(points: np.ndarray, names: np.ndarray, geometries: np.ndarray) -> np.ndarray:
    """For each point, the name of the polygon holding it (None where none does)."""
    out = np.full(len(points), None, dtype=object)
    if len(geometries):
        point_idx, shape_idx = shapely.STRtree(geometries).query(points, predicate="within")
        out[point_idx] = names[shape_idx]
    return out


def windows_with_places(windows: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """Open windows with the community area and district of their beat (current map)."""
    by_beat = places.drop_duplicates("beat").set_index("beat")
    return windows.assign(
        district=windows["beat"].map(by_beat["district"]),
        community_area=windows["beat"].map(by_beat["community_area"]),
    )


def common_blocks(victims: pd.DataFrame, level: str) -> dict[str, str]:
    """Each area's most common block among `victims` (ties: alphabetical), for names."""
    blocks = pd.DataFrame(
        {"area": area_of(victims, level), "block": victims["block"].astype("string")}
    ).dropna()
    if blocks.empty:
        return {}
    counted = blocks.value_counts().reset_index(name="n")
    best = counted.sort_values(["area", "n", "block"], ascending=[True, False, True])
    return dict(best.drop_duplicates("area")[["area", "block"]].itertuples(index=False))


def place_names(places: pd.DataFrame, blocks: dict[str, str], level: str) -> dict[str, str]:
    """A name people know for each area: 'Beat 1713, Albany Park'; a hexagon by the most
    common block of its shootings, or the community area its centre lies in."""
    names: dict[str, str] = {}
    for area, community in zip(places["area"], places["community_area"], strict=True):
        key, where = str(area), str(community).title() if pd.notna(community) else ""
        if level == "beat":
            names[key] = f"Beat {key}" + (f", {where}" if where else "")
        elif key in blocks:
            names[key] = blocks[key] + (f" ({where})" if where else "")
        else:
            names[key] = f"near {where}" if where else "outside community areas"
    return names
