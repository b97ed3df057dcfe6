"""`changes`: two successive syncs of the real snapshot, with planted changes in between."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.conftest import BOUNDARY_FILES, RECONSTRUCTED, SAMPLE_DIR, needs_snapshot, sync_files

pytestmark = needs_snapshot


def sample_rows() -> tuple[list[str], list[dict[str, str]]]:
    rows: list[dict[str, str]] = []
    header: list[str] = []
    for path in sorted(SAMPLE_DIR.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            rows.extend(reader)
    return header, rows


def write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Path, dict[str, dict[str, str]]]:
    """A store synced twice: the snapshot, then the snapshot with planted changes."""
    folder = tmp_path_factory.mktemp("changes")
    header, rows = sample_rows()
    data = sync_files(folder / "data", [write(folder / "v.csv", header, rows), RECONSTRUCTED],
                      BOUNDARY_FILES)  # fmt: skip
    shot = [r for r in rows if r["victimization_primary"] != "HOMICIDE" and r["district"] == "17"]
    dies, moves = shot[0], shot[1]
    gone = [rows[10], rows[20]]
    new = dict(rows[30], cpd_id="SHOOT-PLANTED-#1", case_number="JZ999999")
    changed = []
    for row in rows:
        if row in gone:
            continue
        if row is dies:
            row = dict(row, victimization_primary="HOMICIDE", updated="2026-09-01T00:00:00")
        if row is moves:
            row = dict(row, latitude=str(float(row["latitude"]) + 0.001))
        changed.append(row)
    sync_files(data, [write(folder / "v.csv", header, [*changed, new]), RECONSTRUCTED],
               BOUNDARY_FILES)  # fmt: skip
    return data, {"dies": dies, "moves": moves, "new": new, "gone1": gone[0], "gone2": gone[1]}


def changes(capsys, data: Path, *args: str) -> list[dict]:
    assert main(["changes", "--data-dir", str(data), "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_last_sync_lists_what_was_added_updated_and_removed(planted, capsys) -> None:
    data, rows = planted
    listed = {(c["change"], c["record_id"]): c for c in changes(capsys, data)}
    assert set(listed) == {
        ("added", rows["new"]["cpd_id"]),
        ("updated", rows["dies"]["cpd_id"]),
        ("updated", rows["moves"]["cpd_id"]),
        ("removed", rows["gone1"]["cpd_id"]),
        ("removed", rows["gone2"]["cpd_id"]),
    }
    died = listed["updated", rows["dies"]["cpd_id"]]["fields_changed"]
    assert "victimization_primary: BATTERY -> HOMICIDE" in died and "fatal: false -> true" in died
    moved = listed["updated", rows["moves"]["cpd_id"]]["fields_changed"]
    assert moved.startswith("latitude: ") and "victimization" not in moved
    first = next(iter(listed.values()))
    assert set(first) == {
        "sync_id", "change", "record_id", "case_number", "occurred_at", "block",
        "beat", "district", "community_area", "fields_changed",
    }  # fmt: skip
    assert not any("name" in key for key in first)
    # Times as ISO 8601 text, not epoch milliseconds (pandas' old default).
    new = listed["added", rows["new"]["cpd_id"]]
    assert datetime.fromisoformat(new["occurred_at"]).date().isoformat() in rows["new"]["date"]


def test_changes_are_cut_to_an_area_and_a_first_sync_records_none(planted, capsys) -> None:
    data, rows = planted
    in_17 = changes(capsys, data, "--district", "17")
    assert {c["record_id"] for c in in_17} >= {rows["dies"]["cpd_id"], rows["moves"]["cpd_id"]}
    assert all(c["district"] == "17" for c in in_17)
    assert changes(capsys, data, "--since", "1")  # the second sync's, by id
    assert changes(capsys, data, "--since", "0") == changes(capsys, data, "--since", "1")


def test_since_must_be_a_sync_or_a_date(planted, capsys) -> None:
    data, _ = planted
    assert main(["changes", "--data-dir", str(data), "--since", "last tuesday"]) == 2
    assert "must be a sync id or YYYY-MM-DD" in capsys.readouterr().err
