"""Keep each victim's geometric beat, district and community area in step with the store.

Runs inside a sync's write block: refreshed layers are checked (valid, nested)
and get simplified copies for web maps; `victim_areas` gets the places of the
victims written (or of every victim when the boundaries changed); the fixed
map classes are recomputed from them.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from geo.assign import Placement, place_victims
from geo.layers import (
    BoundaryError,
    check_layer,
    check_nesting,
    load_layer,
    parent_keys,
    web_geometries,
)
from geo.maplayers import class_breaks
from pipeline.aggregate import KINDS, MEASURES
from pipeline.boundaries import LAYER_OF_AREA
from pipeline.config import LEVELS
from pipeline.counts import rebuild_daily_counts
from pipeline.errors import InputFileError
from pipeline.store import MAP_BREAK_COLUMNS, VICTIM_AREA_COLUMNS, first_row


def refresh_boundaries(con: duckdb.DuckDBPyConnection, layers: list[str]) -> None:
    """Check the refreshed `layers` (and beat/district nesting) and store their web geometry."""
    try:
        for name in layers:
            layer = load_layer(con, name)
            check_layer(layer)
            web = pd.DataFrame({"key": layer.keys.astype(str), "web": web_geometries(layer)})
            con.register("web", web)
            con.execute(
                "UPDATE boundaries SET web_geometry = web.web FROM web "
                "WHERE boundaries.layer = ? AND boundaries.key = web.key",
                [name],
            )
            con.unregister("web")
        beats, districts = load_layer(con, "beats"), load_layer(con, "districts")
        if len(beats) and len(districts):
            check_nesting(beats, districts)
    except BoundaryError as exc:
        raise InputFileError(f"boundaries rejected: {exc}") from exc


def placement(con: duckdb.DuckDBPyConnection) -> Placement:
    """Every level of the registry, as `geo.assign.place_victims` takes them: the stored
    layers placed by geometry, and the levels derived through a finer one."""
    layers = {
        level.place_column: load_layer(con, level.layer)
        for level in LEVELS.values()
        if level.derived_from is None
    }
    derived = {}
    for level in LEVELS.values():
        if level.derived_from is not None:
            finer = LEVELS[level.derived_from].place_column
            mapping = parent_keys(layers[finer], str(level.parent_property))
            derived[level.place_column] = (finer, mapping)
    return Placement(layers, derived)


def keep_places_in_step(
    con: duckdb.DuckDBPyConnection,
    placed: pd.DataFrame,
    *,
    boundaries_changed: bool,
    victims_changed: bool,
    read_everything: bool,
) -> None:
    """After a sync's writes, bring `victim_areas` and the map classes up to date.

    `placed` holds the places of the victims just written (placed page by page
    during the read). New boundaries move every victim, so a partial read has the
    others placed here too; changed victims alone only need their own rows.
    """
    moved = boundaries_changed or victims_changed
    if boundaries_changed and not read_everything:
        refresh_victim_areas(con)
    elif moved:
        refresh_victim_areas(con, placed)
    if _unplaced_victims(con):  # a store from an older version
        refresh_victim_areas(con)
        moved = True
    if moved or not first_row(con, "SELECT 1 FROM daily_counts LIMIT 1"):
        rebuild_daily_counts(con)
        refresh_map_breaks(con)


def refresh_victim_areas(con: duckdb.DuckDBPyConnection, placed: pd.DataFrame | None = None) -> int:
    """Store `placed` (victims the caller placed with `place_victims`; by default every
    stored victim, placed here) in `victim_areas`, replacing their rows and dropping
    those of victims no longer stored. Return how many of them are in no beat. The map
    classes depend on these places: recompute them after (`map_break_rows`)."""
    if placed is None:
        victims = con.execute("SELECT unique_id, latitude, longitude FROM victims").df()
        placed = place_victims(victims, placement(con))
    con.register("placed", placed[list(VICTIM_AREA_COLUMNS)])
    con.execute("DELETE FROM victim_areas WHERE unique_id IN (SELECT unique_id FROM placed)")
    con.execute("INSERT INTO victim_areas BY NAME SELECT * FROM placed")
    con.execute("DELETE FROM victim_areas WHERE unique_id NOT IN (SELECT unique_id FROM victims)")
    con.unregister("placed")
    return int(pd.isna(placed[LEVELS["beat"].place_column]).sum())


def map_break_inputs(
    con: duckdb.DuckDBPyConnection,
) -> tuple[pd.DataFrame, dict[str, list[str]], list[int]]:
    """Yearly counts per level, area and kind (geometry basis) summed from `daily_counts`,
    each level's area keys, and the full years: those with a record in every month."""
    yearly = con.execute(
        "SELECT level, key, kind, year(day) AS year, sum(victims) AS victims, "
        "sum(incidents) AS incidents FROM daily_counts "
        "WHERE basis = 'geometry' AND level <> 'city' GROUP BY ALL"
    ).df()
    areas = {
        level: [
            key
            for (key,) in con.execute(
                "SELECT key FROM boundaries WHERE layer = ? ORDER BY key", [layer]
            ).fetchall()
        ]
        for level, layer in LAYER_OF_AREA.items()
    }
    years = [
        int(y)
        for (y,) in con.execute(
            "SELECT year(occurred_at) AS y FROM victims GROUP BY y "
            "HAVING count(DISTINCT month(occurred_at)) = 12 ORDER BY y"
        ).fetchall()
    ]
    return yearly, areas, years


def map_break_rows(
    yearly: pd.DataFrame, areas: dict[str, list[str]], years: list[int]
) -> pd.DataFrame:
    """`map_breaks` rows: fixed count classes for every level, kind and measure: quantiles
    of every area's count in every full year, zeros included. Pure."""
    rows = []
    for level, keys in areas.items():
        for kind in KINDS:
            mine = yearly[(yearly["level"] == level) & (yearly["kind"] == kind)]
            for measure in MEASURES:
                grid = (
                    mine.pivot_table(index="key", columns="year", values=measure, aggfunc="sum")
                    .reindex(index=keys, columns=years)
                    .fillna(0)
                )
                breaks = class_breaks(grid.to_numpy().ravel()) if keys and years else []
                rows.append([level, kind, measure, json.dumps(breaks), json.dumps(years)])
    return pd.DataFrame(rows, columns=list(MAP_BREAK_COLUMNS))


def write_map_breaks(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    con.execute("DELETE FROM map_breaks")
    con.register("breaks", rows)
    con.execute("INSERT INTO map_breaks BY NAME SELECT * FROM breaks")
    con.unregister("breaks")


def _unplaced_victims(con: duckdb.DuckDBPyConnection) -> bool:
    return (
        first_row(con, "SELECT 1 FROM victims ANTI JOIN victim_areas USING (unique_id) LIMIT 1")
        is not None
    )


def refresh_map_breaks(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the map classes from the daily counts (a few thousand rows)."""
    write_map_breaks(con, map_break_rows(*map_break_inputs(con)))
