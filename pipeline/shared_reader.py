"""One read-only store connection shared by a long-running reader (the page's sessions),
let go of when idle so that a sync can write the store in place.

DuckDB's file lock keeps a sync's apply out while any reader holds the file; past
`store.WRITE_WAIT_SECONDS` the sync writes a whole private copy instead (correct, but
it costs the size of the store). A page that kept its connection for ever would make
every sync a copy. Opening the file costs ~20 ms, too much for every rerun, so the
connection is kept while people use the page and closed after IDLE_RELEASE_SECONDS
without a query: a nightly sync, or one between clicks, finds the file free.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline.store import WRITE_WAIT_SECONDS, Store

#: Shorter than a sync's wait for readers, so an idle page never forces a copy.
IDLE_RELEASE_SECONDS = WRITE_WAIT_SECONDS / 2


class SharedReader:
    """A read-only connection to the store at `path`, opened on first use, shared by
    threads (each takes its own cursor from it) and closed once no one has used it for
    `idle_seconds`."""

    def __init__(self, path: Path, idle_seconds: float | None = None):
        self.path = Path(path)
        self.idle_seconds = IDLE_RELEASE_SECONDS if idle_seconds is None else idle_seconds
        self._con: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._lock = threading.Lock()
        self._release: threading.Timer | None = None
        self._last_used = 0.0

    @property
    def is_open(self) -> bool:
        return self._con is not None

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The shared connection, (re)opened if it was let go; kept open while in use."""
        with self._lock:
            if self._con is None:
                self._con = Store(self.path).connect_read_only()
            self._users += 1
            con = self._con
        try:
            yield con
        finally:
            with self._lock:
                self._users -= 1
                self._last_used = time.monotonic()
                if self._users == 0 and self._release is None:
                    self._schedule_release(self.idle_seconds)

    def close(self) -> None:
        """Let go of the file now (no reader may be using it)."""
        with self._lock:
            if self._release is not None:
                self._release.cancel()
                self._release = None
            self._close_unused()

    # One timer at a time, re-armed when it fires early: a thread per query (a page
    # view asks a dozen) cost more than the queries on a small store.
    def _schedule_release(self, seconds: float) -> None:
        self._release = threading.Timer(seconds, self._release_if_idle)
        self._release.daemon = True  # never keeps a stopping server alive
        self._release.start()

    def _release_if_idle(self) -> None:
        with self._lock:
            self._release = None
            if self._users:
                return  # the last user to finish arms the timer again
            left = self._last_used + self.idle_seconds - time.monotonic()
            if left > 0:
                self._schedule_release(left)
            else:
                self._close_unused()

    def _close_unused(self) -> None:
        if self._con is not None and self._users == 0:
            self._con.close()
            self._con = None
