"""A first sync into an empty store: no diff against the store, rows stored by time."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.conftest import api_row, build_store

#: Rows whose read order is not their time order (months cycle with the row number).
ROWS = [api_row(i) for i in range(20)]


def stored_order(store: Path, table: str) -> list[str]:
    """The ids of `table` in the order DuckDB stored them (rowid)."""
    with duckdb.connect(str(store), read_only=True) as con:
        rows = con.execute(f"SELECT unique_id FROM {table} ORDER BY rowid").fetchall()
    return [r[0] for r in rows]


def test_first_load_stores_victims_and_their_places_in_time_order(tmp_path: Path) -> None:
    store = build_store(tmp_path, ROWS) / "store.duckdb"
    with duckdb.connect(str(store), read_only=True) as con:
        by_time = [
            r[0]
            for r in con.execute(
                "SELECT unique_id FROM victims ORDER BY occurred_at, unique_id"
            ).fetchall()
        ]
    assert by_time != sorted(by_time, key=lambda uid: [r["cpd_id"] for r in ROWS].index(uid))
    assert stored_order(store, "victims") == by_time  # zonemaps can skip by date
    assert stored_order(store, "victim_areas") == by_time


def test_first_load_adds_every_row_and_records_no_change(tmp_path: Path) -> None:
    store = build_store(tmp_path, ROWS) / "store.duckdb"
    with duckdb.connect(str(store), read_only=True) as con:
        added = con.execute(
            "SELECT rows_added, rows_updated, rows_removed FROM sync_log WHERE dataset = 'victims'"
        ).fetchall()
        changes = con.execute("SELECT count(*) FROM changes").fetchall()[0][0]
    assert added == [(len(ROWS), 0, 0)]
    assert changes == 0
