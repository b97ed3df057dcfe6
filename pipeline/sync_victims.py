"""Victims in a sync: where to resume, the read (typed and placed page by page, then
staged in DuckDB, see `pipeline.staging`), and the write that replaces or upserts
them with their quarantine."""

from __future__ import annotations

import contextlib
import ctypes
import json
import queue
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from geo.assign import Placement, place_victims
from pipeline.changes import find_changes, store_changes
from pipeline.counts import has_temp_table, note_count_changes
from pipeline.errors import IncompleteReadError, ShrinkError
from pipeline.schema import (
    RULE_SUPERSEDED,
    VICTIM_COLUMNS,
    DateWindow,
    ParsedPage,
    RawRows,
    check_readable_totals,
    check_source_columns,
    normalize_name,
    parse_page,
)
from pipeline.settings import Settings
from pipeline.sources import VictimSource
from pipeline.staging import (
    LOAD_ORDER,
    STAGED,
    ReadTally,
    create_staging,
    settle_duplicates,
    split_staged,
    stage,
    staged_frame,
)
from pipeline.store import (
    APPLY_MEMORY_LIMIT,
    VICTIM_AREA_COLUMNS,
    commit_so_far,
    count_of,
    first_row,
)
from pipeline.synclog import MakeBar, SyncReport, log_sync, no_bar, phase, utc_now


def placement_columns() -> list[str]:
    """The store's place columns (`victim_areas` but its id and time), one per level."""
    return [c for c in VICTIM_AREA_COLUMNS if c not in ("unique_id", "occurred_at")]


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
    cutoff = utc_now() - timedelta(days=settings.full_refresh_days)
    if last_full is None or last_full[0] is None or last_full[0] < cutoff:
        return None
    return str(last[1])


#: Pages typed and placed but not yet staged, at most: bounds memory when staging lags.
#: One is enough: a file source already reads the next block ahead (`files.read_ahead`).
PAGES_IN_FLIGHT = 1


#: Staged pages between commits (see `store.commit_so_far`).
PAGES_PER_COMMIT = 2


class _Restart:
    """Put in the page queue when a read starts again: drop what was staged."""


class _Done:
    """Put in the page queue after the last page of a read."""


#: A typed page and the position of its first row in the read.
TypedPage = tuple[ParsedPage, int]
PageQueue = queue.Queue[TypedPage | _Restart | _Done]


@dataclass
class Fetched:
    """A read of victims, its pages already handed to the staging (see `stage_victims`)."""

    tally: ReadTally = field(default_factory=ReadTally)
    #: The pages as received, kept only for a source that cannot be read again.
    raw_pages: list[RawRows] | None = None
    source: VictimSource | None = None

    def raw_rows(self, positions: np.ndarray) -> list[str]:
        """The raw JSON of the rows at `positions` of the read (sorted): from the pages
        kept, or by reading the source again."""
        pages: Iterable[RawRows] = (
            self.raw_pages
            if self.raw_pages is not None
            else (RawRows.of(page) for page in _source(self).pages())
        )
        found: list[str] = []
        start = 0
        for raw in pages:
            end = start + len(raw)
            mine = positions[(positions >= start) & (positions < end)] - start
            found += [json.dumps(r, default=str) for r in raw.rows(mine)]
            start = end
            if len(found) == len(positions):
                break
        return found


def _source(fetched: Fetched) -> VictimSource:
    if fetched.source is None:
        raise AssertionError("a read that is not kept must name its source")
    return fetched.source


def fetch_victims(
    source: VictimSource,
    since: str | None,
    make_bar: MakeBar,
    attempts: int = 1,
    out: PageQueue | None = None,
    stop: threading.Event | None = None,
) -> Fetched:
    """Read every page, typing each as it arrives, and hand it to `out` to be placed and
    staged (`stage_victims`) while the next page is read; `stop` ends the read early
    when the other side has failed. A read that does not
    reconcile with the source's own count is started again, up to `attempts` times
    in all; then its IncompleteReadError stands and nothing is written."""
    out = out if out is not None else queue.Queue()
    stop = stop or threading.Event()
    for attempt in range(1, attempts + 1):
        try:
            fetched = _read_once(source, since, make_bar, out, stop)
            _put(out, _Done(), stop)
            return fetched
        except IncompleteReadError as exc:
            if attempt == attempts:
                raise IncompleteReadError(
                    f"{exc}; gave up after {attempts} whole reads. Nothing in the store "
                    "was changed."
                ) from exc
            _put(out, _Restart(), stop)
    raise AssertionError("unreachable: attempts must be at least 1")


