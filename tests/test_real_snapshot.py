"""End to end on the real Chicago snapshot in ../shared/data/chicago (skipped where absent)."""

from __future__ import annotations

import csv
import functools
import gzip
import json
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.geometry
from streamlit.testing.v1 import AppTest

from pipeline.cli import main
from pipeline.queries import VictimFilter
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.store import Store
from pipeline.sync import SyncRequest, run_sync
from pipeline.trends import Span
from tests.conftest import (
    BOUNDARY_FILES,
    RECONSTRUCTED,
    SAMPLE_DIR,
    VICTIMS,
    first_victims,
    needs_snapshot,
    sync_real_snapshot,
)
from tests.soda_server import SodaServer
from tests.test_brief import compare_rows, contains_in_order, pdf_words

pytestmark = needs_snapshot


def sample_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(SAMPLE_DIR.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    return sync_real_snapshot(tmp_path_factory.mktemp("real") / "data")


def victims(data: Path) -> pd.DataFrame:
    with Store(data / "store.duckdb").read() as con:
        return con.execute("SELECT * FROM victims ORDER BY unique_id").df()


def test_every_real_row_is_stored(store_dir) -> None:
    with gzip.open(RECONSTRUCTED, "rt") as handle:
        reconstructed = sum(1 for _ in csv.DictReader(handle))
    assert len(victims(store_dir)) == len(sample_rows()) + reconstructed == 3_184 + 28_991
    with Store(store_dir / "store.duckdb").read() as con:
        layers = dict(con.execute("SELECT layer, count(*) FROM boundaries GROUP BY 1").fetchall())
    assert layers == {
        "beats": 274,
        "districts": 22,
        "community_areas": 77,
        "zip_codes": 59,  # 61 polygons: 60643 and 60707 come in two pieces
        "neighborhoods": 98,
    }


@pytest.mark.parametrize(
    ("by", "layer", "prop", "key"),
    [
        ("zip_code", "zip_codes", "zip", "60643"),  # one of the two-piece ZIPs
        ("zip_code", "zip_codes", "zip", "60625"),
        ("neighborhood", "neighborhoods", "pri_neigh", "Albany Park"),
    ],
    ids=["zip-in-two-pieces", "zip-60625", "albany-park"],
)
def test_new_layers_count_what_their_polygons_hold(store_dir, capsys, by, layer, prop, key) -> None:
    """ZIP codes and neighbourhoods came in as registry entries: their counts (geometry
    basis, all years) match a point-in-polygon recount from the GeoJSON alone."""
    pieces = [
        shapely.geometry.shape(f["geometry"])
        for f in json.loads(BOUNDARY_FILES[layer].read_text())["features"]
        if f["properties"][prop] == key
    ]
    rows = [
        r
        for r in reconstructed_rows() + [dict(r, unique_id=r["cpd_id"]) for r in sample_rows()]
        if r["gunshot_injury_i"] == "YES"
    ]
    expected = sum(in_polygon(rows, shapely.union_all(pieces)))
    argv = ["counts", "--data-dir", str(store_dir), "--by", by, "--format", "json"]
    assert main(argv) == 0
    got = {r[by]: r["count"] for r in json.loads(capsys.readouterr().out)}
    assert got[key.upper()] == expected > 20
    assert sum(got.values()) == len(rows)  # every shooting once: in an area or unassigned


RECOUNT_RULES = {  # kind -> (gunshot flags counted, victimization types counted); None = any
    "shootings": ({"YES"}, None),
    "fatal-shootings": ({"YES"}, {"HOMICIDE"}),
    "nonfatal-shootings": ({"YES"}, "not HOMICIDE"),
    "homicides": (None, {"HOMICIDE"}),
}


def recount_2025(kind: str, measure: str) -> dict[str, int]:
    """Straight from the CSV text, without pandas or the pipeline's parsing."""
    flags, types = RECOUNT_RULES[kind]
    kept = []
    for r in sample_rows():
        if flags is not None and r["gunshot_injury_i"] not in flags:
            continue
        homicide = r["victimization_primary"] == "HOMICIDE"
        if (types == {"HOMICIDE"} and not homicide) or (types == "not HOMICIDE" and homicide):
            continue
        kept.append(r)
    if measure == "incidents":  # each counted once, on its first victim's date and place
        kept = first_victims(kept, "case_number", "date", "cpd_id")
    counted = Counter(str(int(r["district"])) for r in kept if r["date"].startswith("2025-"))
    return dict(counted)


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
                "--basis",
                "recorded",
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
        served = {k: (v if v != "" else None) for k, v in row.items()}  # served without nulls
        served[":id"] = f"row-{i:06d}"
        served[":updated_at"] = row["updated"] + "Z"
        served.pop("updated")
        api_rows.append(served)
    # The sample's `age` and `ward` are empty in every row, so no row served names
    # them: the portal's field list (X-SODA2-Fields) says they exist all the same.
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


def reconstructed_rows() -> list[dict[str, str]]:
    with gzip.open(RECONSTRUCTED, "rt", newline="") as handle:
        return list(csv.DictReader(handle))


def in_polygon(rows: list[dict[str, str]], geometry) -> list[bool]:
    """Point-in-polygon straight from the GeoJSON, not through the pipeline's index."""
    lon = np.array([float(r["longitude"]) for r in rows])
    lat = np.array([float(r["latitude"]) for r in rows])
    return list(shapely.contains_xy(geometry, lon, lat))


def district_polygon(number: str):
    collection = json.loads(BOUNDARY_FILES["districts"].read_text())
    feature = next(f for f in collection["features"] if f["properties"]["dist_num"] == number)
    return shapely.geometry.shape(feature["geometry"])


def recount_district(number: str, as_of: str, measure: str) -> dict[str, tuple[int, int]]:
    """Year-to-date counts per kind, from the CSV text and the district polygon alone."""
    rows = reconstructed_rows()
    hits = in_polygon(rows, district_polygon(number))
    inside = {id(r) for r, hit in zip(rows, hits, strict=True) if hit}
    year, month_day = int(as_of[:4]), as_of[4:]

    def recount(y: int, keep) -> int:
        kept = [r for r in rows if keep(r)]
        if measure == "incidents":  # each once, on its first victim's date and place
            kept = first_victims(kept, "case_number", "date", "unique_id")
        return sum(
            1
            for r in kept
            if id(r) in inside and f"{y}-01-01" <= r["date"][:10] <= f"{y}{month_day}"
        )

    def shot(r):
        return r["gunshot_injury_i"] == "YES"

    def killed(r):
        return r["victimization_primary"] == "HOMICIDE"

    rules = {
        "shootings": shot,
        "fatal_shootings": lambda r: shot(r) and killed(r),
        "nonfatal_shootings": lambda r: shot(r) and not killed(r),
        "homicides": killed,
    }
    return {kind: (recount(year, keep), recount(year - 1, keep)) for kind, keep in rules.items()}


@pytest.mark.parametrize("measure", ["victims", "incidents"])
def test_17th_district_2020_compare_matches_a_recount(store_dir, capsys, measure) -> None:
    """The mission's number: 61 shooting incidents against 28 by 29 November 2020."""
    assert (
        main(
            [
                "compare",
                "--data-dir",
                str(store_dir),
                "--district",
                "17",
                "--as-of",
                "2020-11-29",
                "--measure",
                measure,
                "--format",
                "json",
            ]
        )
        == 0
    )
    got = {r["kind"]: (r["current"], r["previous"]) for r in json.loads(capsys.readouterr().out)}
    assert got == recount_district("17", "2020-11-29", measure)
    if measure == "incidents":
        assert got["shootings"] == (61, 28)  # the press figures, exactly


@pytest.mark.parametrize("measure", ["victims", "incidents"])
def test_dashboard_table_matches_the_recount(store_dir, monkeypatch, measure) -> None:
    monkeypatch.setenv("DATA_DIR", str(store_dir))
    at = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["today"] = date(2026, 8, 10)  # the snapshot is fresh on that day
    for name, value in {
        "level": "district",
        "area": "17",
        "as_of": "2020-11-29",
        "measure": measure,
        "basis": "geometry",  # the recount places records by the district polygon
    }.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception and not at.warning
    table = at.table[0].value
    shown = {
        str(what).replace(" ", "_").replace("-", ""): (int(r.iloc[0]), int(r.iloc[1]))
        for what, r in table.iterrows()
    }
    assert shown == recount_district("17", "2020-11-29", measure)


def test_recorded_and_geometric_beats_disagree_as_often_as_a_recount_says(
    store_dir, capsys
) -> None:
    collection = json.loads(BOUNDARY_FILES["beats"].read_text())
    rows = reconstructed_rows() + [dict(r, unique_id=r["cpd_id"]) for r in sample_rows()]
    geometric: list[str | None] = [None] * len(rows)
    for feature in sorted(
        collection["features"], key=lambda f: f["properties"]["beat_num"], reverse=True
    ):  # smallest key written last wins on borders
        hits = in_polygon(rows, shapely.geometry.shape(feature["geometry"]))
        for i, hit in enumerate(hits):
            if hit:
                geometric[i] = feature["properties"]["beat_num"]
    differs = sum(
        1
        for r, g in zip(rows, geometric, strict=True)
        if r["beat"] and g and r["beat"].zfill(4) != g
    )
    unassigned = sum(g is None for g in geometric)
    assert main(["status", "--data-dir", str(store_dir)]) == 0
    out = capsys.readouterr().out
    assert f"{unassigned:,} victims in no beat" in out
    assert f"recorded code differs from the location's: beat {differs:,}," in out


@pytest.mark.parametrize(
    ("flag", "area"),
    [("--district", "17"), ("--beat", "1713"), ("--community-area", "ALBANY PARK")],
    ids=["district-17", "beat-1713", "albany-park"],
)
def test_briefs_carry_the_compare_numbers(store_dir, tmp_path, capsys, flag, area) -> None:
    out = tmp_path / "brief.pdf"
    assert (
        main(
            [
                "brief",
                "--data-dir",
                str(store_dir),
                flag,
                area,
                "--as-of",
                "2020-11-29",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    words = pdf_words(out)
    rows = compare_rows(capsys, store_dir, flag, area, "--as-of", "2020-11-29")
    assert len(rows) == 4
    for row in rows:
        assert contains_in_order(words, " ".join(row).split()), row


def recount_newest_incidents(data: Path, span: Span, basis: str, area: tuple[str, str] | None):
    """The newest incidents of the shootings in `span`, grouped in pandas from the raw
    rows: case, latest time, the first victim's beat on `basis`, victims, killed."""
    with Store(data / "store.duckdb").read() as con:
        rows = con.execute(
            "SELECT v.case_number, v.occurred_at, v.unique_id, v.fatal, v.beat, v.district, "
            "a.geo_beat, a.geo_district FROM victims v JOIN victim_areas a USING (unique_id) "
            "WHERE v.gunshot"
        ).df()
    rows = rows[
        (rows["occurred_at"].dt.date >= span.start) & (rows["occurred_at"].dt.date <= span.end)
    ]
    column = {"geometry": "geo_", "recorded": ""}[basis]
    if area is not None:
        rows = rows[rows[column + area[0]] == area[1]]
    rows = rows.sort_values(["occurred_at", "unique_id"])
    grouped = rows.groupby("case_number").agg(
        occurred_at=("occurred_at", "max"),
        beat=(column + "beat", "first"),
        victims=("unique_id", "size"),
        killed=("fatal", "sum"),
    )
    grouped = grouped.reset_index().sort_values(
        ["occurred_at", "case_number"], ascending=[False, True]
    )
    return grouped[["case_number", "occurred_at", "beat", "victims", "killed"]]


@pytest.mark.parametrize("held", [False, True], ids=["asked", "counts-held"])
@pytest.mark.parametrize("basis", ["geometry", "recorded"])
@pytest.mark.parametrize("area", [None, ("district", "11"), ("beat", "1713")])
@pytest.mark.parametrize("limit", [1, 50])
def test_newest_incidents_match_a_recount(store_dir, basis, area, limit, held) -> None:
    """The page's list (a top-N of rows, then those cases grouped; or, where the held
    counts per day say the rows are few, one grouping of them all) is the head of every
    incident of the span grouped and ordered independently."""
    span = Span(date(2025, 1, 1), date(2025, 6, 30))
    where = VictimFilter(span, "shootings", basis, *(area or (None, None)))
    with Store(store_dir / "store.duckdb").reader() as q:
        if held:
            q.knowing_area_days(functools.cache(q.area_days))
        found = q.incidents(where, limit=limit)
    expected = recount_newest_incidents(store_dir, span, basis, area).head(limit)
    assert len(expected) >= min(limit, 2)  # beat 1713 has 2: the list's short path
    columns = ["case_number", "occurred_at", "beat", "victims", "killed"]
    shown = found[columns].astype({"victims": int, "killed": int}).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        shown,
        expected.astype({"victims": int, "killed": int}).reset_index(drop=True),
        check_dtype=False,
    )


def test_the_page_reader_counts_areas_as_the_store(store_dir) -> None:
    """The page's counts per day (`pipeline.area_days`) answer as the store's queries on
    the real snapshot: every district, a few areas of every other level and every area
    of each level at once, on both bases and measures, this year against last and five
    years of the same dates."""
    from pipeline.history import spans_by_year
    from tests.test_area_days import assert_reader_answers_as_the_store

    store = Store(store_dir / "store.duckdb")
    spans = [
        [Span(date(2025, 1, 1), date(2025, 11, 29)), Span(date(2024, 1, 1), date(2024, 11, 29))],
        spans_by_year(Span(date(2022, 1, 1), date(2022, 6, 30)), 5),
        [Span(date(2020, 2, 1), date(2020, 3, 31)), Span(date(2019, 2, 1), date(2019, 3, 31))],
    ]
    with store.reader() as plain, store.reader() as held:
        keys = {"city": ["city"], "district": list(plain.area_labels("district"))}
        for level in ("beat", "community_area", "zip_code", "neighborhood"):
            keys[level] = list(plain.area_labels(level))[:4]
        assert_reader_answers_as_the_store(plain, held, spans, keys)
