"""Sync: read each dataset from its source, validate, and write it into the store.

Everything happens inside one `Store.write()` block, so a failure anywhere
(network, schema drift, a bad boundary file, a kill) leaves the previous store
exactly as it was.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd

from geo.assign import place_victims
from geo.layers import BoundaryLayer
from pipeline.boundaries import LAYERS, boundary_rows
from pipeline.places import keep_places_in_step, placement_layers, refresh_boundaries
from pipeline.schema import VICTIM_COLUMNS, ParsedPage, combine_pages, parse_page
from pipeline.settings import Settings
from pipeline.sources import BoundarySource, VictimSource
from pipeline.sources.files import FileVictims, GeoJSONFile
from pipeline.sources.socrata import SocrataBoundary, SocrataClient, SocrataVictims
from pipeline.store import VICTIM_AREA_COLUMNS, Store, first_row


class Bar(Protocol):
    def update(self, n: int) -> Any: ...
    def close(self) -> Any: ...


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


MakeBar = Callable[[str, int | None], Bar]


def no_bar(description: str, total: int | None) -> Bar:
    return _NoBar()


@dataclass
class SyncReport:
    """What one dataset's sync did; also the row written to `sync_log`."""

    dataset: str
    source: str
    mode: str  # full | incremental | skipped
    rows_fetched: int = 0
    rows_added: int = 0
    rows_updated: int = 0
    rows_removed: int = 0
    rows_quarantined: int = 0
    watermark: str | None = None
    rule_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        if self.mode == "skipped":
            return f"{self.dataset}: unchanged (already in the store; --full re-reads it)"
        text = (
            f"{self.dataset}: {self.mode} sync from {_short(self.source)}: "
            f"{self.rows_fetched:,} fetched, {self.rows_added:,} added, "
            f"{self.rows_updated:,} updated, {self.rows_removed:,} removed, "
            f"{self.rows_quarantined:,} quarantined in {self.seconds:.1f} s"
        )
        if self.rule_counts:
            text += " (" + ", ".join(f"{r}: {n:,}" for r, n in self.rule_counts.items()) + ")"
        return text


@dataclass
class SyncRequest:
    """What to sync: a path replaces Socrata for that dataset."""

    full: bool = False
    victims: Sequence[Path] = ()
    boundaries: dict[str, Path] = field(default_factory=dict)  # layer name -> GeoJSON path


def run_sync(
    settings: Settings,
    request: SyncRequest,
    make_bar: MakeBar = no_bar,
    client: SocrataClient | None = None,
) -> list[SyncReport]:
    """Sync boundaries and victims into the store at `settings.store_path`, atomically."""
    victims_source, boundary_sources = _sources(settings, request, client)
    store = Store(settings.store_path)
    with store.write() as con, _cycle_collector_paused():
        sync_id = _next_sync_id(con)
        started, clock = _now(), time.perf_counter()
        since = None if request.full else incremental_watermark(con, victims_source, settings)
        # Boundary files are small: read them first. Then victims download in the
        # background while the layers are checked and stored here, so the wait on the
        # portal overlaps the geometry work. Only this thread uses `con`.
        layers = read_boundaries(con, boundary_sources, request, make_bar)
        expected = victims_source.count(since)
        # Each page is also placed on the boundaries as soon as they are stored.
        placing: Future[PlacementLayers] = Future()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fetch") as pool:
            download = pool.submit(_fetch, victims_source, since, expected, placing, make_bar)
            try:
                reports = [store_boundary(con, sync_id, read) for read in layers]
                refreshed = [r.dataset for r in reports if r.mode != "skipped"]
                stale = _layers_without_web_geometry(con)
                if refreshed or stale:
                    refresh_boundaries(con, sorted(set(refreshed) | set(stale)))
                placing.set_result(placement_layers(con))
            except BaseException as exc:
                placing.set_exception(exc)  # the download stops instead of waiting
                download.cancel()
                raise
            fetched = download.result()
        victims, placed = store_victims(con, sync_id, victims_source, fetched, since, started)
        changed = victims.rows_added or victims.rows_updated or victims.rows_removed
        keep_places_in_step(
            con,
            placed,
            boundaries_changed=bool(refreshed),
            victims_changed=bool(changed),
            read_everything=since is None,
        )
        victims.seconds = time.perf_counter() - clock
        reports.append(victims)
    return reports


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for the sync. A page is tens of thousands of fresh
    row dicts that form no cycles (reference counting frees them), yet each collection
    walks them all again: measured at 0.2 s of a 60,000-row sync."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _sources(
    settings: Settings, request: SyncRequest, client: SocrataClient | None
) -> tuple[VictimSource, dict[str, BoundarySource]]:
    """File sources where paths were given, Socrata for the rest (one shared client)."""

    def socrata() -> SocrataClient:
        nonlocal client
        client = client or SocrataClient(settings)
        return client

    victims: VictimSource = (
        FileVictims(request.victims)
        if request.victims
        else SocrataVictims(socrata(), settings.victims_dataset)
    )
    datasets = {
        "beats": settings.beats_dataset,
        "districts": settings.districts_dataset,
        "community_areas": settings.community_areas_dataset,
    }
    boundaries: dict[str, BoundarySource] = {
        layer: GeoJSONFile(request.boundaries[layer])
        if layer in request.boundaries
        else SocrataBoundary(socrata(), datasets[layer])
        for layer in LAYERS
    }
    return victims, boundaries


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
    request: SyncRequest,
    make_bar: MakeBar = no_bar,
) -> list[BoundaryRead]:
    """Read each layer that is not stored yet, or whose refresh was asked for
    (`--full`, or a path given for it)."""
    reads = []
    for layer, source in sources.items():
        started, clock = _now(), time.perf_counter()
        stored = first_row(con, "SELECT count(*) FROM boundaries WHERE layer = ?", [layer])
        if stored and stored[0] and not (request.full or layer in request.boundaries):
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
    _log(con, sync_id, report, read.started)
    return report


