"""Page logic with Streamlit's AppTest: controls, URL state, hostile links, empty store."""

from __future__ import annotations

import gc
import html
import io
import json
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipeline import stats
from pipeline.settings import PROJECT_ROOT
from tests.conftest import ROWS, build_store
from ui import memory
from ui.mapview import LAYER_ID, picked_area
from ui.page import DETAIL_TABS

DASHBOARD = str(PROJECT_ROOT / "dashboard.py")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("dash"), ROWS)


#: "Today" for the page in these tests: five days after the tiny store's newest record,
#: so the data is fresh unless a test says otherwise.
TODAY = date(2025, 3, 10)


def app(data_dir: Path, monkeypatch, **params: str) -> AppTest:
    return app_on(TODAY, data_dir, monkeypatch, **params)


def app_on(today: date, data_dir: Path, monkeypatch, **params: str) -> AppTest:
    """The page run with `today` fixed (the freshness banner reads it)."""
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.session_state["today"] = today
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def open_tab(at: AppTest, label: str) -> AppTest:
    """The page with the detail tab `label` open (only the open one is built), as a
    click on it does."""
    at.session_state["details"] = label
    return at.run()


def compstat(at: AppTest) -> dict[str, tuple[int, int]]:
    """kind -> (this period, the comparison), read from the table's first two columns."""
    table = at.table[0].value
    return {str(what): (int(r.iloc[0]), int(r.iloc[1])) for what, r in table.iterrows()}


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
        basis="geometry",
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
    at = app(store, monkeypatch, basis="geometry")
    at.selectbox(key="area").set_value("1").run()
    assert compstat(at)["shootings"] == (3, 1)
    assert at.query_params["area"] == "1"
    at.radio(key="level").set_value("community_area").run()
    assert at.selectbox(key="area").value == ""  # a district is not a community area


def test_focus_button_selects_district_17_when_it_exists(store, monkeypatch) -> None:
    at = app(store, monkeypatch)
    # the hand-drawn layers have no district 17
    assert not [b for b in at.button if b.label == "District 17"]


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
    ],
    ids=["script-and-sql", "nonsense"],
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
    for tab in DETAIL_TABS:
        frames = open_tab(at, tab).dataframe
        assert len(frames) >= 2  # the tab's own table, the ranked areas'
        for frame in frames:
            assert not [c for c in frame.value.columns if "name" in str(c).lower()]


def test_only_the_open_detail_tab_is_built(store, monkeypatch, downloads) -> None:
    at = app(store, monkeypatch)
    assert [t.label for t in at.tabs] == list(DETAIL_TABS)
    charts = len(at.get("vega_lite_chart"))  # the weekly trend's and the five years'
    assert not [d for d in at.dataframe if "case number" in d.value]  # not asked for yet
    assert "incidents_csv" not in downloads
    open_tab(at, "Incidents")
    assert [d for d in at.dataframe if "case number" in d.value]
    assert "incidents_csv" in downloads
    assert len(at.get("vega_lite_chart")) == charts - 1  # the weekly chart is not built


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


# -- issue 13: basis, periods, selection, downloads, freshness -----------------------------

WORD_JOINER = "\u2060"


