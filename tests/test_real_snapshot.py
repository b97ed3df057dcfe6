"""End to end on the real Chicago snapshot in ../shared/data/chicago (skipped where absent)."""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.settings import Settings
from pipeline.store import Store
from pipeline.sync import SyncRequest, run_sync
from tests.conftest import BOUNDARY_FILES, RECONSTRUCTED, SAMPLE_DIR, VICTIMS, needs_snapshot
from tests.soda_server import SodaServer

pytestmark = needs_snapshot


def sample_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(SAMPLE_DIR.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("real") / "data"
    code = main(
        [
            "sync",
            "--data-dir",
            str(data),
            "--victims",
            str(SAMPLE_DIR),
            str(RECONSTRUCTED),
            "--beats",
            str(BOUNDARY_FILES["beats"]),
            "--districts",
            str(BOUNDARY_FILES["districts"]),
            "--community-areas",
            str(BOUNDARY_FILES["community_areas"]),
        ]
    )
    assert code == 0
    return data


def victims(data: Path) -> pd.DataFrame:
    with Store(data / "store.duckdb").read() as con:
        return con.execute("SELECT * FROM victims ORDER BY unique_id").df()


def test_every_real_row_is_stored(store_dir) -> None:
    with gzip.open(RECONSTRUCTED, "rt") as handle:
        reconstructed = sum(1 for _ in csv.DictReader(handle))
    assert len(victims(store_dir)) == len(sample_rows()) + reconstructed == 3_184 + 28_991
    with Store(store_dir / "store.duckdb").read() as con:
        layers = dict(con.execute("SELECT layer, count(*) FROM boundaries GROUP BY 1").fetchall())
    assert layers == {"beats": 274, "districts": 22, "community_areas": 77}


RECOUNT_RULES = {  # kind -> (gunshot flags counted, victimization types counted); None = any
    "shootings": ({"YES"}, None),
    "fatal-shootings": ({"YES"}, {"HOMICIDE"}),
    "nonfatal-shootings": ({"YES"}, "not HOMICIDE"),
    "homicides": (None, {"HOMICIDE"}),
}


def recount_2025(kind: str, measure: str) -> dict[str, int]:
    """Straight from the CSV text, without pandas or the pipeline's parsing."""
    flags, types = RECOUNT_RULES[kind]
    seen: dict[str, set[str]] = {}
    for r in sample_rows():
        if not r["date"].startswith("2025-"):
            continue
        if flags is not None and r["gunshot_injury_i"] not in flags:
            continue
        homicide = r["victimization_primary"] == "HOMICIDE"
        if (types == {"HOMICIDE"} and not homicide) or (types == "not HOMICIDE" and homicide):
            continue
        key = r["cpd_id"] if measure == "victims" else r["case_number"]
        seen.setdefault(str(int(r["district"])), set()).add(key)
    return {district: len(keys) for district, keys in seen.items()}


@pytest.mark.parametrize("measure", ["victims", "incidents"])
@pytest.mark.parametrize("kind", list(RECOUNT_RULES))
def test_2025_counts_by_district_match_a_recount(store_dir, capsys, kind, measure) -> None:
    assert (
        main(
            [
                "counts",
                "--data-dir",
                str(store_dir),
                "--by",
                "district",
                "--start",
                "2025-01-01",
                "--end",
                "2025-12-31",
                "--kind",
                kind,
                "--measure",
                measure,
                "--format",
                "json",
            ]
        )
        == 0
    )
    got = {r["district"]: r["count"] for r in json.loads(capsys.readouterr().out) if r["count"]}
    assert got == recount_2025(kind, measure)
    assert sum(got.values()) > 50


def test_no_victim_name_reaches_the_store(store_dir) -> None:
    full_names = {
        f"{r['homicide_victim_first_name']} {r['homicide_victim_last_name']}".strip()
        for r in sample_rows()
        if r["homicide_victim_last_name"].strip()
    }
    assert len(full_names) > 300  # the sample really carries names
    with Store(store_dir / "store.duckdb").read() as con:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR'"
        ).fetchall()
        assert not [c for _, c in columns if "victim" in c and "name" in c]
        text = "\n".join(
            str(v[0])
            for table, column in columns
            for v in con.execute(f'SELECT DISTINCT "{column}" FROM {table}').fetchall()
            if v[0] is not None
        )
    assert "homicide_victim" not in text
    assert not [name for name in full_names if name in text]


def test_api_and_file_sources_give_identical_records(store_dir, tmp_path) -> None:
    """The same real rows served as Socrata JSON through sodapy end up identical."""
    api_rows = []
    for i, row in enumerate(sample_rows()):
        served = {k: v for k, v in row.items() if v != ""}
        served[":id"] = f"row-{i:06d}"
        served[":updated_at"] = row["updated"] + "Z"
        served.pop("updated")
        api_rows.append(served)
    settings = Settings.from_env(env={}, data_dir=tmp_path / "api")
    with SodaServer(rows={VICTIMS: api_rows}) as server:
        boundaries = dict(BOUNDARY_FILES)
        run_sync(replace(settings, domain=server.url), SyncRequest(boundaries=boundaries))
    from_api = victims(tmp_path / "api")
    from_files = victims(store_dir)
    from_files = from_files[from_files["unique_id"].isin(from_api["unique_id"])]
    pd.testing.assert_frame_equal(
        from_api.reset_index(drop=True), from_files.reset_index(drop=True)
    )
