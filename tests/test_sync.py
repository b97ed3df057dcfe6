"""Sync into the store: full, incremental, idempotent, atomic under errors and kill -9."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.config import LAYERS
from pipeline.errors import SchemaDriftError, SourceError, StoreError
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.store import Store
from pipeline.sync import SyncRequest, run_sync
from tests.conftest import VICTIMS, api_row, tiny_layers
from tests.soda_server import Fault, SodaServer

LAYER_IDS = {layer: level.dataset for layer, level in LAYERS.items()}


@pytest.fixture
def server():
    geojson = {LAYER_IDS[layer]: fc for layer, fc in tiny_layers().items()}
    with SodaServer(rows={VICTIMS: [api_row(i) for i in range(20)]}, geojson=geojson) as srv:
        yield srv


@pytest.fixture
def cfg(settings: Settings, server: SodaServer) -> Settings:
    return replace(settings, domain=server.url)


def table(settings: Settings, name: str, order: str = "1") -> pd.DataFrame:
    with Store(settings.store_path).read() as con:
        return con.execute(f"SELECT * FROM {name} ORDER BY {order}").df()


def by_dataset(reports):
    return {r.dataset: r for r in reports}


def test_first_sync_reads_everything(cfg, server) -> None:
    reports = by_dataset(run_sync(cfg, SyncRequest()))
    victims = reports["victims"]
    assert (victims.mode, victims.rows_fetched, victims.rows_added) == ("full", 20, 20)
    assert victims.watermark == max(r[":updated_at"] for r in server.rows[VICTIMS])
    assert len(table(cfg, "victims")) == 20
    assert table(cfg, "boundaries", "layer, key")["key"].tolist() == [
        "0111",
        "0112",
        "0211",
        "0212",
        "AUSTIN",
        "1",
        "2",
        "EAST TEST",
        "WEST TEST",
        "60644",  # two pieces, one area
    ]  # beats, community areas, districts, neighborhoods, zip codes
    assert set(table(cfg, "sync_log")["dataset"]) == {"victims", *LAYER_IDS}


def test_two_syncs_give_the_same_store(cfg) -> None:
    run_sync(cfg, SyncRequest())
    first = table(cfg, "victims", "unique_id")
    second = by_dataset(run_sync(cfg, SyncRequest()))["victims"]
    assert second.mode == "incremental"
    assert (second.rows_added, second.rows_updated, second.rows_removed) == (0, 0, 0)
    pd.testing.assert_frame_equal(table(cfg, "victims", "unique_id"), first)
    assert by_dataset(run_sync(cfg, SyncRequest()))["beats"].mode == "skipped"


def test_incremental_sync_picks_up_new_and_changed_rows_only(cfg, server) -> None:
    run_sync(cfg, SyncRequest())
    server.rows[VICTIMS][3] = api_row(
        3, block="CHANGED", **{":updated_at": "2026-03-01T00:00:00.000Z"}
    )
    server.rows[VICTIMS].append(api_row(99, **{":updated_at": "2026-03-02T00:00:00.000Z"}))
    server.requests.clear()
    report = by_dataset(run_sync(cfg, SyncRequest()))["victims"]
    assert (report.mode, report.rows_added, report.rows_updated) == ("incremental", 1, 1)
    assert report.watermark == "2026-03-02T00:00:00.000Z"
    wheres = {r.params.get("$where") for r in server.requests if r.path.endswith(".json")}
    assert wheres == {":updated_at >= '2026-01-20T10:00:00.000Z'"}  # row 19's stamp
    victims = table(cfg, "victims", "unique_id").set_index("unique_id")
    assert len(victims) == 21 and victims.loc[api_row(3)["cpd_id"], "block"] == "CHANGED"


def test_incremental_sync_keeps_each_victims_place_in_step(cfg, server) -> None:
    run_sync(cfg, SyncRequest())
    later = {":updated_at": "2026-03-01T00:00:00.000Z"}
    before = table(cfg, "victim_areas").set_index("unique_id")
    moved, dropped, added, redated = (api_row(i)["cpd_id"] for i in (3, 4, 99, 6))
    assert before.loc[moved, "geo_beat"] == "0112"  # (-87.67, 41.83)
    server.rows[VICTIMS][3] = api_row(3, longitude="-87.72", latitude="41.87", **later)
    server.rows[VICTIMS][4] = api_row(4, latitude=None, **later)  # to quarantine
    server.rows[VICTIMS][6] = api_row(6, date="2024-12-30T23:10:00.000", **later)  # corrected
    assert by_dataset(run_sync(cfg, SyncRequest()))["victims"].mode == "incremental"
    after = table(cfg, "victim_areas").set_index("unique_id")
    assert set(after.index) == set(table(cfg, "victims")["unique_id"])
    assert_times_in_step(cfg)
    assert after.loc[redated, "occurred_at"] == pd.Timestamp("2024-12-30 23:10")
    places = ["geo_beat", "geo_district", "geo_community_area"]
    assert after.loc[moved, places].tolist() == ["0211", "2", "AUSTIN"]
    assert dropped not in after.index
    unchanged = after.index.difference([moved, redated])
    pd.testing.assert_frame_equal(after.loc[unchanged], before.loc[unchanged])

    server.rows[VICTIMS].append(api_row(99, longitude="-87.72", latitude="41.82", **later))
    run_sync(cfg, SyncRequest())
    assert table(cfg, "victim_areas").set_index("unique_id").loc[added, places].tolist() == [
        "0111",
        "1",
        "AUSTIN",
    ]


def assert_times_in_step(settings: Settings) -> None:
    """Every place row carries its victim's time: the page bounds its joins by it."""
    victims = table(settings, "victims").set_index("unique_id")["occurred_at"]
    places = table(settings, "victim_areas").set_index("unique_id")["occurred_at"]
    pd.testing.assert_series_equal(places.sort_index(), victims.sort_index())