def shown(markdown: str) -> str:
    """Text as a reader sees `ui.text.plain` output: escapes and word joiners removed."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")


def texts(at: AppTest) -> list[str]:
    return [shown(m.value) for m in at.markdown]


def headline(at: AppTest) -> str:
    """The headline sentence (an HTML paragraph of its own class), as read."""
    raw = next(m.value for m in at.markdown if 'class="headline"' in m.value)
    return html.unescape(re.sub(r"<[^>]+>", "", raw)).replace("&#58;", ":")


def section_titles(at: AppTest) -> list[str]:
    """The main area's h2 titles (the sidebar's 'View' left out)."""
    return [h.value for h in at.header if h.value != "View"]


@pytest.fixture
def downloads(monkeypatch) -> dict[str, tuple[str, str]]:
    """Every download button's data (deferred data generated) and file name, by key."""
    import streamlit

    seen: dict[str, tuple[str, str]] = {}
    original = streamlit.download_button

    def record(label, data, file_name=None, mime=None, **kwargs):
        body = data() if callable(data) else data
        seen[kwargs.get("key") or label] = (
            body.decode() if isinstance(body, bytes) else body,
            file_name,
        )
        return original(label, data, file_name=file_name, mime=mime, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", record)
    return seen


def test_districts_and_beats_open_on_cpd_codes_with_a_line_on_the_difference(
    store, monkeypatch
) -> None:
    # Every tiny row is recorded by CPD in district 9 / beat 0911, which the hand-drawn
    # map does not have: on CPD's codes district 1 has nothing, on the map it has 3 + 1.
    at = app(store, monkeypatch, area="1")
    assert at.query_params["basis"] == "recorded" and at.radio(key="basis").value == "recorded"
    assert compstat(at)["shootings"] == (0, 0)
    line = next(t for t in texts(at) if t.startswith("Counted by CPD's recorded codes"))
    assert (
        "By location on the current map, District 1 (1ST) would show 3 shootings this year "
        "(3 more), 1 shootings last year (1 more)" in line
    )
    assert "records keep the district CPD wrote at the time" in line
    at = app(store, monkeypatch, area="1", basis="geometry")
    assert compstat(at)["shootings"] == (3, 1)
    assert any(t.startswith("Counted by location on the current map") for t in texts(at))


def test_no_basis_line_when_both_bases_agree_or_for_the_city(store, monkeypatch) -> None:
    at = app(store, monkeypatch)  # whole city: both bases count every record
    assert not [t for t in texts(at) if t.startswith("Counted by")]


@pytest.mark.parametrize("level", ["zip_code", "neighborhood"])
def test_zip_codes_and_neighbourhoods_offer_geometry_only(store, monkeypatch, level) -> None:
    at = app(store, monkeypatch, level=level)
    assert not at.exception and not at.warning
    basis = at.radio(key="basis")
    assert basis.options == ["location on current boundaries"] and basis.disabled
    assert at.query_params["basis"] == "geometry"
    at = app(store, monkeypatch, level=level, basis="recorded")
    assert at.query_params["basis"] == "geometry"
    assert "basis" in at.warning[0].value


def test_year_to_date_says_what_it_compares_against(store, monkeypatch) -> None:
    at = app(store, monkeypatch, basis="geometry")
    assert list(at.table[0].value.columns) == [
        "this year (1 Jan – 5 Mar 2025)",
        "last year (1 Jan – 5 Mar 2024)",
        "change",
        "verdict",
    ]
    assert "This year against last year" in section_titles(at)
    assert any(
        "Year to date: 1 Jan – 5 Mar 2025, against last year: 1 Jan – 5 Mar 2024" in t
        for t in texts(at)
    )


@pytest.mark.parametrize(
    ("period", "now", "before", "against"),
    [
        (
            "28d",
            "last 28 days (6 Feb – 5 Mar 2025)",
            "same 28 days last year (7 Feb – 5 Mar 2024)",  # 2024 has 29 Feb
            "the same 28 days last year",
        ),
        (
            "28d-prev",
            "last 28 days (6 Feb – 5 Mar 2025)",
            "previous 28 days (9 Jan – 5 Feb 2025)",
            "the previous 28 days",
        ),
        (
            "12m",
            "last 12 months (6 Mar 2024 – 5 Mar 2025)",
            "previous 12 months (7 Mar 2023 – 5 Mar 2024)",  # 365 days
            "the previous 12 months",
        ),
    ],
    ids=["28-days-same-last-year", "28-days-previous", "12-months"],
)
def test_each_period_names_its_comparison_everywhere(
    store, monkeypatch, downloads, period, now, before, against
) -> None:
    at = app(store, monkeypatch, period=period, basis="geometry")
    assert not at.exception
    assert list(at.table[0].value.columns)[:2] == [now, before]  # table header
    assert any(t.endswith(f"against {against}") for t in section_titles(at))
    assert any(f"against {against}: {before.split('(')[1][:-1]}" in t for t in texts(at))
    assert any(f"Change against {against}:" in t for t in texts(at))  # map legend
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)  # chart legend
    assert spec["encoding"]["color"]["scale"]["domain"][:2] == [now, before]
    table_csv = pd.read_csv(io.StringIO(downloads["table_csv"][0]))
    assert set(table_csv["compared_with"]) == {before.split(" (")[0]}


