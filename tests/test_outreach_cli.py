"""`hotspots` and `windows` commands, and the Outreach page, on the small fixture store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.cli import main
from pipeline.settings import PROJECT_ROOT
from tests.conftest import ROWS, build_store


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("outreach"), ROWS)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("level", ["beat", "hex"])
def test_hotspots_csv_columns_and_every_area(store, capsys, level) -> None:
    code, out, _ = run(
        capsys,
        "hotspots",
        "--data-dir",
        str(store),
        "--level",
        level,
        "--start",
        "2024-01-01",
        "--end",
        "2025-03-05",
        "--format",
        "csv",
    )
    assert code == 0
    lines = out.strip().splitlines()
    key = "beat" if level == "beat" else "cell"
    assert lines[0] == f"{key},count,z,p,p_fdr,class"
    counts = [int(line.split(",")[1]) for line in lines[1:]]
    assert sum(counts) == 9  # ten rows, one outside every beat (and, here, every cell)
    if level == "beat":
        assert [line.split(",")[0] for line in lines[1:]] == ["0111", "0112", "0211", "0212"]


def test_windows_json(store, capsys) -> None:
    code, out, _ = run(
        capsys,
        "windows",
        "--data-dir",
        str(store),
        "--as-of",
        "2025-03-05",
        "--days",
        "10",
        "--radius-m",
        "400",
        "--format",
        "json",
    )
    assert code == 0
    rows = json.loads(out)
    # Incidents of 24 Feb .. 5 Mar: rows 2 (1 Mar, beat 0111) and 6 (5 Mar, beat 0212).
    assert [r["beat"] for r in rows] == ["0212", "0111"]
    assert {"case_number", "block", "window_end", "followups", "days_left"} <= set(rows[0])


@pytest.mark.parametrize(
    "argv",
    [["windows", "--days", "0"], ["windows", "--radius-m", "x"]],
    ids=["zero-days", "not-a-number"],
)
def test_windows_bad_numbers(store, argv) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--data-dir", str(store)])
    assert exit_.value.code == 2


def test_outreach_page_renders_on_the_fixture_store(store, monkeypatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(store))
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "1_Outreach.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Outreach: open windows and hot spots"
    at.selectbox(key="o_scope").set_value("district").run()
    at.selectbox(key="o_district").set_value("2").run()
    assert not at.exception
    windows = next(f.value for f in at.dataframe if "follow-up shootings so far" in f.value.columns)
    assert windows["beat"].tolist() == ["0212"]  # district 2 only; 0111 is district 1
    assert not [c for frame in at.dataframe for c in frame.value.columns if "name" in str(c)]


def test_outreach_page_with_no_store(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "none"))
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "1_Outreach.py"), default_timeout=60)
    at.run()
    assert not at.exception and "python -m pipeline sync" in at.info[0].value


def test_outreach_map_tooltip_names_the_fields_its_layers_carry(store, monkeypatch) -> None:
    """The Outreach map's tooltip is its own, not the dashboard's {current}/{verdict}."""
    monkeypatch.setenv("DATA_DIR", str(store))
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "1_Outreach.py"), default_timeout=120)
    at.run()
    chart = at.get("deck_gl_json_chart")[0].proto
    tooltip = json.loads(chart.tooltip)["html"]
    fields = set(re.findall(r"{(\w+)}", tooltip))
    spec = json.loads(chart.json)
    carried = {
        key
        for layer in spec["layers"]
        for item in (
            layer["data"]["features"] if isinstance(layer["data"], dict) else layer["data"]
        )
        for key in (item.get("properties", item))
    }
    assert fields and fields <= carried, (fields, carried)
