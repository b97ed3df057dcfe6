"""What a sync tells its user: a progress bar per dataset, a report per dataset,
and the `sync_log` row each report becomes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb

from pipeline.store import count_of


class Bar(Protocol):
    def update(self, n: int) -> Any: ...
    def close(self) -> Any: ...


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


MakeBar = Callable[[str, int | None], Bar]  # (dataset, expected rows or None) -> bar


def no_bar(description: str, total: int | None) -> Bar:
    return _NoBar()


@contextmanager
def phase(make_bar: MakeBar, description: str) -> Iterator[None]:
    """A one-step bar for a step of the sync that has no finer progress to show: its
    name is on screen while it runs, and its time when it is done."""
    bar = make_bar(description, 1)
    try:
        yield
        bar.update(1)
    finally:
        bar.close()


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
    #: Source columns the schema does not know: read past, never stored.
    ignored_columns: list[str] = field(default_factory=list)
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
        if self.ignored_columns:
            text += (
                f"; {len(self.ignored_columns)} source column(s) not in the schema, "
                f"not stored: {', '.join(self.ignored_columns)}"
            )
        return text


def next_sync_id(con: duckdb.DuckDBPyConnection) -> int:
    return count_of(con, "SELECT coalesce(max(sync_id), 0) + 1 FROM sync_log")


def log_sync(
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
            utc_now(),
            report.rows_fetched,
            report.rows_added,
            report.rows_updated,
            report.rows_removed,
            report.rows_quarantined,
            report.watermark,
        ],
    )


def utc_now() -> datetime:
    """UTC wall time without a zone, as DuckDB TIMESTAMP columns hold it."""
    return datetime.now(UTC).replace(tzinfo=None)


def _short(source: str) -> str:
    if source.startswith("file:"):
        files = source[5:].split(",")
        return f"{len(files)} file(s)" if len(files) > 1 else Path(files[0]).name
    return source
