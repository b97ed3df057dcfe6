"""Safe CSV exports (CLI and download buttons): formula-like text is written as text."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pipeline.cli import main
from pipeline.export import neutralise, safe_csv
from pipeline.settings import PROJECT_ROOT
from tests.conftest import IN_0111, build_store, row

HYPERLINK = '=HYPERLINK("http://x","y")'


def read_back(text: str) -> pd.DataFrame:
    """The CSV as a spreadsheet-like reader sees it: every cell as written."""
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


@pytest.mark.parametrize(
    "text",
    [HYPERLINK, "+1+2", "-2+3+cmd|' /C calc'!A0", "@SUM(1)", "\tTAB", "\rCR", "=", "-"],
    ids=["equals", "plus", "minus", "at", "tab", "carriage-return", "bare-equals", "bare-minus"],
)
def test_dangerous_text_is_quoted(text: str) -> None:
    frame = pd.DataFrame({"block": [text], "count": [1]})
    cells = read_back(safe_csv(frame))
    assert cells.loc[0, "block"] == "'" + text
    assert cells.loc[0, "count"] == "1"
    assert frame.loc[0, "block"] == text  # the input is not changed


@pytest.mark.parametrize(
    "text",
    [
        "5100 S DAMEN AVE",
        "a=b",
        "x-1",
        "STREET @ CORNER",
        " =leading space",
        "'already",
        "x\r=cmd()",
        "x\n=cmd()",
    ],
    ids=[
        "plain",
        "equals-inside",
        "minus-inside",
        "at-inside",
        "space-first",
        "quote-first",
        "carriage-return-inside",
        "newline-inside",
    ],
)
def test_safe_text_is_unchanged(text: str) -> None:
    """Kept as it is, and in one cell: a line break inside never starts a new row."""
    cells = read_back(safe_csv(pd.DataFrame({"block": [text], "count": [-3]})))
    assert cells.to_dict("list") == {"block": [text], "count": ["-3"]}


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([-3, 0, 12], dtype="int64"),
        pd.Series([-0.5, float("nan"), 2.0], dtype="float64"),
        pd.Series([-3, pd.NA, 12], dtype="Int64"),
        pd.Series([-3, None, 1.5], dtype="object"),  # numbers kept in an object column
    ],
    ids=["int", "float-with-nan", "nullable-int", "object-numbers"],
)
def test_negative_numbers_stay_numbers(column: pd.Series) -> None:
    frame = pd.DataFrame({"change": column})
    back = pd.read_csv(io.StringIO(safe_csv(frame)))
    assert back["change"].dtype.kind in "if"
    expected = pd.to_numeric(column.astype("object"), errors="coerce").astype("float64")
    pd.testing.assert_series_equal(back["change"].astype("float64"), expected, check_names=False)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["=1", None, ""], dtype="object"),
        pd.Series(["=1", pd.NA, ""], dtype="string"),
        pd.Series(["=1", None, ""], dtype="category"),
    ],
    ids=["object", "string", "category"],
)
def test_empty_and_missing_cells_stay_empty(column: pd.Series) -> None:
    cells = read_back(safe_csv(pd.DataFrame({"block": column})))
    assert cells["block"].tolist() == ["'=1", "", ""]


def test_neutralise_leaves_non_text_alone() -> None:
    assert neutralise(-3) == -3
    assert neutralise(None) is None
    assert neutralise("-3") == "'-3"  # text that looks like a number is still text


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One shooting in beat 0111 whose published text fields are formulas."""
    rows = [
        row(
            0,
            "2025-03-01T10:00:00",
            IN_0111,
            block=HYPERLINK,
            location_description="@SUM(1)",
            community_area="-1+CMD",
        )
    ]
    return build_store(tmp_path_factory.mktemp("hostile"), rows)


def cli_csv(capsys: pytest.CaptureFixture[str], *argv: str) -> pd.DataFrame:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return read_back(capsys.readouterr().out)


def test_windows_csv_quotes_formula_blocks(
    hostile_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = cli_csv(
        capsys,
        "windows",
        "--data-dir",
        str(hostile_store),
        "--as-of",
        "2025-03-01",
        "--format",
        "csv",
    )
    assert cells["block"].tolist() == ["'" + HYPERLINK]
    assert cells["beat"].tolist() == ["0111"]
    assert cells["victims"].tolist() == ["1"]  # numbers are written plainly


def test_counts_and_compare_csv_quote_recorded_area_names(
    hostile_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--data-dir", str(hostile_store), "--basis", "recorded", "--format", "csv"]
    counts = cli_csv(capsys, "counts", "--by", "community_area", *common)
    assert counts.set_index("community_area").loc["'-1+CMD", "count"] == "1"
    compare = cli_csv(capsys, "compare", "--all-community-areas", "--as-of", "2025-03-01", *common)
    row = compare.set_index("area").loc["'-1+CMD"]
    assert (row["current"], row["previous"], row["change"]) == ("1", "0", "1")


@pytest.mark.parametrize(
    ("page", "label", "tab"),
    [
        ("dashboard.py", "Download every incident of the period (CSV)", "Incidents"),
        ("pages/1_Outreach.py", "Download this list (CSV)", None),
    ],
    ids=["dashboard-incidents", "outreach-windows"],
)
def test_download_buttons_offer_safe_csv(
    hostile_store: Path, monkeypatch: pytest.MonkeyPatch, page: str, label: str, tab: str | None
) -> None:
    offered: dict[str, object] = {}
    original = st.download_button

    def spy(text: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        offered[text] = data
        return original(text, data, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", spy)
    monkeypatch.setenv("DATA_DIR", str(hostile_store))
    at = AppTest.from_file(str(PROJECT_ROOT / page), default_timeout=120)
    if tab:  # the detail tab that holds the button, open (only the open tab is built)
        at.session_state["details"] = tab
    at.run()
    assert not at.exception
    data = offered[label]
    data = data() if callable(data) else data  # the page's incidents CSV is made on click
    assert isinstance(data, str)
    assert read_back(data)["block"].tolist() == ["'" + HYPERLINK]
