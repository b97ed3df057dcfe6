"""`python -m pipeline` as a user runs it: sync from files, status, counts, clear errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.conftest import api_row, build_store, first_victims, layer_flags, write_layers


@pytest.fixture
def synced(tmp_path: Path, capsys) -> Path:
    """A store synced from a 12-row CSV and the hand-drawn layers."""
    rows = [api_row(i) for i in range(12)]
    rows[11] = api_row(11, latitude=None)  # quarantined
    data = build_store(tmp_path, rows)
    capsys.readouterr()
    return data


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sync_prints_a_summary_per_dataset(tmp_path, capsys) -> None:
    layers = write_layers(tmp_path / "layers")
    victims = tmp_path / "v.json"
    victims.write_text(json.dumps([api_row(i) for i in range(4)]))
    code, out, _ = run(
        capsys,
        "sync",
        "--data-dir",
        str(tmp_path / "d"),
        "--victims",
        str(victims),
        *layer_flags(layers),
    )
    assert code == 0
    assert "victims: full sync from v.json: 4 fetched, 4 added, 0 updated" in out
    assert "beats: full sync from beats.geojson: 4 fetched, 4 added" in out


def test_status_lists_tables_range_syncs_and_quarantine(synced, capsys) -> None:
    code, out, _ = run(capsys, "status", "--data-dir", str(synced))
    assert code == 0
    assert "victims            11 rows" in out and "quarantine          1 rows" in out
    dates = sorted(api_row(i)["date"][:16].replace("T", " ") for i in range(11))
    assert f"victims occurred {dates[0]} .. {dates[-1]}" in out
    assert "1  missing coordinates" in out


def expected_counts(by: str, kind: str, measure: str) -> dict[str, int]:
    """Recount from the fixture rows, independently of the pipeline's code."""
    kept = []
    for i in range(11):  # row 11 is quarantined
        row = api_row(i)
        shot, fatal = row["gunshot_injury_i"] == "YES", row["victimization_primary"] == "HOMICIDE"
        keep = {
            "shootings": shot,
            "homicides": fatal,
            "fatal-shootings": shot and fatal,
            "nonfatal-shootings": shot and not fatal,
        }[kind]
        if keep:
            kept.append(row)
    if measure == "incidents":  # each counted once, where its first victim was
        kept = first_victims(kept, "case_number", "date", "cpd_id")
    counted = Counter(row[by].zfill(4) if by == "beat" else row[by] for row in kept)
    return dict(counted)


@pytest.mark.parametrize(
    "kind", ["shootings", "homicides", "fatal-shootings", "nonfatal-shootings"]
)
@pytest.mark.parametrize("measure", ["victims", "incidents"])
@pytest.mark.parametrize("by", ["district", "beat"])
def test_counts_match_an_independent_recount(synced, capsys, by, kind, measure) -> None:
    code, out, _ = run(
        capsys,
        "counts",
        "--data-dir",
        str(synced),
        "--by",
        by,
        "--kind",
        kind,
        "--measure",
        measure,
        "--basis",
        "recorded",
        "--format",
        "json",
    )
    assert code == 0
    got = {r[by]: r["count"] for r in json.loads(out) if r["count"]}
    assert got == expected_counts(by, kind, measure)


def test_counts_list_every_area_and_respect_inclusive_dates(synced, capsys) -> None:
    code, out, _ = run(
        capsys,
        "counts",
        "--data-dir",
        str(synced),
        "--by",
        "beat",
        "--start",
        "2025-03-03",
        "--end",
        "2025-03-03",
        "--format",
        "csv",
    )
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "beat,count"
    assert {line.split(",")[0] for line in lines[1:]} >= {"0111", "0112", "0211", "0212"}
    on_the_day = [api_row(i) for i in range(11) if api_row(i)["date"].startswith("2025-03-03")]
    assert (
        sum(int(line.split(",")[1]) for line in lines[1:])
        == sum(r["gunshot_injury_i"] == "YES" for r in on_the_day)
        == 1
    )


def test_no_store_is_one_clear_line(tmp_path, capsys) -> None:
    code, out, err = run(capsys, "counts", "--data-dir", str(tmp_path / "none"), "--by", "beat")
    assert code == 1 and out == ""
    assert err.strip().count("\n") == 0
    assert "no store at" in err and "python -m pipeline sync" in err


def test_missing_input_file_is_one_clear_line(tmp_path, capsys) -> None:
    code, _, err = run(
        capsys, "sync", "--data-dir", str(tmp_path), "--victims", str(tmp_path / "nope.csv")
    )
    assert code == 1 and err.strip() == f"error: no such file or folder: {tmp_path / 'nope.csv'}"


def test_start_after_end_is_refused(synced, capsys) -> None:
    code, _, err = run(
        capsys,
        "counts",
        "--data-dir",
        str(synced),
        "--by",
        "beat",
        "--start",
        "2025-05-01",
        "--end",
        "2025-04-01",
    )
    assert code == 2 and "--start 2025-05-01 is after --end 2025-04-01" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["counts", "--by", "ward"],
        ["counts", "--by", "beat", "--end", "2025-02-30"],
        ["sync", "--kind", "x"],
    ],
    ids=["bad-by", "bad-date", "unknown-flag"],
)
def test_bad_arguments_exit_2_without_traceback(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