def test_new_boundaries_move_every_stored_victim(cfg, tmp_path) -> None:
    run_sync(cfg, SyncRequest())
    before = table(cfg, "victim_areas").set_index("unique_id")["geo_beat"]
    beats = tiny_layers()["beats"]
    for feature in beats["features"]:  # 0111 and 0112 trade places
        number = feature["properties"]["beat_num"]
        feature["properties"]["beat_num"] = {"0111": "0112", "0112": "0111"}.get(number, number)
    path = tmp_path / "beats.geojson"
    path.write_text(json.dumps(beats))
    reports = by_dataset(run_sync(cfg, SyncRequest(boundaries={"beats": path})))
    assert reports["victims"].mode == "incremental" and reports["beats"].rows_updated == 2
    after = table(cfg, "victim_areas").set_index("unique_id")["geo_beat"]
    swapped = before.map(lambda b: {"0111": "0112", "0112": "0111"}.get(b, b))
    # Points on the shared edge (longitude -87.70) stay with the smaller key, 0111.
    victims = table(cfg, "victims").set_index("unique_id")
    inside = victims.index[victims["longitude"] != -87.70]
    assert (before[inside] != after[inside]).sum() >= 10  # most are in those two beats
    pd.testing.assert_series_equal(after[inside].sort_index(), swapped[inside].sort_index())
    assert_times_in_step(cfg)


def test_row_that_turns_bad_moves_to_quarantine_and_back(cfg, server) -> None:
    run_sync(cfg, SyncRequest())
    later = {":updated_at": "2026-04-01T00:00:00.000Z"}
    server.rows[VICTIMS][4] = api_row(4, latitude=None, **later)
    report = by_dataset(run_sync(cfg, SyncRequest()))["victims"]
    assert (report.rows_removed, report.rows_quarantined) == (1, 1)
    assert table(cfg, "quarantine")["reasons"].tolist() == ["missing coordinates"]
    server.rows[VICTIMS][4] = api_row(4, **{":updated_at": "2026-04-02T00:00:00.000Z"})
    run_sync(cfg, SyncRequest())
    assert table(cfg, "quarantine").empty and len(table(cfg, "victims")) == 20


def test_full_sync_removes_rows_deleted_upstream(cfg, server) -> None:
    run_sync(cfg, SyncRequest())
    del server.rows[VICTIMS][7]
    assert by_dataset(run_sync(cfg, SyncRequest()))["victims"].rows_removed == 0  # unseen
    report = by_dataset(run_sync(cfg, SyncRequest(full=True)))["victims"]
    assert (report.mode, report.rows_removed) == ("full", 1)
    assert api_row(7)["cpd_id"] not in set(table(cfg, "victims")["unique_id"])


def test_stale_full_refresh_turns_incremental_into_full(cfg) -> None:
    run_sync(cfg, SyncRequest())
    report = by_dataset(run_sync(replace(cfg, full_refresh_days=-1), SyncRequest()))["victims"]
    assert report.mode == "full"


