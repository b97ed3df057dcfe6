"""`compare` and geometry-basis `counts` on a small store the test builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import LEVELS
from tests.conftest import ROWS, build_store


@pytest.fixture
def store(tmp_path: Path, capsys) -> Path:
    data = build_store(tmp_path, ROWS)
    capsys.readouterr()
    return data


def run_json(capsys, *argv: str) -> list[dict]:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_compare_json_rows_per_kind_with_context(store, capsys) -> None:
    rows = run_json(
        capsys, "compare", "--data-dir", str(store), "--district", "01", "--format", "json"
    )
    assert [r["kind"] for r in rows] == [
        "shootings",
        "fatal_shootings",
        "nonfatal_shootings",
        "homicides",
    ]
    shootings = rows[0]
    assert {
        k: shootings[k]
        for k in (
            "area",
            "current",
            "previous",
            "change",
            "as_of",
            "current_start",
            "previous_start",
            "previous_end",
        )
    } == {
        "area": "1",
        "current": 3,
        "previous": 1,
        "change": 2,
        "as_of": "2025-03-05",
        "current_start": "2025-01-01",
        "previous_start": "2024-01-01",
        "previous_end": "2024-03-05",
    }
    assert shootings["verdict"] == "too few to judge"
    assert rows[1]["pct_change"] is None and rows[1]["current"] == 1  # 1 against 0: "new"


def test_compare_incidents_and_recorded_basis(store, capsys) -> None:
    incidents = run_json(
        capsys,
        "compare",
        "--data-dir",
        str(store),
        "--district",
        "1",
        "--measure",
        "incidents",
        "--format",
        "json",
    )
    # Rows 0 and 1 share a case number: one incident. Rows 2 (2025) and 3 (2024) share
    # another, counted once on its first victim's date: in 2024, not this year.
    assert incidents[0]["current"] == 1
    assert incidents[0]["previous"] == 1  # that case, through row 3
    assert main(["compare", "--data-dir", str(store), "--district", "9"]) == 2  # not a layer key
    capsys.readouterr()
    recorded = run_json(
        capsys,
        "compare",
        "--data-dir",
        str(store),
        "--citywide",
        "--basis",
        "recorded",
        "--format",
        "json",
    )
    assert recorded[0]["current"] == 7


def test_compare_all_districts_includes_unassigned(store, capsys) -> None:
    rows = run_json(
        capsys,
        "compare",
        "--data-dir",
        str(store),
        "--all-districts",
        "--as-of",
        "2025-03-01",
        "--format",
        "json",
    )
    assert [(r["area"], r["current"]) for r in rows] == [("1", 3), ("2", 2), ("unassigned", 1)]


def test_counts_on_geometry_basis_have_an_unassigned_key(store, capsys) -> None:
    rows = run_json(capsys, "counts", "--data-dir", str(store), "--by", "beat", "--format", "json")
    assert {r["beat"]: r["count"] for r in rows} == {
        "0111": 4,
        "0112": 0,
        "0211": 0,
        "0212": 5,
        "unassigned": 1,
    }


def test_table_shows_definitions(store, capsys) -> None:
    assert main(["compare", "--data-dir", str(store), "--beat", "111"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Beat 0111: year to date through 2025-03-05, counted as victims")
    assert "incidents = distinct case numbers" in out and "29 February" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--district", "99"], "district was '99' but is not in the current boundaries"),
        (["--community-area", "austn"], "did you mean AUSTIN"),
        (
            ["--citywide", "--as-of", "2025-04-01"],
            "after the last record in the store (2025-03-05)",
        ),
    ],
    ids=["unknown-district", "misspelt-area", "as-of-past-data"],
)
def test_bad_compare_requests_are_one_line(store, capsys, argv, message) -> None:
    assert main(["compare", "--data-dir", str(store), *argv]) in (1, 2)
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_status_reports_placement(store, capsys) -> None:
    assert main(["status", "--data-dir", str(store)]) == 0
    out = capsys.readouterr().out
    assert (
        "1 victims in no beat" in out and "recorded code differs from the location's: beat 9" in out
    )
    # Every layer of the registry is named, not only the three the first version knew.
    assert all(f" in no {area.replace('_', ' ')}" in out for area in LEVELS)


def test_gap_in_the_data_withholds_the_verdict(tmp_path, capsys) -> None:
    store = build_store(tmp_path, [r for r in ROWS if r["date"] != "2024-01-15T10:00:00"])
    capsys.readouterr()
    assert main(["compare", "--data-dir", str(store), "--citywide", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert {r["verdict"] for r in json.loads(out)} == {"incomplete data"}
    assert "no records at all in 2024-01" in err


def test_zip_codes_and_neighborhoods_compare_on_geometry_only(store, capsys) -> None:
    """Levels added to the registry: flags, keys matched forgivingly, geometry basis only."""
    rows = run_json(
        capsys,
        "compare",
        "--data-dir",
        str(store),
        "--neighborhood",
        "west test",
        "--format",
        "json",
    )
    assert rows[0]["area"] == "WEST TEST" and rows[0]["current"] == 3  # rows 0, 1, 2 in 0111
    zips = run_json(
        capsys, "compare", "--data-dir", str(store), "--zip-code", "60644", "--format", "json"
    )
    city = run_json(capsys, "compare", "--data-dir", str(store), "--citywide", "--format", "json")
    assert zips[0]["current"] == city[0]["current"] - 1  # all but row 5, outside every square
    code = main(["compare", "--data-dir", str(store), "--zip-code", "60644", "--basis", "recorded"])
    err = capsys.readouterr().err
    assert code == 2 and "records carry no recorded ZIP code" in err and err.count("\n") == 1
