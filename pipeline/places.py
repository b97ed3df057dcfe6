"""Keep each victim's geometric beat, district and community area in step with the store.

Runs inside a sync's write block, after boundaries and victims are written:
the layers are checked (valid, nested), simplified copies are stored for web
maps, and `victim_areas` is rebuilt from the points.
"""

from __future__ import annotations

import json

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
from pipeline.errors import InputFileError
from pipeline.store import MAP_BREAK_COLUMNS, VICTIM_AREA_COLUMNS


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