def test_change_of_source_forces_a_full_read(cfg, tmp_path) -> None:
    export = tmp_path / "victims.csv"
    pd.DataFrame.from_records([api_row(i) for i in range(3)]).drop(columns=["location"]).to_csv(
        export, index=False
    )
    run_sync(cfg, SyncRequest(victims=[export]))
    assert len(table(cfg, "victims")) == 3
    report = by_dataset(run_sync(cfg, SyncRequest()))["victims"]
    assert (report.mode, report.rows_added) == ("full", 17)


def store_bytes(settings: Settings) -> bytes:
    return settings.store_path.read_bytes()


@pytest.mark.parametrize("fault_on", ["second page", "schema drift"])
def test_failed_sync_leaves_the_previous_store_untouched(cfg, server, fault_on) -> None:
    run_sync(cfg, SyncRequest())
    before = store_bytes(cfg)
    server.rows[VICTIMS].append(api_row(50, **{":updated_at": "2026-05-01T00:00:00.000Z"}))
    if fault_on == "second page":
        server.rows[VICTIMS].extend(
            api_row(60 + i, **{":updated_at": "2026-05-02T00:00:00.000Z"}) for i in range(10)
        )
        server.faults = [Fault(), Fault()] + [Fault(500)] * cfg.max_attempts  # count, page 1 ok
        error: type[Exception] = SourceError
    else:
        server.rows[VICTIMS] = [
            {("event_date" if k == "date" else k): v for k, v in r.items()}
            for r in server.rows[VICTIMS]
        ]
        error = SchemaDriftError
    with pytest.raises(error):
        run_sync(cfg, SyncRequest())
    assert store_bytes(cfg) == before
    assert sorted(p.name for p in cfg.data_dir.iterdir()) == ["store.duckdb", "store.duckdb.lock"]


def test_second_sync_while_one_runs_is_refused(cfg) -> None:
    run_sync(cfg, SyncRequest())
    store = Store(cfg.store_path)
    with store.write(), pytest.raises(StoreError, match="another sync is writing"):
        run_sync(cfg, SyncRequest())


def test_kill_minus_9_at_any_moment_leaves_a_good_store(cfg, server) -> None:
    """Kill real sync processes at spread-out moments; the store must stay the old one."""
    run_sync(cfg, SyncRequest())
    before = table(cfg, "victims", "unique_id")
    server.rows[VICTIMS].extend(
        api_row(100 + i, **{":updated_at": "2026-06-01T00:00:00.000Z"}) for i in range(300)
    )
    env = dict(
        os.environ,
        DATA_DIR=str(cfg.data_dir),
        SOCRATA_DOMAIN=server.url,
        PYTHONPATH=str(PROJECT_ROOT),
    )
    command = [sys.executable, "-m", "pipeline", "sync", "--full"]
    # Time a whole run on a copy of this very store, so the kills land inside the run.
    timing = cfg.data_dir.parent / "timing"
    timing.mkdir()
    shutil.copyfile(cfg.store_path, timing / cfg.store_path.name)
    clock = time.perf_counter()
    subprocess.run(command, env=dict(env, DATA_DIR=str(timing)), check=True, capture_output=True)
    whole_run = time.perf_counter() - clock
    killed = 0
    for fraction in (0.1, 0.2, 0.3, 0.4, 0.55, 0.7, 0.8, 0.9, 0.95):
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(whole_run * fraction)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
        after = table(cfg, "victims", "unique_id")
        if len(after) == len(before):
            pd.testing.assert_frame_equal(after, before)  # the old state, intact
        else:
            assert len(after) == 320  # the new state, whole (replaced before the kill landed)
            before = after
    assert killed >= 3
    report = by_dataset(run_sync(cfg, SyncRequest()))["victims"]  # recovers, cleans up
    assert report.rows_fetched > 0
    assert not list(cfg.data_dir.glob("*.tmp-*"))


def test_reader_keeps_reading_during_a_sync(cfg) -> None:
    run_sync(cfg, SyncRequest())
    con = duckdb.connect(str(cfg.store_path), read_only=True)
    try:
        run_sync(cfg, SyncRequest(full=True))
        assert con.execute("SELECT count(*) FROM victims").fetchall() == [(20,)]
    finally:
        con.close()


def test_sync_refuses_a_closed_port_with_a_clear_error(settings) -> None:
    cfg = replace(settings, domain="http://127.0.0.1:9", max_attempts=2)
    with pytest.raises(
        SourceError,
        match=r"127\.0\.0\.1:9: gave up \(offset 0\) after 2 "
        r"attempts; last error: connection error",
    ):
        run_sync(cfg, SyncRequest())
    assert not Path(cfg.store_path).exists()
