"""A read staged page by page in DuckDB: the same result as validating it whole, progress
while it is read, and a store of another schema version rebuilt, not migrated."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from pipeline import store as store_module
from pipeline.errors import StoreError
from pipeline.schema import RULE_SUPERSEDED, VICTIM_COLUMNS, combine_pages, parse_page
from pipeline.sources import files
from pipeline.staging import (
    ReadTally,
    create_staging,
    settle_duplicates,
    split_staged,
    stage,
    staged_frame,
)
from pipeline.store import SCHEMA_VERSION, Store
from pipeline.sync import SyncRequest, run_sync
from pipeline.sync_victims import Fetched
from tests.conftest import ROWS, write_layers
from tests.test_schema import as_page, thirty_rows

PLACE_COLUMNS = ["geo_beat"]


def staged_read(pages: list[Any]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Stage `pages` as the sync does; its good rows, quarantine and rule counts."""
    parsed = [parse_page(page) for page in pages]
    con = duckdb.connect()
    create_staging(con, PLACE_COLUMNS)
    tally = ReadTally()
    for page in parsed:
        places = pd.DataFrame({"unique_id": page.typed["unique_id"], "geo_beat": None})
        stage(con, staged_frame(page, places, tally.rows))
        tally.add(page)
    superseded = settle_duplicates(con, Fetched(raw_pages=[p.raw for p in parsed]).raw_rows)
    tally.rule_counts[RULE_SUPERSEDED] = superseded
    split_staged(con, PLACE_COLUMNS)
    victims = con.execute("SELECT * FROM incoming").df()
    quarantine = con.execute("SELECT * FROM incoming_quarantine").df()
    return victims, quarantine, tally.broken_rules()


@pytest.mark.parametrize("shape", ["json", "frame"])
def test_a_staged_read_settles_like_one_validation(shape: str) -> None:
    """Row 0 is good on the first page and superseded by two repeats on the last: its
    raw row is found again after the read."""
    raw = thirty_rows(shape)
    whole = combine_pages([parse_page(raw)])
    victims, quarantine, counts = staged_read([raw[:10], raw[10:20], raw[20:]])
    assert victims["unique_id"].tolist() == whole.victims["unique_id"].tolist()
    assert victims["block"].tolist() == whole.victims["block"].tolist()
    assert list(victims.columns) == list(VICTIM_COLUMNS)
    assert quarantine["reasons"].tolist() == whole.quarantine["reasons"].tolist()
    assert quarantine["raw"].tolist() == whole.quarantine["raw"].tolist()
    assert counts == whole.rule_counts
    assert counts[RULE_SUPERSEDED] == 2


@dataclass
class Recorder:
    """A `MakeBar` that keeps every bar's description, total and running sums."""

    bars: list[tuple[str, int | None, list[int]]] = field(default_factory=list)

    def __call__(self, description: str, total: int | None) -> Recorder:
        self.bars.append((description, total, []))
        return self

    def update(self, n: int) -> None:
        sums = self.bars[-1][2]
        sums.append((sums[-1] if sums else 0) + n)

    def close(self) -> None:
        pass


def big_csv(path: Path, rows: int) -> Path:
    many = [{**ROWS[i % len(ROWS)], "cpd_id": f"ID-{i}"} for i in range(rows)]
    frame = pd.DataFrame.from_records(many).drop(columns="location")
    frame["block"] = "1000 W A LONG ENOUGH STREET NAME TO MAKE THE FILE SOME MEGABYTES"
    frame.to_csv(path, index=False)
    return path


def test_a_file_sync_shows_progress_while_it_reads(tmp_path, settings, monkeypatch) -> None:
    monkeypatch.setattr(files, "BLOCK_BYTES", 200_000)  # ~1,000 rows a page
    path = big_csv(tmp_path / "v.csv", 30_000)
    bars = Recorder()
    request = SyncRequest(victims=[path], boundaries=write_layers(tmp_path / "layers"))
    run_sync(settings, request, make_bar=bars)
    reading = next(b for b in bars.bars if b[0].startswith("victims: reading"))
    _, total, sums = reading
    assert total == round(path.stat().st_size / 1e6)
    assert len(sums) >= 10 and sums == sorted(sums)
    assert len(set(sums)) >= 5 and sums[-1] == total  # steps (whole MB) before the end
    names = [b[0] for b in bars.bars]
    for phase in ("checking", "writing", "counting"):
        assert f"victims: {phase}" in names


def test_a_store_of_another_schema_version_is_refused_then_rebuilt(tmp_path, settings) -> None:
    path = big_csv(tmp_path / "v.csv", 50)
    request = SyncRequest(victims=[path], boundaries=write_layers(tmp_path / "layers"))
    run_sync(settings, request)
    with duckdb.connect(str(settings.store_path)) as con:
        con.execute("UPDATE store_info SET schema_version = ?", [SCHEMA_VERSION - 1])
        con.execute("CREATE TABLE leftover_of_an_old_layout (x INTEGER)")
    store = Store(settings.store_path)
    with pytest.raises(StoreError, match=r"older version.*sync.*to rebuild"), store.read():
        pass
    assert store_module.stored_schema_version(settings.store_path) == SCHEMA_VERSION - 1
    run_sync(settings, request)  # not --full
    with store.read() as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        victims = con.execute("SELECT count(*) FROM victims").fetchall()[0][0]
        layers = con.execute("SELECT count(DISTINCT layer) FROM boundaries").fetchall()[0][0]
        syncs = con.execute("SELECT count(DISTINCT sync_id) FROM sync_log").fetchall()[0][0]
    assert "leftover_of_an_old_layout" not in tables
    assert victims == 50 and syncs == 1  # a new store, not the old one patched
    assert layers == len(write_layers(tmp_path / "layers"))
    assert store_module.stored_schema_version(settings.store_path) == SCHEMA_VERSION


def test_an_unversioned_store_is_an_older_version(tmp_path) -> None:
    path = tmp_path / "store.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE victims (unique_id VARCHAR)")
    with pytest.raises(StoreError, match="older version"), Store(path).read():
        pass
    assert store_module.stored_schema_version(path) is None


def test_json_rows_are_handed_on_in_pages(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(files, "JSON_PAGE_ROWS", 7)
    path = tmp_path / "v.json"
    path.write_text(json.dumps(as_page(ROWS * 2, "json")))
    pages = list(files.FileVictims([path]).pages())
    assert [len(p) for p in pages] == [7, 7, 6]