def _read_once(
    source: VictimSource,
    since: str | None,
    make_bar: MakeBar,
    out: PageQueue,
    stop: threading.Event,
) -> Fetched:
    expected = source.count(since)
    progress = _ReadProgress(source, expected, make_bar)
    rereadable = bool(getattr(source, "rereadable", False))
    fetched = Fetched(raw_pages=None if rereadable else [], source=source)
    dates = DateWindow.now()
    try:
        for page in source.pages(since, expected):
            progress.update(len(page))  # as read: typing and placing it comes next
            parsed = parse_page(page, dates)
            _put(out, (parsed, fetched.tally.rows), stop)
            fetched.tally.add(parsed)
            if fetched.raw_pages is not None:
                fetched.raw_pages.append(parsed.raw)
    finally:
        progress.close()
    return fetched


class _ReadProgress:
    """One bar for a read: bytes of the files for a source that tells them (a known
    total from the first page on), else rows against the source's count."""

    def __init__(self, source: VictimSource, expected: int | None, make_bar: MakeBar):
        self.source = source
        self.total_bytes: int | None = getattr(source, "total_bytes", None)
        if self.total_bytes is not None:
            self.bar = make_bar("victims: reading, checking, placing (MB)", _mb(self.total_bytes))
        else:
            self.bar = make_bar("victims", expected)
        self.shown = 0

    def update(self, rows: int) -> None:
        if self.total_bytes is None:
            self.bar.update(rows)
            return
        now = _mb(int(getattr(self.source, "bytes_read", 0)))
        self.bar.update(now - self.shown)
        self.shown = now

    def close(self) -> None:
        self.bar.close()


def _mb(size: int) -> int:
    return round(size / 1_000_000)


