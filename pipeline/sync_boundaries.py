"""Boundary layers in a sync: read the layers that are due, then replace them in the store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from pipeline.boundaries import boundary_rows
from pipeline.config import LAYERS
from pipeline.sources import BoundarySource
from pipeline.store import count_of
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
