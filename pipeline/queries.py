"""Read-only queries against the store, returning DataFrames for the CLI and the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from pipeline.store import Store

COUNT_COLUMNS = (
    "unique_id",
    "case_number",
    "occurred_at",
    "gunshot",
    "fatal",
    "district",
    "beat",
    "community_area",
)

LAYER_OF_AREA = {"district": "districts", "beat": "beats", "community_area": "community_areas"}


def load_victims(
    store: Store,
    start: date | None = None,
    end: date | None = None,
    columns: tuple[str, ...] = COUNT_COLUMNS,
) -> pd.DataFrame:
    """Victim rows that occurred in [start, end] (local dates, inclusive)."""
    sql = f"SELECT {', '.join(columns)} FROM victims WHERE true"
    params: list[object] = []
    if start is not None:
        sql += " AND occurred_at >= ?"
        params.append(pd.Timestamp(start).to_pydatetime())
    if end is not None:
        sql += " AND occurred_at < ?"
        params.append(pd.Timestamp(end + timedelta(days=1)).to_pydatetime())
    with store.read() as con:
        return con.execute(sql, params).df()


def area_keys(store: Store, by: str) -> list[str]:
    """Every key of the boundary layer behind `by` ('district' -> districts' keys)."""
    with store.read() as con:
        rows = con.execute(
            "SELECT key FROM boundaries WHERE layer = ?", [LAYER_OF_AREA[by]]
        ).fetchall()
    return [r[0] for r in rows]


@dataclass
class StoreStatus:
    tables: dict[str, int]
    first_occurred: pd.Timestamp | None
    last_occurred: pd.Timestamp | None
    last_syncs: pd.DataFrame  # latest sync_log row per dataset
    quarantine_reasons: pd.DataFrame  # reasons, rows


def store_status(store: Store) -> StoreStatus:
    with store.read() as con:
        tables = {
            t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0])
            for t in ("victims", "quarantine", "boundaries", "sync_log")
        }
        first, last = con.execute(
            "SELECT min(occurred_at), max(occurred_at) FROM victims"
        ).fetchall()[0]
        syncs = con.execute(
            "SELECT dataset, source, mode, finished_at, rows_fetched, rows_added, rows_updated, "
            "rows_removed, rows_quarantined, watermark FROM sync_log "
            "QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY sync_id DESC) = 1 "
            "ORDER BY dataset"
        ).df()
        reasons = con.execute(
            "SELECT reasons, count(*) AS rows FROM quarantine "
            "GROUP BY reasons ORDER BY rows DESC, reasons"
        ).df()
    return StoreStatus(tables, first, last, syncs, reasons)