def store_victims(
    con: duckdb.DuckDBPyConnection,
    sync_id: int,
    source: VictimSource,
    fetched: Fetched,
    since: str | None,
    started: datetime,
) -> tuple[SyncReport, pd.DataFrame]:
    """Validate a read, then replace (full read) or upsert (incremental) it; log it.
    Return the report and the places of the victims written."""
    validated = combine_pages(fetched.pages, dataset="victims")
    mode = "full" if since is None else "incremental"
    counts = _write_victims(con, sync_id, validated.victims, validated.quarantine, mode)
    report = SyncReport(
        "victims",
        source.description,
        mode,
        rows_fetched=fetched.rows,
        rows_quarantined=len(validated.quarantine),
        watermark=fetched.watermark or since,
        rule_counts=validated.rule_counts,
        **counts,
    )
    _log(con, sync_id, report, started)
    places = pd.concat(fetched.places, ignore_index=True) if fetched.places else None
    return report, places.iloc[validated.kept] if places is not None else _no_places()


def incremental_watermark(
    con: duckdb.DuckDBPyConnection, source: VictimSource, settings: Settings
) -> str | None:
    """The watermark to resume from, or None when a full read is due.

    A full read is due when the source cannot filter by update time, when the
    store was last filled from a different source, when there is no watermark
    yet, or when the last full read is older than `settings.full_refresh_days`
    (deletions upstream only disappear on a full read).
    """
    if not source.incremental:
        return None
    last = first_row(
        con,
        "SELECT source, watermark FROM sync_log WHERE dataset = 'victims' "
        "ORDER BY sync_id DESC LIMIT 1",
    )
    if last is None or last[0] != source.description or not last[1]:
        return None
    last_full = first_row(
        con,
        "SELECT max(finished_at) FROM sync_log WHERE dataset = 'victims' AND mode = 'full' "
        "AND source = ?",
        [source.description],
    )
    cutoff = _now() - timedelta(days=settings.full_refresh_days)
    if last_full is None or last_full[0] is None or last_full[0] < cutoff:
        return None
    return str(last[1])


@dataclass
class Fetched:
    """A read of victims: pages already typed (see `schema.parse_page`), not yet combined."""

    pages: list[ParsedPage] = field(default_factory=list)
    places: list[pd.DataFrame] = field(default_factory=list)  # `place_victims` per page
    rows: int = 0
    watermark: str | None = None  # the largest :updated_at seen


PlacementLayers = tuple[BoundaryLayer, BoundaryLayer]  # beats, community areas


