"""Boundary layers in a sync: read the layers that are due, then replace them in the store,
and the residents per area that rates divide by (`area_population`), once per vintage."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline import rates
from pipeline.boundaries import boundary_rows
from pipeline.config import LAYERS
from pipeline.errors import UsageError
from pipeline.queries import load_layer
from pipeline.sources import BoundarySource
from pipeline.store import TABLES, count_of
from pipeline.synclog import MakeBar, SyncReport, log_sync, no_bar, utc_now


@dataclass
class BoundaryRead:
    """One layer as read from its source; `collection` is None when the stored copy stays."""

    layer: str
    source: BoundarySource
    collection: dict[str, Any] | None
    started: datetime
    seconds: float = 0.0


def read_boundaries(
    con: duckdb.DuckDBPyConnection,
    sources: dict[str, BoundarySource],
    refresh: set[str],
    make_bar: MakeBar = no_bar,
) -> list[BoundaryRead]:
    """Read each layer that is not stored yet or is in `refresh`."""
    reads = []
    for layer, source in sources.items():
        started, clock = utc_now(), time.perf_counter()
        stored = count_of(con, "SELECT count(*) FROM boundaries WHERE layer = ?", [layer])
        if stored and layer not in refresh:
            reads.append(BoundaryRead(layer, source, None, started))
            continue
        bar = make_bar(layer, None)
        try:
            collection = source.feature_collection()
            bar.update(len(collection.get("features") or []))
        finally:
            bar.close()
        reads.append(BoundaryRead(layer, source, collection, started, time.perf_counter() - clock))
    return reads


def store_boundary(con: duckdb.DuckDBPyConnection, sync_id: int, read: BoundaryRead) -> SyncReport:
    """Replace one layer with what was read (unless nothing was); log it."""
    if read.collection is None:
        return SyncReport(read.layer, read.source.description, "skipped")
    clock = time.perf_counter()
    rows = boundary_rows(LAYERS[read.layer], read.collection, read.source.description)
    old = dict(
        con.execute("SELECT key, geometry FROM boundaries WHERE layer = ?", [read.layer]).fetchall()
    )
    new = dict(zip(rows["key"], rows["geometry"], strict=True))
    changed = sum(1 for key in new.keys() & old.keys() if bytes(old[key]) != new[key])
    con.execute("DELETE FROM boundaries WHERE layer = ?", [read.layer])
    con.register("incoming_boundaries", rows)
    con.execute("INSERT INTO boundaries BY NAME SELECT * FROM incoming_boundaries")
    con.unregister("incoming_boundaries")
    report = SyncReport(
        read.layer,
        read.source.description,
        "full",
        rows_fetched=len(rows),
        rows_added=len(new.keys() - old.keys()),
        rows_updated=changed,
        rows_removed=len(old.keys() - new.keys()),
        seconds=read.seconds + time.perf_counter() - clock,
    )
    log_sync(con, sync_id, report, read.started)
    return report


def plan_populations(
    con: duckdb.DuckDBPyConnection, census: Path | None, boundaries_changed: bool
) -> pd.DataFrame | None:
    """The `area_population` rows for the stored layers and the census file (None: the shipped
    one), or None when the stored rows still hold (same layers, same file). Computed before
    the write (~0.1 s a layer) so that the page never estimates.
    A census file that does not fit the community areas gives no rows: the page and the
    CLI then compute it themselves and say why there are no rates."""
    try:
        digest = rates.census_digest(census)
        stored = con.execute("SELECT DISTINCT census_sha256 FROM area_population").fetchall()
        if not boundaries_changed and [row[0] for row in stored] == [digest]:
            return None
        # Each layer read once: every rated level is estimated from the community areas.
        layer = functools.cache(functools.partial(load_layer, con))
        return rates.population_rows(layer, census, digest)
    except UsageError:
        return pd.DataFrame(columns=list(TABLES["area_population"]))


def store_populations(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame | None) -> None:
    """Replace the stored `area_population` with `rows` (None: keep it)."""
    if rows is None:
        return
    con.execute("DELETE FROM area_population")
    con.register("incoming_population", rows)
    con.execute("INSERT INTO area_population BY NAME SELECT * FROM incoming_population")
    con.unregister("incoming_population")
