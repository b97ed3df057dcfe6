"""Keep each victim's geometric beat, district and community area in step with the store.

Runs inside a sync's write block: refreshed layers are checked (valid, nested)
and get simplified copies for web maps; `victim_areas` gets the places of the
victims written (or of every victim when the boundaries changed); the fixed
map classes are recomputed from them.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pandas as pd

from geo.assign import place_victims
from geo.layers import (
    BoundaryError,
    BoundaryLayer,
    check_layer,
    check_nesting,
    load_layer,
    web_geometries,
)
from geo.maplayers import full_years, reference_breaks
from pipeline.boundaries import LAYER_OF_AREA
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


def placement_layers(con: duckdb.DuckDBPyConnection) -> tuple[BoundaryLayer, BoundaryLayer]:
    """The stored beats and community areas, as `geo.assign.place_victims` takes them."""
    return load_layer(con, "beats"), load_layer(con, "community_areas")


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
    if moved or not first_row(con, "SELECT 1 FROM map_breaks LIMIT 1"):
        _refresh_map_breaks_while_writing(con)
    if moved or not first_row(con, "SELECT 1 FROM daily_counts LIMIT 1"):
        rebuild_daily_counts(con)


def refresh_victim_areas(con: duckdb.DuckDBPyConnection, placed: pd.DataFrame | None = None) -> int:
    """Store `placed` (victims the caller placed with `place_victims`; by default every
    stored victim, placed here) in `victim_areas`, replacing their rows and dropping
    those of victims no longer stored. Return how many of them are in no beat. The map
    classes depend on these places: recompute them after (`map_break_rows`)."""
    if placed is None:
        victims = con.execute("SELECT unique_id, latitude, longitude FROM victims").df()
        placed = place_victims(victims, *placement_layers(con))
    con.register("placed", placed[list(VICTIM_AREA_COLUMNS)])
    con.execute("DELETE FROM victim_areas WHERE unique_id IN (SELECT unique_id FROM placed)")
    con.execute("INSERT INTO victim_areas BY NAME SELECT * FROM placed")
    con.execute("DELETE FROM victim_areas WHERE unique_id NOT IN (SELECT unique_id FROM victims)")
    con.unregister("placed")
    return int(pd.isna(placed["geo_beat"]).sum())


def map_break_inputs(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Every stored victim with its geometric areas, and each level's area keys."""
    victims = con.execute(
        "SELECT v.case_number, v.occurred_at, v.gunshot, v.fatal, a.geo_district AS district, "
        "a.geo_beat AS beat, a.geo_community_area AS community_area "
        "FROM victims v LEFT JOIN victim_areas a USING (unique_id)"
    ).df()
    areas = {
        level: [
            key
            for (key,) in con.execute(
                "SELECT key FROM boundaries WHERE layer = ?", [layer]
            ).fetchall()
        ]
        for level, layer in LAYER_OF_AREA.items()
    }
    return victims, areas


def map_break_rows(victims: pd.DataFrame, areas: dict[str, list[str]]) -> pd.DataFrame:
    """`map_breaks` rows: fixed count classes for every level, kind and measure (geometry
    basis), from every full year on record. Pure."""
    years = full_years(victims) if len(victims) else []
    reference = victims[victims["occurred_at"].dt.year.isin(years)]
    rows = [
        [level, kind, measure, json.dumps(breaks), json.dumps(years)]
        for level, keys in areas.items()
        for (kind, measure), breaks in reference_breaks(reference, level, keys, years).items()
    ]
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


def _refresh_map_breaks_while_writing(con: duckdb.DuckDBPyConnection) -> None:
    """Compute the map classes in a helper thread while DuckDB writes out what the sync
    stored so far (about 0.1 s each; the commit releases the interpreter lock). The
    commit is inside the sync's private copy of the store, so nothing is published
    before the sync succeeds."""
    victims, areas = map_break_inputs(con)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="map-classes") as helper:
        computing = helper.submit(map_break_rows, victims, areas)
        con.commit()
        con.begin()
        write_map_breaks(con, computing.result())