def _fetch(
    source: VictimSource,
    since: str | None,
    expected: int | None,
    placing: Future[PlacementLayers],
    make_bar: MakeBar,
) -> Fetched:
    """Read every page, typing and placing each as it arrives so the work overlaps the
    next download. `placing` gives the boundaries once they are stored."""
    bar = make_bar("victims", expected)
    fetched = Fetched()
    try:
        for page in source.pages(since, expected):
            fetched.pages.append(parse_page(page))
            fetched.places.append(place_victims(fetched.pages[-1].typed, *placing.result()))
            fetched.rows += len(page)
            stamp = fetched.pages[-1].latest_update
            if stamp and (fetched.watermark is None or stamp > fetched.watermark):
                fetched.watermark = stamp
            bar.update(len(page))
    finally:
        bar.close()
    return fetched


def _write_victims(
    con: duckdb.DuckDBPyConnection,
    sync_id: int,
    victims: pd.DataFrame,
    quarantine: pd.DataFrame,
    mode: str,
) -> dict[str, int]:
    """Replace (full) or upsert (incremental) victims and their quarantine; return row counts."""
    con.register("incoming", victims[list(VICTIM_COLUMNS)])
    con.register("incoming_quarantine", quarantine)
    added = _scalar(con, "SELECT count(*) FROM incoming i ANTI JOIN victims v USING (unique_id)")
    updated = _scalar(
        con,
        "SELECT count(*) FROM incoming i JOIN victims v USING (unique_id) "
        "WHERE i.source_updated_at IS DISTINCT FROM v.source_updated_at",
    )
    if mode == "full":
        removed = _scalar(con, "SELECT count(*) FROM victims ANTI JOIN incoming USING (unique_id)")
        con.execute("DELETE FROM victims")
        con.execute("DELETE FROM quarantine WHERE dataset = 'victims'")
    else:  # rows read again replace their stored versions, good or quarantined
        con.execute(
            "CREATE OR REPLACE TEMP TABLE touched AS "
            "SELECT unique_id FROM incoming UNION "
            "SELECT unique_id FROM incoming_quarantine WHERE unique_id IS NOT NULL"
        )
        removed = _scalar(
            con,
            "SELECT count(*) FROM victims v SEMI JOIN touched USING (unique_id) "
            "ANTI JOIN incoming USING (unique_id)",
        )
        con.execute("DELETE FROM victims WHERE unique_id IN (SELECT unique_id FROM touched)")
        con.execute(
            "DELETE FROM quarantine WHERE dataset = 'victims' "
            "AND unique_id IN (SELECT unique_id FROM touched)"
        )
    con.execute("INSERT INTO victims BY NAME SELECT * FROM incoming")
    con.execute(
        "INSERT INTO quarantine BY NAME SELECT 'victims' AS dataset, "
        f"{int(sync_id)} AS sync_id, * FROM incoming_quarantine"
    )
    con.unregister("incoming")
    con.unregister("incoming_quarantine")
    return {"rows_added": added, "rows_updated": updated, "rows_removed": removed}


def _log(
    con: duckdb.DuckDBPyConnection, sync_id: int, report: SyncReport, started: datetime
) -> None:
    con.execute(
        "INSERT INTO sync_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            sync_id,
            report.dataset,
            report.source,
            report.mode,
            started,
            _now(),
            report.rows_fetched,
            report.rows_added,
            report.rows_updated,
            report.rows_removed,
            report.rows_quarantined,
            report.watermark,
        ],
    )


def _no_places() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in VICTIM_AREA_COLUMNS})


def _layers_without_web_geometry(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Layers stored by a version that did not keep simplified geometry."""
    rows = con.execute("SELECT DISTINCT layer FROM boundaries WHERE web_geometry IS NULL")
    return [r[0] for r in rows.fetchall()]


def _next_sync_id(con: duckdb.DuckDBPyConnection) -> int:
    return _scalar(con, "SELECT coalesce(max(sync_id), 0) + 1 FROM sync_log")


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Iterable[Any] = ()) -> int:
    row = first_row(con, sql, list(params))
    return int(row[0]) if row and row[0] is not None else 0


def _now() -> datetime:
    """UTC wall time without a zone, as DuckDB TIMESTAMP columns hold it."""
    return datetime.now(UTC).replace(tzinfo=None)


def _short(source: str) -> str:
    if source.startswith("file:"):
        files = source[5:].split(",")
        return f"{len(files)} file(s)" if len(files) > 1 else Path(files[0]).name
    return source