def _put(out: PageQueue, item: TypedPage | _Restart | _Done, stop: threading.Event) -> None:
    """Wait for room in `out`, unless the sync has failed meanwhile."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
    raise InterruptedError("the sync stopped while victims were being read")


def stage_victims(
    con: duckdb.DuckDBPyConnection,
    pages: PageQueue,
    download: Future[Fetched],
    where: Placement,
) -> Fetched:
    """Place and stage the pages `fetch_victims` hands over until its read ends; its
    result (or error). Runs in the thread that owns `con`, beside the read: placing
    (shapely) and staging (DuckDB) run while the next page is parsed."""
    create_staging(con, placement_columns())
    staged = 0
    while True:
        try:
            item = pages.get(timeout=0.1)
        except queue.Empty:
            if download.done() and pages.empty():
                return download.result()  # raises the read's error; no Done came
            continue
        if isinstance(item, _Done):
            return download.result()
        if isinstance(item, _Restart):
            con.execute(f"DELETE FROM {STAGED}")
        else:
            parsed, start = item
            places = place_victims(parsed.points_in_city(), where)
            stage(con, staged_frame(parsed, places, start))
            staged += 1
            if staged % PAGES_PER_COMMIT == 0:
                commit_so_far(con)


def plan_victims(
    con: duckdb.DuckDBPyConnection,
    sync_id: int,
    source: VictimSource,
    fetched: Fetched,
    since: str | None,
    settings: Settings,
    make_bar: MakeBar = no_bar,
) -> SyncReport:
    """Check the staged read as a whole, settle duplicate ids, and work out what it
    changes in the store (temporary tables; the store is only read, so readers carry
    on): the report `store_victims` then writes. The good rows' places stay in the
    `placed` view for `places.keep_places_in_step`. ShrinkError, before anything is
    written, when the write would take away too many stored rows."""
    tally = fetched.tally
    with phase(make_bar, "victims: checking"):
        if tally.rows:
            _check_whole_read(tally, source)
            superseded = settle_duplicates(con, fetched.raw_rows)
            if superseded:
                tally.rule_counts[RULE_SUPERSEDED] = superseded
        split_staged(con, placement_columns())
        mode = "full" if since is None else "incremental"
        counts = _plan_write(con, sync_id, mode)
    check_shrink(
        stored=counts["rows_before"],
        removed=counts["rows_removed"],
        kept=counts["rows_before"] - counts["rows_removed"] + counts["rows_added"],
        settings=settings,
    )
    del counts["rows_before"]
    return SyncReport(
        "victims",
        source.description,
        mode,
        rows_fetched=tally.rows,
        rows_quarantined=counts.pop("rows_quarantined"),
        watermark=tally.watermark or since,
        rule_counts=tally.broken_rules(),
        ignored_columns=tally.ignored_columns(),
        **counts,
    )


def store_victims(
    con: duckdb.DuckDBPyConnection,
    sync_id: int,
    report: SyncReport,
    started: datetime,
    make_bar: MakeBar = no_bar,
) -> SyncReport:
    """Write what `plan_victims` worked out (inside the store's apply), and log it."""
    with phase(make_bar, "victims: writing"):
        release_read_memory(con)
        _apply_write(con, sync_id, report.mode)
    log_sync(con, sync_id, report, started)
    return report


def release_read_memory(con: duckdb.DuckDBPyConnection) -> None:
    """Hand the memory the read's pages freed back to the system (Arrow's pool and the C
    heap keep it otherwise), and let DuckDB use it for the write and the counts
    (`store.APPLY_MEMORY_LIMIT`): the peak RSS is the read's, not the write's."""
    pa.default_memory_pool().release_unused()
    _malloc_trim()
    con.execute(f"SET memory_limit = '{APPLY_MEMORY_LIMIT}'")


def _malloc_trim() -> None:
    """glibc's `malloc_trim(0)`: return the free heap to the system; nothing elsewhere."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: its memory stays held
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _check_whole_read(tally: ReadTally, source: VictimSource) -> None:
    """The columns of the whole read (see `schema.combine_pages`) and their readability."""
    declared = {normalize_name(c) for c in source.declared_columns()}
    check_source_columns(
        tally.columns | declared,
        "victims",
        tally.rows,
        source.optional_columns,
        header=bool(declared),
    )
    check_readable_totals(tally.readability, "victims")


def check_shrink(stored: int, removed: int, kept: int, settings: Settings) -> None:
    """Refuse a write that removes (or quarantines) more than `settings.max_shrink` of
    the `stored` victims unless shrinking is allowed, and one that would leave no
    victim at all where there were some, always. Raised before the store's write, so
    the store stays as it was."""
    if stored and not kept:
        raise ShrinkError(
            f"victims: the source gave no valid row, which would empty the store of its "
            f"{stored:,} victims; nothing was changed. `python -m pipeline status` lists "
            "what was quarantined in earlier syncs; check the source."
        )
    share = removed / stored if stored else 0.0
    if share > settings.max_shrink and not settings.allow_shrink:
        raise ShrinkError(
            f"victims: this sync would remove or quarantine {removed:,} of the {stored:,} "
            f"stored victims ({share:.1%}, more than the {settings.max_shrink:.0%} allowed); "
            "nothing was changed. If the portal really dropped them, run again with "
            "--allow-shrink."
        )


def _plan_write(con: duckdb.DuckDBPyConnection, sync_id: int, mode: str) -> dict[str, int]:
    """What bringing the victims in step with the `incoming` and `incoming_quarantine`
    views changes: a full read stands for every victim, an incremental one for the ids
    it read (`touched`). Leaves temp tables for `_apply_write` (ids `gone` and
    `rewritten`, the changes, the count days touched); returns row counts."""
    before = count_of(con, "SELECT count(*) FROM victims")
    if not before:  # a first load: nothing to diff against (the diff was 51 s CPU at 8M)
        return _plan_first_load(con, sync_id, mode)
    added = count_of(con, "SELECT count(*) FROM incoming i ANTI JOIN victims v USING (unique_id)")
    updated = count_of(
        con,
        "SELECT count(*) FROM incoming i JOIN victims v USING (unique_id) "
        "WHERE i.source_updated_at IS DISTINCT FROM v.source_updated_at",
    )
    if mode != "full":  # rows read again replace their stored versions, good or quarantined
        con.execute(
            "CREATE OR REPLACE TEMP TABLE touched AS "
            "SELECT unique_id FROM incoming UNION "
            "SELECT unique_id FROM incoming_quarantine WHERE unique_id IS NOT NULL"
        )
    # The stored victims this read stands for.
    stored = (
        "victims"
        if mode == "full"
        else "(SELECT * FROM victims SEMI JOIN touched USING (unique_id))"
    )
    find_changes(con, sync_id, full_read=mode == "full")
    note_count_changes(con, stored)
    columns = ", ".join(f'"{c}"' for c in VICTIM_COLUMNS)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE gone AS "
        f"SELECT unique_id FROM {stored} s ANTI JOIN incoming USING (unique_id)"
    )
    # Rows new or different in any column; the others are not written at all.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rewritten AS SELECT unique_id FROM ("
        f"SELECT {columns} FROM incoming EXCEPT SELECT {columns} FROM {stored} s)"
    )
    return {
        "rows_added": added,
        "rows_updated": updated,
        "rows_removed": count_of(con, "SELECT count(*) FROM gone"),
        "rows_before": before,
        "rows_quarantined": count_of(con, "SELECT count(*) FROM incoming_quarantine"),
    }


def _plan_first_load(con: duckdb.DuckDBPyConnection, sync_id: int, mode: str) -> dict[str, int]:
    """`_plan_write` into a store without victims: every incoming row is added. No
    changes are recorded (there is no "before") and no count days are noted, so the
    counts are rebuilt whole (`counts.refresh_daily_counts` without DIRTY)."""
    if mode != "full":
        con.execute(
            "CREATE OR REPLACE TEMP TABLE touched AS "
            "SELECT unique_id FROM incoming_quarantine WHERE unique_id IS NOT NULL"
        )
    find_changes(con, sync_id, full_read=mode == "full")  # finds none: an empty table
    return {
        "rows_added": count_of(con, "SELECT count(*) FROM incoming"),
        "rows_updated": 0,
        "rows_removed": 0,
        "rows_before": 0,
        "rows_quarantined": count_of(con, "SELECT count(*) FROM incoming_quarantine"),
    }


def _apply_write(con: duckdb.DuckDBPyConnection, sync_id: int, mode: str) -> None:
    """Write what `_plan_write` found: delete the victims gone or rewritten, insert the
    rewritten ones, replace the quarantine the read stands for, record the changes."""
    store_changes(con)
    columns = ", ".join(f'"{c}"' for c in VICTIM_COLUMNS)
    if not has_temp_table(con, "rewritten"):  # a first load (`_plan_first_load`)
        # Stored in time order (victim_areas in the same order, `places.store_places`):
        # DuckDB's zonemaps (min/max per row group) then let a date-filtered row query
        # on the page skip most row groups. Later syncs append, so this holds mostly.
        con.execute(
            f"INSERT INTO victims ({columns}) SELECT {columns} FROM incoming ORDER BY {LOAD_ORDER}"
        )
    else:
        _write_differences(con, columns)
    _replace_quarantine(con, sync_id, mode)


def _write_differences(con: duckdb.DuckDBPyConnection, columns: str) -> None:
    """Delete the victims `gone` or `rewritten` and insert the rewritten ones."""
    con.execute(
        "DELETE FROM victims WHERE unique_id IN (SELECT unique_id FROM gone) "
        "OR unique_id IN (SELECT unique_id FROM rewritten)"
    )
    con.execute(
        f"INSERT INTO victims ({columns}) SELECT {columns} FROM incoming "
        "SEMI JOIN rewritten USING (unique_id)"
    )
    con.execute("DROP TABLE gone")
    con.execute("DROP TABLE rewritten")


def _replace_quarantine(con: duckdb.DuckDBPyConnection, sync_id: int, mode: str) -> None:
    """Replace the quarantined victims the read stands for (all on a full read)."""
    if mode == "full":
        con.execute("DELETE FROM quarantine WHERE dataset = 'victims'")
    else:
        con.execute(
            "DELETE FROM quarantine WHERE dataset = 'victims' "
            "AND unique_id IN (SELECT unique_id FROM touched)"
        )
    con.execute(
        "INSERT INTO quarantine BY NAME SELECT 'victims' AS dataset, "
        f"{int(sync_id)} AS sync_id, * FROM incoming_quarantine"
    )