def test_small_counts_lead_with_the_verdict(store, monkeypatch) -> None:
    at = app(store, monkeypatch, area="1", basis="geometry")
    sentence = headline(at)
    assert sentence == "Too few to judge: 3 shootings this year, 1 last year."
    assert "%" not in sentence


def test_a_reversed_custom_range_is_refused_with_a_note(store, monkeypatch) -> None:
    at = app(store, monkeypatch, period="custom", start="2025-03-01", end="2025-01-01")
    assert not at.exception
    assert [w.value for w in at.warning] == [
        "The custom range ends (01 Jan 2025) before it starts (01 Mar 2025): no figures are "
        "shown. Pick a last day on or after the first."
    ]
    assert not at.table  # nothing shown for dates nobody asked for
    assert at.date_input(key="start").value == date(2025, 3, 1)  # kept, to be corrected
    at.date_input(key="end").set_value(date(2025, 3, 5)).run()
    assert not at.warning and compstat(at)["shootings"] == (2, 1)  # rows 2, 6 against 8


def test_months_with_no_data_are_listed_and_never_read_as_new(store, monkeypatch) -> None:
    # 28 days to 15 Feb 2024 against the same 28 days of 2023: the store starts in 2024.
    at = app(store, monkeypatch, as_of="2024-02-15", period="28d", basis="geometry")
    assert not at.exception
    note = next(w.value for w in at.warning if "no records at all" in w.value)
    assert "Jan 2023 – Feb 2023 (2 months) (same 28 days last year, 19 Jan – 15 Feb 2023)" in note
    table = at.table[0].value
    assert set(table.iloc[:, 1]) == {"no data"}
    assert set(table["change"]) == {"not comparable"}
    assert set(table["verdict"]) == {"incomplete data"}
    assert not [c for c in table["change"] if "new" in c]
    assert headline(at).startswith("No verdict")
    deck = at.get("deck_gl_json_chart")[0].proto.json
    assert "(new)" not in deck and "not comparable" in deck


@pytest.mark.parametrize(
    ("today", "banner"), [(date(2025, 3, 19), False), (date(2025, 3, 20), True)], ids=["14", "15"]
)
def test_a_banner_when_the_newest_record_is_over_14_days_old(
    store, monkeypatch, today, banner
) -> None:
    at = app_on(today, store, monkeypatch)
    stale = [w.value for w in at.warning if "out of date" in w.value]
    assert stale == (
        [
            "The data may be out of date: the newest record is from 05 Mar 2025, 15 days "
            "before today (20 Mar 2025). Shootings since then are not counted."
        ]
        if banner
        else []
    )


def test_presentation_mode_says_stale_in_the_freshness_line_not_a_box(store, monkeypatch) -> None:
    """On a projector the map needs the room: the staleness is one bold phrase."""
    at = app_on(date(2025, 3, 20), store, monkeypatch, present="1")
    assert not at.exception
    assert not [w for w in at.warning if "out of date" in w.value]
    line = html.unescape(next(m.value for m in at.markdown if 'class="freshness"' in m.value))
    assert "Data through <b>2025-03-05</b>" in line
    assert "<b>15 days old: later shootings are not counted.</b>" in line


