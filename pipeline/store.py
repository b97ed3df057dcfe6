"""The local store: one DuckDB file, changed by each sync in one short transaction.

A sync costs what it changes, not the size of the store. It prepares with the
live file attached read-only (readers carry on): it reads the source, types,
places and stages the rows in temporary tables and settles them. Then `apply`
opens the live file for writing and, in ONE DuckDB transaction, writes only the
difference (rows added, changed, removed, their places, the days of counts they
touch, the log), commits and checkpoints. Measured with this DuckDB (2.0): a
`kill -9` before the commit leaves the old store (nothing a reader sees is
written before it), after it the new one (the WAL is replayed on the next open,
read-only opens included), and a kill during the checkpoint loses neither.

DuckDB's file lock keeps readers and the apply apart, across processes and
inside one: a reader that meets the apply retries for READ_WAIT_SECONDS, then
says the store is being updated; the apply waits WRITE_WAIT_SECONDS for readers
to close the file, then writes a private copy instead and `os.replace`s it over
the store, as a rebuild (no store, or another `schema_version`) and a sync that
refreshes boundaries (every place and count moves) always do. One sync at a
time is enforced with an advisory lock.

Readers attach the file to a fresh in-memory database instead of opening it
directly: DuckDB keeps one database instance per path inside a process, so a
plain `duckdb.connect(path)` while any other connection to that path is still
open returns the instance of the file that was there before a swap. Every
write stamps the store with a new random identity (`store_info`), which the
page's cache uses as its key.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.changes import CHANGE_COLUMNS
from pipeline.config import LEVELS
from pipeline.counts import DAILY_COUNT_COLUMNS
from pipeline.errors import StoreError
from pipeline.schema import QUARANTINE_COLUMNS, VICTIM_COLUMNS

SYNC_LOG_COLUMNS: dict[str, str] = {
    "sync_id": "INTEGER",
    "dataset": "VARCHAR",  # victims | beats | districts | community_areas
    "source": "VARCHAR",  # host name or 'file:' + paths
    "mode": "VARCHAR",  # full | incremental
    "started_at": "TIMESTAMP",  # UTC
    "finished_at": "TIMESTAMP",  # UTC
    "rows_fetched": "INTEGER",
    "rows_added": "INTEGER",
    "rows_updated": "INTEGER",
    "rows_removed": "INTEGER",
    "rows_quarantined": "INTEGER",
    "watermark": "VARCHAR",  # largest :updated_at seen, as the source wrote it
}

BOUNDARY_COLUMNS: dict[str, str] = {
    "layer": "VARCHAR",
    "key": "VARCHAR",  # beat '0111', district '17', community area name
    "name": "VARCHAR",  # label for people: '17TH', 'ALBANY PARK'
    "geometry": "BLOB",  # WKB, EPSG:4326 (lon, lat)
    "properties": "VARCHAR",  # the feature's other properties, JSON
    "web_geometry": "VARCHAR",  # simplified GeoJSON geometry for maps (~10 m), never for joins
}

#: Each victim's place on the current boundaries, one `geo_<area>` column per level of
#: the registry (see pipeline/config.py, geo/assign.py); NULL = unassigned. Its
#: `occurred_at` is the victim's, kept in step: a join on the id alone probes every
#: row of this table (8M rows: ~0.6 s), while bounds on this time column let DuckDB
#: skip the row groups outside a span, as on `victims` (both are stored in time order).
VICTIM_AREA_COLUMNS: dict[str, str] = {
    "unique_id": "VARCHAR",
    **{level.place_column: "VARCHAR" for level in LEVELS.values()},
    "occurred_at": "TIMESTAMP",
}

#: Fixed choropleth class breaks per level/kind/measure (see geo/maplayers.py).
MAP_BREAK_COLUMNS: dict[str, str] = {
    "level": "VARCHAR",  # district | beat | community_area
    "kind": "VARCHAR",
    "measure": "VARCHAR",
    "breaks": "VARCHAR",  # JSON list: upper bounds of the lower classes, yearly counts
    "years": "VARCHAR",  # JSON list of the full years the breaks were computed from
}

TABLES: dict[str, dict[str, str]] = {
    "victims": VICTIM_COLUMNS,
    "quarantine": {"dataset": "VARCHAR", "sync_id": "INTEGER", **QUARANTINE_COLUMNS},
    "boundaries": BOUNDARY_COLUMNS,
    "sync_log": SYNC_LOG_COLUMNS,
    "victim_areas": VICTIM_AREA_COLUMNS,
    "map_breaks": MAP_BREAK_COLUMNS,
    "daily_counts": DAILY_COUNT_COLUMNS,  # see pipeline/counts.py
    "changes": CHANGE_COLUMNS,  # see pipeline/changes.py
    # Residents per area of each rated level, from one census file (pipeline/rates.py).
    "area_population": {
        "level": "VARCHAR",
        "key": "VARCHAR",
        "residents": "DOUBLE",
        "estimated": "BOOLEAN",
        "census_sha256": "VARCHAR",
    },
    # One row, replaced by every write: which store this file is, and its layout.
    "store_info": {"store_id": "VARCHAR", "schema_version": "INTEGER"},
}

#: The layout of the tables above. Bump it whenever a table or column changes (or what
#: a derived table holds): a store of another version is refused by readers and
#: rebuilt from scratch by the next sync, never migrated in place.
SCHEMA_VERSION = 4

if TYPE_CHECKING:
    from pipeline.queries import Reader

NO_STORE_HINT = "run `python -m pipeline sync` first"

MB = 1_000_000
#: Fixed room on top of twice the store: DuckDB's spill files, the catalog and
#: metadata a checkpoint rewrites, and the first sync into an empty store.
HEADROOM_BYTES = 64 * MB


#: DuckDB's memory in a sync; beyond it the staged read and large joins spill to
#: `<store>.tmp-<pid>.spill/`. Its default (80% of RAM) let an 8M-row sync grow to 9 GB; the
#: sync's own pages in flight and Python take about as much again (issue 12: <= 2 GB).
WRITE_MEMORY_LIMIT = "1GB"
#: DuckDB's memory once the read is over and its pages are handed back to the system
#: (`sync_victims.store_victims`): Python then holds ~0.5 GB, not ~1 GB. Counting 8M
#: victims took 11-15 s instead of 16 s (less spilled; loaded machine); the sync's peak
#: RSS, reached while reading, stayed 1.8-1.9 GB.
APPLY_MEMORY_LIMIT = "1.5GB"

#: How long a reader waits for a sync's write (the apply) to finish before giving up.
READ_WAIT_SECONDS = 30.0
#: How long a sync's apply waits for readers to close the live file before it writes a
#: private copy instead. The page lets go of its connection after half this time without
#: a query (pipeline/shared_reader.py): long enough that clicks seconds apart do not pay
#: ~20 ms to reopen the file, short enough that a sync between them writes in place.
WRITE_WAIT_SECONDS = 10.0


def space_needed(store_bytes: int) -> int:
    """Free bytes a sync needs beside a store of `store_bytes`, checked before it starts
    (it may have to write a private copy, see `SyncSession`): the copy (1x)
    and as much again for the copy to grow, since rewritten rows get new blocks before
    the checkpoint frees the old ones, plus HEADROOM_BYTES. Measured on the real
    snapshot: a `--full` sync of a 4.7 MB store peaks at 8.7 MB beside it (no WAL,
    see `write`); with a WAL it peaked at 19 MB, about 4x."""
    return 2 * store_bytes + HEADROOM_BYTES


class Store:
    """A store file at `path`; `read()` and `write()` hand out DuckDB connections."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def _lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def exists(self) -> bool:
        return self.path.is_file()

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the current store; StoreError if there is none, or if
        an older version wrote it."""
        with self._open() as con:
            yield con

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        """`read()` wrapped in the named queries of `pipeline.queries.Reader`."""
        from pipeline.queries import Reader  # queries builds on this module

        with self.read() as con:
            yield Reader(con, self)

    def identity(self) -> str:
        """The current file's identity, new on every write: a cache key every sync changes."""
        with self._open() as con:  # an older version's store is refused there
            row = first_row(con, "SELECT store_id FROM store_info")
        return str(row[0]) if row else ""

    @contextmanager
    def _open(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self.connect_read_only()
        try:
            yield con
        finally:
            con.close()

    def connect_read_only(self) -> duckdb.DuckDBPyConnection:
        """The file attached read-only to a new in-memory database, as the default schema
        (the caller closes it). While a sync writes the file, waits up to
        READ_WAIT_SECONDS, then StoreError: the store is being updated.

        Not `duckdb.connect(path)`: that reuses a cached instance of the file that was
        there before a swap while any connection to it is still open in this process.
        """
        if not self.exists():
            raise StoreError(f"no store at {self.path}: {NO_STORE_HINT}")
        con = duckdb.connect(":memory:")
        try:
            _attach_waiting(con, self.path, read_only=True, seconds=READ_WAIT_SECONDS)
            _check_current(con, self.path)
        except duckdb.Error as exc:
            con.close()
            if _is_lock_conflict(exc):
                raise StoreError(
                    f"the store at {self.path} is being updated by a sync; try again in a moment"
                ) from exc
            raise StoreError(f"cannot open the store at {self.path}: {_one_line(exc)}") from exc
        except StoreError:
            con.close()
            raise
        return con

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection that changes the store only if the block succeeds: a sync's
        session that applies at once (see `session` for a sync's two steps)."""
        with self.session() as session, session.apply() as con:
            yield con

    @contextmanager
    def session(self) -> Iterator[SyncSession]:
        """A sync's access to the store, one sync at a time: read while preparing, then
        one short write (`SyncSession.apply`). DuckDB errors writing the store, and the
        store's own steps failing, become one-line StoreErrors; the block's other errors
        pass through. Either way the store is as it was unless the apply committed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._exclusive_lock():
            self._remove_leftovers()
            self._check_free_space()
            con = duckdb.connect(
                ":memory:",
                config={
                    "memory_limit": WRITE_MEMORY_LIMIT,
                    "temp_directory": str(self._private_path(".spill")),
                },
            )
            session = SyncSession(self, con)
            try:
                session.start()
                yield session
            except duckdb.IOException as exc:  # DuckDB failed to write (disk full, I/O)
                raise self._write_failed(exc, session.replaced, session.committed) from exc
            finally:
                con.close()
                self._remove_leftovers()  # a copy, its WAL and spill files (we hold the lock)

    def _private_path(self, suffix: str = "") -> Path:
        return self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}{suffix}")

    def _check_free_space(self) -> None:
        """Refuse a sync, before anything is written, when the disk cannot hold its copy."""
        store_bytes = self.path.stat().st_size if self.exists() else 0
        needed = space_needed(store_bytes)
        free = shutil.disk_usage(self.path.parent).free
        if free < needed:
            raise StoreError(
                f"not enough free space on {self.path.parent} to sync the store {self.path}: "
                f"a sync needs {needed / MB:,.0f} MB (twice the store's "
                f"{store_bytes / MB:,.0f} MB plus {HEADROOM_BYTES / MB:,.0f} MB) but only "
                f"{free / MB:,.0f} MB free; free some space or set DATA_DIR to another disk"
            )

    def _write_failed(
        self, exc: OSError | duckdb.Error, replaced: bool, committed: bool = False
    ) -> StoreError:
        """One line naming the store and the cause; whether the old store is still there."""
        if replaced:
            outcome = "the new store is in place but may not survive a power cut"
        elif committed:  # in place: DuckDB replays its WAL on the next open
            outcome = "the new store is committed; its checkpoint finishes on the next open"
        else:
            outcome = "the store is unchanged"
        cause = _one_line(exc)
        disk_full = (
            isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
        ) or "no space left" in cause.lower()
        if disk_full:
            return StoreError(
                f"not enough free space on {self.path.parent} to write the store "
                f"{self.path} ({outcome}): {cause}"
            )
        return StoreError(f"could not write the store {self.path} ({outcome}): {cause}")

    @contextmanager
    def _exclusive_lock(self) -> Iterator[None]:
        with open(self._lock_path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StoreError(
                    f"another sync is writing {self.path} (lock {self._lock_path}); "
                    "wait for it to finish"
                ) from exc
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _remove_leftovers(self) -> None:
        """Delete temporary copies left by a sync that was killed (we hold the lock)."""
        for leftover in self.path.parent.glob(self.path.name + ".tmp-*"):
            if leftover.is_dir():  # DuckDB's spill folder, `<store>.tmp-<pid>.spill`
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


class SyncSession:
    """One sync's connection to the store (`con`, the store attached as `store`, the
    default schema) in two steps. Preparing, the live store is attached read-only and
    the sync stages its work in temporary tables; `apply` then writes the difference in
    one transaction. A rebuild (no store, or one of another `schema_version`) and a sync
    that calls `use_private_copy` write a private copy instead, swapped in at the end."""

    def __init__(self, store: Store, con: duckdb.DuckDBPyConnection):
        self.store = store
        self.con = con
        self.copy: Path | None = None  # the private copy written, when there is one
        self.committed = False
        self.replaced = False

    @property
    def in_place(self) -> bool:
        """Whether the apply writes the live file (so far: no private copy was taken)."""
        return self.copy is None

    def start(self) -> None:
        with self._step():
            if self.store.exists() and stored_schema_version(self.store.path) == SCHEMA_VERSION:
                _attach_waiting(
                    self.con, self.store.path, read_only=True, seconds=READ_WAIT_SECONDS
                )
            else:  # rebuilt from scratch: every layer and every victim is read
                self._attach_copy(from_store=False)
            self.con.begin()

    def use_private_copy(self) -> None:
        """Write a private copy of the store from now on (a sync that rewrites most of it:
        new boundaries move every victim's place and count)."""
        if self.copy is not None:
            return
        with self._step():
            self.con.commit()
            self._detach()
            self._attach_copy(from_store=True)
            self.con.begin()

    @contextmanager
    def apply(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The write: the block's statements, a new identity, one commit and a checkpoint.

        In place, the live file is opened for writing only now, once no reader holds it
        (DuckDB's file lock: a reader then waits, see `Store.connect_read_only`); when
        readers keep it open past WRITE_WAIT_SECONDS, a private copy is written instead.
        A kill before the commit leaves the old store (DuckDB writes nothing a reader
        sees until then); after it, the new one (its WAL is replayed on the next open).
        """
        if self.copy is None:
            with self._step():
                self.con.commit()
                self._detach()
                if not _attach_waiting(
                    self.con, self.store.path, read_only=False, seconds=WRITE_WAIT_SECONDS
                ):
                    self._attach_copy(from_store=True)  # readers hold the live file
                self.con.begin()
        yield self.con
        with self._step():
            self.con.execute("DELETE FROM store_info")
            self.con.execute(
                "INSERT INTO store_info (store_id, schema_version) VALUES (?, ?)",
                [uuid.uuid4().hex, SCHEMA_VERSION],
            )
            self.con.commit()
            self.committed = self.in_place  # a copy changes nothing until it is swapped in
            self.con.execute("CHECKPOINT store")
            self._detach()
            if self.copy is not None:
                _fsync(self.copy)
                os.replace(self.copy, self.store.path)
                self.replaced = True
                _fsync(self.store.path.parent)

    def _attach_copy(self, from_store: bool) -> None:
        """Attach a private copy as `store`: of the store (with its WAL, which holds the
        last commit until a checkpoint), or empty."""
        copy = self.store._private_path()
        if from_store:
            shutil.copyfile(self.store.path, copy)
            wal = self.store.path.with_name(self.store.path.name + ".wal")
            if wal.exists():
                shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
        self.copy = copy
        self.con.execute("ATTACH ? AS store", [str(copy)])
        self.con.execute("USE store")
        create_tables(self.con)

    def _detach(self) -> None:
        self.con.execute("USE memory")
        self.con.execute("DETACH store")

    @contextmanager
    def _step(self) -> Iterator[None]:
        """The store's own work: any failure is a StoreError saying what became of it."""
        try:
            yield
        except (OSError, duckdb.Error) as exc:
            raise self.store._write_failed(exc, self.replaced, self.committed) from exc


def _attach_waiting(
    con: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool, seconds: float
) -> bool:
    """Attach the store file at `path` to `con` as `store` (the default schema), retrying
    while another connection's lock is in the way (a sync's apply, or readers when
    writing). After `seconds`: a reader raises the lock error, a writer returns False."""
    mode = " (READ_ONLY)" if read_only else ""
    deadline = time.monotonic() + seconds
    pause = 0.01
    while True:
        try:
            con.execute(f"ATTACH ? AS store{mode}", [str(path)])
            con.execute("USE store")
            return True
        except duckdb.Error as exc:
            if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                if read_only or not _is_lock_conflict(exc):
                    raise
                return False
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.5)


def _is_lock_conflict(exc: BaseException) -> bool:
    """Another connection holds the file: another process (DuckDB's file lock) or this one
    (DuckDB opens a file once per process for writing)."""
    text = str(exc)
    return "Conflicting lock" in text or "Unique file handle conflict" in text


def stored_schema_version(path: Path) -> int | None:
    """The `schema_version` the store at `path` was written with; None if it has none
    (a store from before versions) or cannot be read."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH ? AS store (READ_ONLY)", [str(path)])
        return _schema_version(con, "store.")
    except duckdb.Error:
        return None
    finally:
        con.close()


def _schema_version(con: duckdb.DuckDBPyConnection, prefix: str = "") -> int | None:
    try:
        row = first_row(con, f"SELECT max(schema_version) FROM {prefix}store_info")
    except duckdb.Error:  # no store_info, or one without the column: before versions
        return None
    return None if row is None or row[0] is None else int(row[0])


def _check_current(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A store of another layout cannot be read: say how to rebuild it."""
    version = _schema_version(con)
    if version != SCHEMA_VERSION:
        age = "a newer" if version is not None and version > SCHEMA_VERSION else "an older"
        raise StoreError(
            f"the store at {path} was written by {age} version (store schema "
            f"{version or 'unversioned'}, this version reads {SCHEMA_VERSION}): run "
            "`python -m pipeline sync` to rebuild it"
        )


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables (a store of the current version already has them all)."""
    for table, columns in TABLES.items():
        cols = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({cols})")


def commit_so_far(con: duckdb.DuckDBPyConnection) -> None:
    """Commit what a sync staged so far and carry on in a new transaction. Safe while
    preparing (the live store is attached read-only; only temporary tables and a private
    copy are written, and a copy replaces the store only at the end of the apply). Needed
    for large reads: DuckDB's memory for one uncommitted transaction grows past
    `memory_limit` (an 8M-row read staged in one transaction reached 4 GB; committed
    every 2 pages, 1 GB). Never call it inside `SyncSession.apply`."""
    con.commit()
    con.begin()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def first_row(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
) -> tuple[Any, ...] | None:
    """The first result row, or None. Fetches the whole result: DuckDB refuses further
    statements on a connection while a result is only partly read."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def count_of(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    """The integer in the first column of the first row (0 when there is none)."""
    row = first_row(con, sql, params)
    return int(row[0]) if row and row[0] is not None else 0
