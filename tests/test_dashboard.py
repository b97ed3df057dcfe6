"""Page logic with Streamlit's AppTest: controls, URL state, hostile links, empty store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.settings import PROJECT_ROOT
from tests.conftest import ROWS, build_store
from ui.mapview import LAYER_ID, picked_area

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("dash"), ROWS)


def app(data_dir: Path, monkeypatch, **params: str) -> AppTest:
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def compstat(at: AppTest) -> dict[str, tuple[int, int]]:
    table = at.table[0].value
    return {str(what): (int(r["this period"]), int(r["last year"])) for what, r in table.iterrows()}


def test_empty_store_shows_the_sync_command(tmp_path, monkeypatch) -> None:
    at = app(tmp_path / "nothing", monkeypatch)
    assert not at.exception
    assert "python -m pipeline sync" in at.info[0].value


def test_defaults_and_url_written_back(store, monkeypatch) -> None:
    at = app(store, monkeypatch)
    assert not at.exception
    assert at.title[0].value == "Shootings (fatal and non-fatal): Chicago"
    assert at.radio(key="level").value == "district"
    assert at.selectbox(key="area").value == ""
    expected = {"level": "district", "as_of": "2025-03-05", "period": "ytd", "measure": "victims"}
    assert {k: at.query_params[k] for k in expected} == expected
    # Whole city, year to date through 2025-03-05: rows 0,1,2,4,5,6,9 against 3,7 (+8 is March 2nd)
    assert compstat(at)["shootings"] == (7, 3)


def test_link_opens_the_same_view(store, monkeypatch) -> None:
    at = app(
        store,
        monkeypatch,
        level="beat",
        area="0111",
        as_of="2025-03-01",
        measure="incidents",
        metric="count",
    )
    assert not at.exception and not at.warning
    assert at.radio(key="level").value == "beat"
    assert at.selectbox(key="area").value == "0111"
    assert at.title[0].value.endswith("Beat 0111")
    # Rows 0+1 share a case number: one incident. Rows 2 (2025) and 3 (2024) share
    # another, counted once, on its first victim's date: last year.
    assert compstat(at)["shootings"] == (1, 1)
    assert at.query_params["area"] == "0111" and at.query_params["measure"] == "incidents"


def test_changing_a_control_changes_table_and_url(store, monkeypatch) -> None:
    at = app(store, monkeypatch)
    at.selectbox(key="area").set_value("1").run()
    assert compstat(at)["shootings"] == (3, 1)
    assert at.query_params["area"] == "1"
    at.radio(key="level").set_value("beat").run()
    assert at.selectbox(key="area").value == ""  # a district is not a beat: back to the city


def test_focus_button_selects_district_17_when_it_exists(store, monkeypatch) -> None:
    at = app(store, monkeypatch)
    assert not at.button  # the hand-drawn layers have no district 17


@pytest.mark.parametrize(
    ("params", "ignored"),
    [
        (
            {"level": "<img src=x onerror=alert(1)>", "area": "'; DROP TABLE victims; --"},
            ["area", "level"],
        ),
        (
            {"as_of": "9999-99-99", "period": "forever", "present": "yes please"},
            ["as_of", "period", "present"],
        ),
        ({"start": "2025-03-01", "end": "2025-01-01", "period": "custom"}, ["end", "start"]),
    ],
    ids=["script-and-sql", "nonsense", "reversed-range"],
)
def test_hostile_links_fall_back_with_a_visible_note(store, monkeypatch, params, ignored) -> None:
    at = app(store, monkeypatch, **params)
    assert not at.exception
    note = at.warning[0].value
    assert note == (
        "Some link settings were not valid and were replaced by defaults: "
        + ", ".join(ignored)
        + "."
    )
    assert at.radio(key="level").value == "district"


def test_presentation_mode_hides_controls(store, monkeypatch) -> None:
    at = app(store, monkeypatch, present="1", area="1")
    css = "\n".join(m.value for m in at.markdown)
    assert 'stSidebar"]' in css and "display: none" in css
    assert at.query_params["present"] == "1"


def test_map_click_is_read_from_the_selection_state() -> None:
    selection = {
        "selection": {
            "indices": {LAYER_ID: [3]},
            "objects": {LAYER_ID: [{"properties": {"key": "0212"}}]},
        }
    }
    assert picked_area(selection) == "0212"
    assert picked_area({"selection": {"objects": {}}}) is None
    assert picked_area(None) is None


def test_no_name_columns_on_the_page(store, monkeypatch) -> None:
    at = app(store, monkeypatch)
    for frame in at.dataframe:
        assert not [c for c in frame.value.columns if "name" in str(c).lower()]


def test_brief_button_prepares_a_pdf_for_the_selected_area(store, monkeypatch) -> None:
    at = app(store, monkeypatch)
    assert "Pick an area for a printable one-page brief." in [c.value for c in at.caption]
    at.selectbox(key="area").set_value("1").run()
    at.button(key="brief").click().run()
    assert not at.exception
    labels = [d.proto.label for d in at.get("download_button")]
    assert "Download the brief (PDF)" in labels


def test_a_store_from_an_older_version_is_one_clear_error(tmp_path, monkeypatch) -> None:
    import duckdb

    data = tmp_path / "old"
    data.mkdir()
    con = duckdb.connect(str(data / "store.duckdb"))
    con.execute("CREATE TABLE victims (unique_id VARCHAR)")
    con.close()
    at = app(data, monkeypatch)
    assert not at.exception
    assert "written by an older version" in at.error[0].value
