"""The local store: one DuckDB file, replaced whole by every sync.

Atomicity comes from the file system, not from trusting a database's
recovery: a sync copies the current store to a temporary file next to it,
writes there, checkpoints, fsyncs, and `os.replace`s it over the old one. A
crash or `kill -9` at any moment leaves either the old file or the new one,
never a mixture, and readers (the dashboard) keep reading the old file while a
sync runs. One sync at a time is enforced with an advisory lock.

Readers attach the file to a fresh in-memory database instead of opening it
directly: DuckDB keeps one database instance per path inside a process, so a
plain `duckdb.connect(path)` while any other connection to that path is still
open returns the instance of the file that was there before the swap. Every
write stamps the store with a new random identity (`store_info`), which the
page's cache uses as its key.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
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
#: the registry (see pipeline/config.py, geo/assign.py); NULL = unassigned.
VICTIM_AREA_COLUMNS: dict[str, str] = {
    "unique_id": "VARCHAR",
    **{level.place_column: "VARCHAR" for level in LEVELS.values()},
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
    # One row, replaced by every write: which store this file is, and its layout.
    "store_info": {"store_id": "VARCHAR", "schema_version": "INTEGER"},
}

#: The layout of the tables above. Bump it whenever a table or column changes (or what
#: a derived table holds): a store of another version is refused by readers and
#: rebuilt from scratch by the next sync, never migrated in place.
SCHEMA_VERSION = 2

if TYPE_CHECKING:
    from pipeline.queries import Reader

NO_STORE_HINT = "run `python -m pipeline sync` first"

MB = 1_000_000
#: Fixed room on top of twice the store: DuckDB's spill files, the catalog and
#: metadata a checkpoint rewrites, and the first sync into an empty store.
HEADROOM_BYTES = 64 * MB


#: DuckDB's memory in a sync's write; beyond it the staged read and large joins spill
#: to `<copy>.tmp/`. Its default (80% of RAM) let an 8M-row sync grow to 9 GB; the
#: sync's own pages in flight and Python take about as much again (issue 12: <= 2 GB).
WRITE_MEMORY_LIMIT = "1GB"


def space_needed(store_bytes: int) -> int:
    """Free bytes a sync needs beside a store of `store_bytes`: the private copy (1x)
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
        """The current file's identity, new on every write: a cache key a swap always changes."""
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
        (the caller closes it).

        Not `duckdb.connect(path)`: that reuses a cached instance of the file that was
        there before a swap while any connection to it is still open in this process.
        """
        if not self.exists():
            raise StoreError(f"no store at {self.path}: {NO_STORE_HINT}")
        con = duckdb.connect(":memory:")
        try:
            con.execute("ATTACH ? AS store (READ_ONLY)", [str(self.path)])
            con.execute("USE store")
            _check_current(con, self.path)
        except duckdb.Error as exc:
            con.close()
            raise StoreError(f"cannot open the store at {self.path}: {_one_line(exc)}") from exc
        except StoreError:
            con.close()
            raise
        return con

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to a private copy that replaces the store only if the block succeeds."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._exclusive_lock():
            tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
            in_block = replaced = False
            try:
                self._remove_leftovers()
                self._check_free_space()
                if self.exists() and stored_schema_version(self.path) == SCHEMA_VERSION:
                    shutil.copyfile(self.path, tmp)
                # Otherwise the copy starts empty: this sync rebuilds a store of another
                # version (with nothing stored, every layer and every victim is read).
                # The copy is private until replaced, so its write-ahead log is no use:
                # at this threshold the commit writes the data straight into the copy
                # (a checkpoint) instead of first into a WAL as large as the new data.
                con = duckdb.connect(
                    str(tmp),
                    config={"checkpoint_threshold": "0b", "memory_limit": WRITE_MEMORY_LIMIT},
                )
                try:
                    # One transaction: no reason to make DuckDB sync after every statement.
                    con.begin()
                    create_tables(con)
                    in_block = True
                    yield con
                    in_block = False
                    con.execute("DELETE FROM store_info")
                    con.execute(
                        "INSERT INTO store_info (store_id, schema_version) VALUES (?, ?)",
                        [uuid.uuid4().hex, SCHEMA_VERSION],
                    )
                    con.commit()
                    con.execute("CHECKPOINT")
                finally:
                    con.close()
                _fsync(tmp)
                os.replace(tmp, self.path)
                replaced = True
                _fsync(self.path.parent)
            except (OSError, duckdb.Error) as exc:
                # The block's own errors pass through, except DuckDB failing to write the copy.
                if in_block and not isinstance(exc, duckdb.IOException):
                    raise
                raise self._write_failed(exc, replaced) from exc
            finally:
                self._remove_leftovers()  # the copy, its WAL and spill files (we hold the lock)

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

    def _write_failed(self, exc: OSError | duckdb.Error, replaced: bool) -> StoreError:
        """One line naming the store and the cause; whether the old store is still there."""
        outcome = (
            "the new store is in place but may not survive a power cut"
            if replaced
            else "the store is unchanged"
        )
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
            if leftover.is_dir():  # DuckDB's spill folder, `<copy>.tmp`
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


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
    """Commit what a sync wrote so far to its private copy and carry on in a new
    transaction. Safe: the copy replaces the store only at the end of `Store.write`, and
    a failure or kill before that discards it whole. Needed for large reads: DuckDB's
    memory for one uncommitted transaction grows past `memory_limit` (an 8M-row read
    staged in one transaction reached 4 GB; committed every 2 pages, 1 GB)."""
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