def test_area_lists_are_sorted_and_named_as_people_say_them(store, monkeypatch) -> None:
    at = app(store, monkeypatch, level="neighborhood")
    assert at.selectbox(key="area").options == ["Whole city", "East Test", "West Test"]
    at = app(store, monkeypatch, level="community_area")
    assert at.selectbox(key="area").options == ["Whole city", "Austin"]
    at.selectbox(key="area").set_value("AUSTIN").run()
    assert at.title[0].value == "Shootings (fatal and non-fatal): Austin"


def test_district_to_beats_keeps_the_district_in_view(store, monkeypatch) -> None:
    at = app(store, monkeypatch, area="2")
    at.radio(key="level").set_value("beat").run()
    assert at.selectbox(key="area").value == "0211"  # the district's first beat
    assert at.query_params["basis"] == "recorded"
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    layers = {layer["id"]: layer for layer in deck["layers"]}
    assert "context" in layers  # district 2 outlined around its beats
    assert {label["text"] for label in layers["labels"]["data"]} == {"0211", "0212"}
    assert deck["initialViewState"]["latitude"] == pytest.approx(41.9, abs=0.01)
    at.radio(key="level").set_value("district").run()
    assert at.selectbox(key="area").value == "2"


def test_table_csv_says_where_when_against_what_and_how(store, monkeypatch, downloads) -> None:
    at = app(store, monkeypatch, area="1", basis="geometry")
    assert not at.exception
    text, name = downloads["table_csv"]
    assert name == "compstat_district_1_2025-01-01_2025-03-05.csv"
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert list(table.columns) == [
        "area",
        "area_name",
        "level",
        "period",
        "period_start",
        "period_end",
        "compared_with",
        "comparison_start",
        "comparison_end",
        "measure",
        "basis",
        "kind",
        "current",
        "previous",
        "change",
        "pct_change",
        "p_value",
        "verdict",
    ]
    row = table.set_index("kind").loc["shootings"].to_dict()
    assert row == {
        "area": "1",
        "area_name": "District 1 (1ST)",
        "level": "district",
        "period": "this year",
        "period_start": "2025-01-01",
        "period_end": "2025-03-05",
        "compared_with": "last year",
        "comparison_start": "2024-01-01",
        "comparison_end": "2024-03-05",
        "measure": "victims",
        "basis": "geometry",
        "current": "3",
        "previous": "1",
        "change": "2",
        "pct_change": "200.0",
        "p_value": f"{stats.poisson_change_p(3, 1, 64, 65):.3g}",
        "verdict": "too few to judge",
    }


def test_incidents_csv_has_every_incident_of_the_period(store, monkeypatch, downloads) -> None:
    at = open_tab(app(store, monkeypatch, measure="incidents"), "Incidents")
    text, name = downloads["incidents_csv"]
    assert name == "incidents_city_shootings_2025-01-01_2025-03-05.csv"
    incidents = pd.read_csv(io.StringIO(text))
    # Every case with a victim in the period (rows 0+1, 2, 4+5, 6, 9), however the table
    # counts incidents (on their first victim's date: 2 of them fall in 2025).
    assert sorted(incidents["case number"]) == [f"JJ10000{i}" for i in range(5)]
    incidents_shown = next(d.value for d in at.dataframe if "case number" in d.value)
    assert len(incidents_shown) == 5  # the page lists them all (fewer than 50)
    assert not [c for c in incidents.columns if "name" in c.lower()]


def test_switching_to_a_custom_range_opens_on_this_year_to_date(store, monkeypatch) -> None:
    at = app(store, monkeypatch)
    at.selectbox(key="period").set_value("custom").run()
    assert not at.warning
    assert (at.date_input(key="start").value, at.date_input(key="end").value) == (
        date(2025, 1, 1),
        date(2025, 3, 5),
    )
    assert at.query_params["start"] == "2025-01-01"


# -- issue 14: the resident's search --------------------------------------------------------


