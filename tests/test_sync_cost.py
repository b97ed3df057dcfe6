"""Work a sync saves without changing what it stores: placing a small read without the grid
pre-pass, and the Outreach step's grids, weights and draws worked out while the victims
download (`outreach.plan_step_grids`) instead of after the write."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import geo.assign as assign
from geo.assign import Placement
from pipeline import outreach, sync
from pipeline.config import LAYERS
from pipeline.settings import Settings
from pipeline.store import Store
from pipeline.sync import SyncRequest, run_sync
from tests.conftest import ROWS, VICTIMS, api_row, build_store, tiny_layers
from tests.soda_server import SodaServer
from tests.test_geo import tiny_placement

OUTREACH_TABLES = {
    outreach.GRID_TABLE: "level, area",
    outreach.GRID_SOURCE_TABLE: "beats",
    outreach.HOTSPOT_TABLE: "level, area",
    outreach.EMERGING_TABLE: "level, area",
}


@pytest.fixture
def portal(settings: Settings) -> Iterator[Settings]:
    """Settings for a local SODA server with twenty victims and the tiny layers."""
    geojson = {level.dataset: tiny_layers()[layer] for layer, level in LAYERS.items()}
    with SodaServer(rows={VICTIMS: [api_row(i) for i in range(20)]}, geojson=geojson) as srv:
        yield replace(settings, domain=srv.url)


def points(n: int, seed: int) -> pd.DataFrame:
    """`n` victims spread over the tiny layers (and a few beside them)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "unique_id": [f"v{seed}-{i}" for i in range(n)],
            "longitude": rng.uniform(-87.80, -87.60, n),
            "latitude": rng.uniform(41.75, 41.95, n),
        }
    )


def test_a_read_builds_the_grids_only_once_it_is_large(monkeypatch) -> None:
    monkeypatch.setattr(assign, "GRID_MIN_POINTS", 2_000)
    where = tiny_placement()
    first, second = points(1_500, 1), points(1_500, 2)
    small = assign.place_victims(first, where)
    assert not where.grids, "1,500 points of 2,000 were placed through the grids"
    large = assign.place_victims(second, where)
    assert set(where.grids) == set(where.layers), "past 2,000 points the grids were not built"
    # Either way the answers are those of the exact test of every point.
    monkeypatch.setattr(assign, "GRID_MIN_POINTS", 10**9)
    for placed, victims in ((small, first), (large, second)):
        exact = assign.place_victims(victims, Placement(where.layers, where.derived))
        pd.testing.assert_frame_equal(placed, exact)
    assert large["geo_beat"].notna().sum() > 300  # the squares cover a quarter of the box


def outreach_tables(path: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            name: con.execute(f"SELECT * FROM {name} ORDER BY {order}").df()
            for name, order in OUTREACH_TABLES.items()
        }


@pytest.mark.parametrize("grids_stored", [False, True], ids=["grids-built", "grids-kept"])
def test_planned_grids_give_the_tables_the_step_makes_alone(tmp_path, grids_stored) -> None:
    built = build_store(tmp_path, ROWS) / "store.duckdb"
    paths = {way: tmp_path / f"{way}.duckdb" for way in ("planned", "alone")}
    for path in paths.values():
        shutil.copyfile(built, path)
    for way, path in paths.items():
        with duckdb.connect(str(path)) as con:
            if not grids_stored:  # as after new beats: the grids are built again
                con.execute(f"DELETE FROM {outreach.GRID_SOURCE_TABLE}")
                con.execute(f"DELETE FROM {outreach.GRID_TABLE}")
            planned = outreach.plan_step_grids(con) if way == "planned" else None
            if planned is not None:
                assert planned.stored == grids_stored
                assert [g.level for g in planned.grids] == list(outreach.LEVELS)
            assert outreach.store_outreach_tables(con, Store(path), True, planned) > 0
    got, expected = outreach_tables(paths["planned"]), outreach_tables(paths["alone"])
    for name in OUTREACH_TABLES:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)
    assert len(got[outreach.GRID_TABLE]) > 4 and len(got[outreach.EMERGING_TABLE]) > 4


def test_a_full_sync_plans_the_outreach_grids_before_its_write(monkeypatch, portal) -> None:
    """The grids reach the step from the plan made while the pages download (the step
    then builds nothing), and an incremental sync leaves the planning to the step."""
    handed: list[outreach.StepGrids | None] = []
    step = sync.store_outreach_tables

    def recorded(con, store, changed=True, planned=None):
        handed.append(planned)
        if planned is not None:
            monkeypatch.setattr(outreach, "build_grid", refuse)
        try:
            return step(con, store, changed, planned)
        finally:
            monkeypatch.undo()
            monkeypatch.setattr(sync, "store_outreach_tables", recorded)

    def refuse(*args, **kwargs):
        raise AssertionError("the step built a grid the plan had made")

    monkeypatch.setattr(sync, "store_outreach_tables", recorded)
    run_sync(portal, SyncRequest())
    run_sync(portal, SyncRequest())
    assert handed[0] is not None and not handed[0].stored, "the first sync planned no grids"
    assert handed[1] is None, "an incremental sync planned grids it may not need"
    with duckdb.connect(str(portal.store_path), read_only=True) as con:
        stored = con.execute(f"SELECT count(*) FROM {outreach.GRID_TABLE}").fetchall()[0][0]
    assert stored == sum(len(g.keys) for g in handed[0].grids)
