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
    parent_keys,
    web_geometries,
)
from geo.maplayers import class_breaks
from pipeline.aggregate import KINDS, MEASURES
from pipeline.boundaries import LAYER_OF_AREA
from pipeline.config import LEVELS
from pipeline.counts import DIRTY, rebuild_daily_counts, refresh_daily_counts
from pipeline.errors import InputFileError
from pipeline.queries import load_layer
from pipeline.staging import LOAD_ORDER
from pipeline.store import MAP_BREAK_COLUMNS, VICTIM_AREA_COLUMNS, count_of
from pipeline.synclog import MakeBar, no_bar, phase


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
    placed: str,
    *,
    boundaries_changed: bool,
    victims_changed: bool,
    read_everything: bool,
    make_bar: MakeBar = no_bar,
) -> None:
    """After a sync's writes, bring `victim_areas`, the daily counts and the map classes
    up to date.

    `placed` names a relation holding the places of the victims just written
    (placed page by page during the read). New boundaries move every victim, so a
    partial read has the others placed here too; otherwise only the victims the write
    changed need their rows (a full read replaces the places of those it read).
    """
    moved = boundaries_changed or victims_changed
    if boundaries_changed and not read_everything:
        with phase(make_bar, "victims: placing every stored victim"):
            refresh_victim_areas(con)
    elif moved:  # placed during the read: new boundaries with a full read, or changed victims
        store_places(
            con,
            placed,
            replace_all=read_everything,
            only_changes=not boundaries_changed,
            order_by=LOAD_ORDER if read_everything else None,
        )
    if moved:
        with phase(make_bar, "victims: counting"):
            if boundaries_changed:  # every victim may have moved: count them all again
                con.execute(f"DROP TABLE IF EXISTS {DIRTY}")
                rebuild_daily_counts(con)
            else:  # only the days the written victims touch
                refresh_daily_counts(con)
            refresh_map_breaks(con)


#: Stored victims placed at a time when every one is placed again.
PLACE_BATCH_ROWS = 500_000


def refresh_victim_areas(con: duckdb.DuckDBPyConnection) -> None:
    """Place every stored victim again (new boundaries), a batch of rows at a time so
    memory stays bounded, and replace `victim_areas` with the result. The map classes
    depend on these places: recompute them after (`refresh_map_breaks`)."""
    where = placement(con)
    columns = list(VICTIM_AREA_COLUMNS)
    spec = ", ".join(f'"{c}" {kind}' for c, kind in VICTIM_AREA_COLUMNS.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE placed_again ({spec})")
    # Numbered here: rowids of rows written in this (uncommitted) transaction are huge.
    # By time, so `placed_again` is stored in time order (see `staging.LOAD_ORDER`).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE to_place AS "
        "SELECT row_number() OVER (ORDER BY occurred_at, unique_id) - 1 AS n, "
        "unique_id, latitude, longitude, occurred_at FROM victims"
    )
    total = count_of(con, "SELECT count(*) FROM to_place")
    for first in range(0, total, PLACE_BATCH_ROWS):
        victims = con.execute(
            "SELECT unique_id, latitude, longitude, occurred_at FROM to_place "
            "WHERE n >= ? AND n < ? ORDER BY n",
            [first, first + PLACE_BATCH_ROWS],
        ).df()
        placed = place_victims(victims, where).assign(occurred_at=victims["occurred_at"].to_numpy())
        con.register("batch", placed[columns])
        con.execute("INSERT INTO placed_again BY NAME SELECT * FROM batch")
        con.unregister("batch")
    store_places(con, "placed_again", replace_all=True, only_changes=False)
    con.execute("DROP TABLE placed_again")
    con.execute("DROP TABLE to_place")


def store_places(
    con: duckdb.DuckDBPyConnection,
    placed: str,
    *,
    replace_all: bool,
    only_changes: bool = True,
    order_by: str | None = None,
) -> None:
    """Put the rows of relation `placed` in `victim_areas` (the victims' places): with
    `only_changes`, only the rows that differ from the stored ones, so a sync writes what
    changed (else every row, when all moved, in `order_by`'s order when given: the
    victims' first-load order, `staging.LOAD_ORDER`); then drop the rows of victims no
    longer stored (and, when `placed` holds every victim, `replace_all`, those it lacks)."""
    columns = ", ".join(f'"{c}"' for c in VICTIM_AREA_COLUMNS)
    if not only_changes:
        order = f" ORDER BY {order_by}" if order_by else ""
        con.execute("DELETE FROM victim_areas")
        con.execute(f"INSERT INTO victim_areas ({columns}) SELECT {columns} FROM {placed}{order}")
        return
    con.execute(
        "CREATE OR REPLACE TEMP TABLE moved AS SELECT unique_id FROM ("
        f"SELECT {columns} FROM {placed} EXCEPT SELECT {columns} FROM victim_areas)"
    )
    con.execute("DELETE FROM victim_areas WHERE unique_id IN (SELECT unique_id FROM moved)")
    con.execute(
        f"INSERT INTO victim_areas ({columns}) SELECT {columns} FROM {placed} "
        "SEMI JOIN moved USING (unique_id)"
    )
    con.execute("DROP TABLE moved")
    gone = f"(SELECT unique_id FROM {placed})" if replace_all else "(SELECT unique_id FROM victims)"
    con.execute(f"DELETE FROM victim_areas WHERE unique_id NOT IN {gone}")


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


def refresh_map_breaks(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the map classes from the daily counts (a few thousand rows)."""
    write_map_breaks(con, map_break_rows(*map_break_inputs(con)))