def test_typing_a_neighbourhood_answers_and_shows_its_area(store, monkeypatch) -> None:
    """'testland' (the secondary name of the hand-drawn West Test, over beat 0111): rows
    0-2 this year to 5 Mar 2025 against row 3; the page selects the neighbourhood, its
    table agrees with the card and the link keeps the search."""
    at = app(store, monkeypatch)
    at.text_input(key="q").input("testland").run()
    assert not at.exception
    assert "Testland: 3 this year against 1 last year by 5 Mar; too few to judge." in [
        s.strip("*") for s in texts(at)
    ]
    assert (at.session_state["level"], at.session_state["area"]) == ("neighborhood", "WEST TEST")
    assert at.query_params["q"] == "testland" and at.query_params["level"] == "neighborhood"
    assert compstat(at)["shootings"] == (3, 1)


def test_a_point_in_a_link_is_answered_without_the_address_service(store, monkeypatch) -> None:
    monkeypatch.setenv("GEOCODER_URL", "http://127.0.0.1:9")  # nothing listens there
    at = app(store, monkeypatch, q="1 Test St", at="41.870000,-87.680000", radius="800")
    assert not at.exception and not at.warning
    sentence = next(s for s in texts(at) if "within four blocks of 1 Test St" in s)
    assert sentence.strip("*").endswith("by 5 Mar; too few to judge.")
    assert at.query_params["at"] == "41.870000,-87.680000"
    assert at.query_params["radius"] == "800"
    ring = json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"][-1]
    assert ring["id"] == "ring" and ring["data"][0]["r"] == 800


def test_an_unreachable_address_service_is_one_plain_message(store, monkeypatch) -> None:
    monkeypatch.setenv("GEOCODER_URL", "http://127.0.0.1:9")
    at = app(store, monkeypatch)
    at.text_input(key="q").input("3401 W Foster Ave").run()
    assert not at.exception
    assert [shown(w.value) for w in at.warning] == [
        "could not reach the address service; try a ZIP code or a neighbourhood name"
    ]
    assert compstat(at)["shootings"]  # the rest of the page still works


def test_presentation_mode_is_a_visible_toggle_and_drops_search_and_buttons(
    store, monkeypatch
) -> None:
    at = app(store, monkeypatch, area="1")
    assert at.text_input(key="q") is not None
    at.toggle(key="present").set_value(True).run()
    assert at.query_params["present"] == "1"
    assert not at.text_input and not at.button and not at.get("download_button")
    labels = next(
        layer
        for layer in json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"]
        if layer["id"] == "labels"
    )
    assert labels["getSize"] >= 20
    assert not any("synced from" in t for t in texts(at))  # no file names on a projector


def test_the_radius_around_a_point_is_chosen_in_the_card(store, monkeypatch) -> None:
    at = app(store, monkeypatch, q="1 Test St", at="41.870000,-87.680000")
    assert at.selectbox(key="radius").value == 400
    at.selectbox(key="radius").set_value(800).run()
    assert not at.exception
    assert any("within four blocks of 1 Test St" in t for t in texts(at))
    assert at.query_params["radius"] == "800"


@pytest.mark.parametrize("page", ["dashboard", "outreach"])
def test_the_first_page_freezes_what_the_process_keeps(store, monkeypatch, page) -> None:
    """After a process's first page, its long-lived objects are out of the cyclic
    collector's sight (`ui.memory`): a full collection no longer walks them on a click."""
    gc.unfreeze()
    memory.freeze_after_first_page.cache_clear()
    monkeypatch.setenv("DATA_DIR", str(store))
    script = DASHBOARD if page == "dashboard" else str(PROJECT_ROOT / "pages" / "1_Outreach.py")
    at = AppTest.from_file(script, default_timeout=120).run()
    assert not at.exception, at.exception
    assert gc.get_freeze_count() > 10_000, "the first page froze nothing"
