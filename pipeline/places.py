"""Keep each victim's geometric beat, district and community area in step with the store.

Runs inside a sync's write block, after boundaries and victims are written:
the layers are checked (valid, nested), simplified copies are stored for web
maps, and `victim_areas` is rebuilt from the points.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from geo.assign import place_victims
from geo.layers import BoundaryError, check_layer, check_nesting, load_layer, web_geometries
from pipeline.errors import InputFileError
from pipeline.store import VICTIM_AREA_COLUMNS


def refresh_boundaries(con: duckdb.DuckDBPyConnection, layers: list[str]) -> None:
    """Check the refreshed `layers` (and beat/district nesting) and store their web geometry."""
    try:
        for name in layers:
            layer = load_layer(con, name)
            check_layer(layer)
            con.executemany(
                "UPDATE boundaries SET web_geometry = ? WHERE layer = ? AND key = ?",
                [[g, name, k] for k, g in zip(layer.keys, web_geometries(layer), strict=True)],
            )
        beats, districts = load_layer(con, "beats"), load_layer(con, "districts")
        if len(beats) and len(districts):
            check_nesting(beats, districts)
    except BoundaryError as exc:
        raise InputFileError(f"boundaries rejected: {exc}") from exc


def refresh_victim_areas(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild `victim_areas` for every victim; return how many are in no beat."""
    victims = con.execute("SELECT unique_id, latitude, longitude FROM victims").df()
    placed = place_victims(victims, load_layer(con, "beats"), load_layer(con, "community_areas"))
    con.register("placed", placed[list(VICTIM_AREA_COLUMNS)])
    con.execute("DELETE FROM victim_areas")
    con.execute("INSERT INTO victim_areas BY NAME SELECT * FROM placed")
    con.unregister("placed")
    return int(pd.isna(placed["geo_beat"]).sum())
