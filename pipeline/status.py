"""What the store holds, for `status` and the page's footer: rows per table, the
records' date range, each dataset's latest sync, quarantined rows by reason, and how
placing records on the layers of the registry went (recorded vs placed codes, records
in no area)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from pipeline.config import LEVELS

if TYPE_CHECKING:
    from pipeline.store import Store


@dataclass
class StoreStatus:
    tables: dict[str, int]
    first_occurred: pd.Timestamp | None
    last_occurred: pd.Timestamp | None
    last_syncs: pd.DataFrame  # latest sync_log row per dataset
    quarantine_reasons: pd.DataFrame  # reasons, rows
    placement: dict[str, int]  # recorded vs geometric codes: disagreements, unassigned


def store_status(store: Store) -> StoreStatus:
    with store.reader() as q:
        return q.status()


def store_status_of(con: duckdb.DuckDBPyConnection, compare_bases: bool = True) -> StoreStatus:
    tables = {
        t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0])
        for t in ("victims", "quarantine", "boundaries", "sync_log")
    }
    first, last = con.execute("SELECT min(occurred_at), max(occurred_at) FROM victims").fetchall()[
        0
    ]
    syncs = con.execute(
        "SELECT dataset, source, mode, finished_at, rows_fetched, rows_added, rows_updated, "
        "rows_removed, rows_quarantined, watermark FROM sync_log "
        "QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY sync_id DESC) = 1 "
        "ORDER BY dataset"
    ).df()
    placement = _placement(con) if compare_bases else _unassigned(con)
    reasons = con.execute(
        "SELECT reasons, count(*) AS rows FROM quarantine "
        "GROUP BY reasons ORDER BY rows DESC, reasons"
    ).df()
    return StoreStatus(
        tables, first, last, syncs, reasons, {k: int(v or 0) for k, v in placement.items()}
    )


def _unassigned_sql(prefix: str = "") -> list[tuple[str, str]]:
    """(figure, SQL) per layer of the registry: victims in no area of that layer."""
    return [
        (f"unassigned_{level.area}", f"count(*) FILTER ({prefix}{level.place_column} IS NULL)")
        for level in LEVELS.values()
    ]


def _differs_sql() -> list[tuple[str, str]]:
    """(figure, SQL) per layer whose records carry a recorded code: victims whose recorded
    code is not the area their location falls in (both known)."""
    return [
        (
            f"{level.area}_differs",
            f"count(*) FILTER (v.{level.recorded_column} IS NOT NULL AND a.{level.place_column} "
            f"IS NOT NULL AND v.{level.recorded_column} <> a.{level.place_column})",
        )
        for level in LEVELS.values()
        if level.recorded_column
    ]


def _figures(
    con: duckdb.DuckDBPyConnection, figures: list[tuple[str, str]], source: str
) -> dict[str, int]:
    select = ", ".join(sql for _, sql in figures)
    row = con.execute(f"SELECT {select} FROM {source}").fetchall()[0]
    return dict(zip((name for name, _ in figures), row, strict=True))


def _placement(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Recorded vs placed codes for every layer with a recorded code, and the victims in
    no area of each layer (one pass over victims joined to their places)."""
    figures = [
        *_differs_sql(),
        ("beat_not_recorded", "count(*) FILTER (v.beat IS NULL)"),
        *_unassigned_sql("a."),
    ]
    return _figures(con, figures, "victims v LEFT JOIN victim_areas a USING (unique_id)")


def _unassigned(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The `unassigned_*` figures of `_placement`, without its join (one row per victim
    in `victim_areas`, as the sync writes it)."""
    return _figures(con, _unassigned_sql(), "victim_areas")
