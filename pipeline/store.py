"""The local store: one DuckDB file, replaced whole by every sync.

Atomicity comes from the file system, not from trusting a database's
recovery: a sync copies the current store to a temporary file next to it,
writes there, checkpoints, fsyncs, and `os.replace`s it over the old one. A
crash or `kill -9` at any moment leaves either the old file or the new one,
never a mixture, and readers (the dashboard) keep reading the old file while a
sync runs. One sync at a time is enforced with an advisory lock.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

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

#: Each victim's place on the current boundaries (see geo/assign.py); NULL = unassigned.
VICTIM_AREA_COLUMNS: dict[str, str] = {
    "unique_id": "VARCHAR",
    "geo_beat": "VARCHAR",
    "geo_district": "VARCHAR",  # the district of geo_beat
    "geo_community_area": "VARCHAR",
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
}

NO_STORE_HINT = "run `python -m pipeline sync` first"


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
        """A read-only connection to the current store; StoreError if there is none."""
        if not self.exists():
            raise StoreError(f"no store at {self.path}: {NO_STORE_HINT}")
        try:
            con = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the store at {self.path}: {exc}") from exc
        try:
            _check_current(con, self.path)
            yield con
        finally:
            con.close()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to a private copy that replaces the store only if the block succeeds."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._exclusive_lock():
            self._remove_leftovers()
            tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
            if self.exists():
                shutil.copyfile(self.path, tmp)
            try:
                con = duckdb.connect(str(tmp))
                try:
                    # One transaction: the copy is private until replaced, so there is
                    # no reason to make DuckDB sync its log after every statement.
                    con.begin()
                    create_tables(con)
                    yield con
                    con.commit()
                    con.execute("CHECKPOINT")
                finally:
                    con.close()
                _fsync(tmp)
                os.replace(tmp, self.path)
                _fsync(self.path.parent)
            finally:
                for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                    leftover.unlink(missing_ok=True)

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
            leftover.unlink(missing_ok=True)


def _check_current(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A store written by an older version lacks tables or columns: say how to rebuild it."""
    present = set(
        con.execute(
            "SELECT table_name || '.' || column_name FROM information_schema.columns"
        ).fetchall()
    )
    missing = [
        f"{t}.{c}" for t, cols in TABLES.items() for c in cols if (f"{t}.{c}",) not in present
    ]
    if missing:
        raise StoreError(
            f"the store at {path} was written by an older version (it lacks "
            f"{', '.join(missing[:3])}): run `python -m pipeline sync` to upgrade it"
        )


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables, and add columns that a store from an older version lacks."""
    present = {
        (t, c)
        for t, c in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
        ).fetchall()
    }
    for table, columns in TABLES.items():
        cols = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({cols})")
        for name, kind in columns.items():
            if (table, name) not in present and any(t == table for t, _ in present):
                con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {kind}')


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
