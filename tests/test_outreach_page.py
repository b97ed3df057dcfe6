"""The Outreach page: its URL, the team area cutting map and tables, plain words, the street
base map, emerging hot spots stored at sync, "since the last sync", and `compare`'s
revision line on two syncs of the real snapshot."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from pipeline import changes, outreach
from pipeline.cli import main
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.store import Store
from tests.conftest import ROWS, build_store, needs_snapshot
from tests.test_changes import planted  # noqa: F401  (the two-sync fixture)
from ui import basemap, mapview, outreach_data, outreach_map, outreach_tables, since_sync
from ui.outreach_state import OutreachView, from_query, to_query
from ui.state import Bounds

PAGE = str(PROJECT_ROOT / "pages" / "1_Outreach.py")
BOUNDS = Bounds(
    first=date(2024, 1, 1),
    latest=date(2025, 3, 5),
    areas={
        "district": ("1", "2"),
        "beat": ("0111", "0112", "0211", "0212"),
        "community_area": ("Austin",),
    },
)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("outreach_page"), ROWS)


def open_page(store: Path, monkeypatch, **params: str) -> AppTest:
    monkeypatch.setenv("DATA_DIR", str(store))
    at = AppTest.from_file(PAGE, default_timeout=120)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(f.value for f in at.dataframe if column in f.value.columns)


def deck_spec(at: AppTest) -> dict:
    return json.loads(at.get("deck_gl_json_chart")[0].proto.json)


# --- the URL ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected", "ignored"),
    [
        ({}, OutreachView(as_of=BOUNDS.latest), []),
        (
            {"scope": "beats", "beats": "0212,0111", "level": "hex", "radius": "600"},
            OutreachView(
                as_of=BOUNDS.latest, scope="beats", beats=("0111", "0212"), level="hex", radius=600
            ),
            [],
        ),
        (
            {"scope": "district", "district": "9", "days": "0", "radius": "610"},
            OutreachView(as_of=BOUNDS.latest),
            ["days", "district", "radius", "scope"],
        ),
        (
            {"beats": "0111,<script>", "scope": "beats", "as_of": "2030-01-01", "x": "1"},
            OutreachView(as_of=BOUNDS.latest),
            ["as_of", "beats", "scope", "x"],
        ),
        (
            {"scope": "community_area", "area": "Austin", "shows": "emerging"},
            OutreachView(
                as_of=BOUNDS.latest, scope="community_area", area="Austin", shows="emerging"
            ),
            [],
        ),
    ],
    ids=["empty", "beats-hex", "unknown-district-bad-numbers", "hostile", "community-area"],
)
def test_from_query(params, expected, ignored) -> None:
    assert from_query(params, BOUNDS) == (expected, ignored)


def test_to_query_round_trips_and_leaves_other_scopes_out() -> None:
    view = OutreachView(
        as_of=date(2025, 1, 2), scope="beats", beats=("0111", "0211"), district="1", window=20
    )
    query = to_query(view)
    assert query == {"as_of": "2025-01-02", "window": "20", "scope": "beats", "beats": "0111,0211"}
    assert from_query(query, BOUNDS) == (OutreachView(**{**view.__dict__, "district": ""}), [])


# --- the page --------------------------------------------------------------------------


def test_team_area_in_the_url_cuts_windows_tables_and_map(store, monkeypatch) -> None:
    city = open_page(store, monkeypatch)
    at = open_page(store, monkeypatch, scope="district", district="2")
    assert at.selectbox(key="o_district").value == "2"
    assert frame_with(at, "follow-up shootings so far")["beat"].tolist() == ["0212"]
    assert set(frame_with(city, "follow-up shootings so far")["beat"]) == {"0111", "0212"}
    spec = deck_spec(at)
    areas = next(layer for layer in spec["layers"] if layer["id"] == "areas")
    names = {f["properties"]["name"] for f in areas["data"]["features"]}
    assert names == {"Beat 0211, Austin", "Beat 0212, Austin"}  # district 2 only, in words
    team = next(layer for layer in spec["layers"] if layer["id"] == "team")
    assert len(team["data"]["features"]) == 1
    assert spec["initialViewState"]["zoom"] > deck_spec(city)["initialViewState"]["zoom"]
    for column in ("place", "pattern"):
        table = frame_with(at, column)
        assert not table.empty or column == "place"
    patterns = frame_with(at, "pattern")
    assert patterns["areas"].sum() == 2  # district 2's two beats, against four citywide
    assert frame_with(city, "pattern")["areas"].sum() == 4
    assert at.query_params["scope"] == "district" and at.query_params["district"] == "2"


def test_widget_changes_are_mirrored_to_the_url(store, monkeypatch) -> None:
    at = open_page(store, monkeypatch)
    at.radio(key="o_level").set_value("hex").run()
    at.number_input(key="o_radius").set_value(800).run()
    assert not at.exception
    assert at.query_params["level"] == "hex" and at.query_params["radius"] == "800"


def test_a_new_view_reads_through_the_pages_shared_connection(store, monkeypatch) -> None:
    """Windows, names and hexagons of a view not seen before are read through the page's
    one shared connection: the store file is not opened again (~20 ms each time)."""
    at = open_page(store, monkeypatch)
    opened: list[Path] = []
    connect = Store.connect_read_only

    def counted(self: Store) -> duckdb.DuckDBPyConnection:
        opened.append(self.path)
        return connect(self)

    monkeypatch.setattr(Store, "connect_read_only", counted)
    days = at.number_input(key="o_days")
    at.radio(key="o_level").set_value("hex").run()
    at.number_input(key="o_radius").set_value(800).run()
    at.number_input(key="o_days").set_value(int(days.value or 0) + 7).run()
    assert not at.exception
    assert opened == []


def test_the_other_level_is_ready_before_its_first_switch(store, monkeypatch) -> None:
    """After a page is drawn, the same view on the other level is computed: switching to
    hexagons then draws a map the first run made (a radius no other test uses, so both
    maps are new to this process's caches)."""
    drawn: list[int] = []
    deck_json = outreach_data.deck_json

    def counted(*args, **kwargs):
        drawn.append(len(args[0]))  # the shapes: hexagons or beats
        return deck_json(*args, **kwargs)

    monkeypatch.setattr(outreach_data, "deck_json", counted)
    at = open_page(store, monkeypatch, radius="1150")
    assert len(drawn) == 2, "the first run drew its map only, not the other level's"
    first = deck_spec(at)
    at.radio(key="o_level").set_value("hex").run()
    assert not at.exception, at.exception
    assert len(drawn) == 2, "the switch to hexagons computed its map again"
    hexagons = deck_spec(at)
    assert hexagons != first and hexagons["layers"][0]["@@type"] == "H3HexagonLayer"
    at.number_input(key="o_days").set_value(9).run()  # a later rerun draws its own map only
    assert not at.exception, at.exception
    assert len(drawn) == 3, "a later rerun prepared the other level's map again"


def test_bad_link_values_fall_back_with_a_plain_note(store, monkeypatch) -> None:
    at = open_page(store, monkeypatch, radius="abc", **{"[x](http://e.vil)": "1"})
    note = at.warning[0].value
    assert "radius" in note and "](http" not in note and "e.vil" not in note.replace("\\", "")
    assert at.number_input(key="o_radius").value == 400


def test_tables_speak_plain_words_and_name_places() -> None:
    hot = pd.DataFrame(
        {
            "area": ["a", "b", "c"],
            "count": [9, 0, 1],
            "z": [3.1, -2.5, 0.1],
            "p": [0.001, 0.01, 0.9],
            "p_fdr": [0.003, 0.04, 0.9],
            "class": ["hot 99 %", "cold 95 %", "not significant"],
        }
    )
    rows = outreach_tables.hotspot_rows(hot, {"a": "100 W MADISON ST (Loop)"}, {"a", "b", "c"})
    assert rows["finding"].tolist() == ["hot spot, 99 % confidence", "cold spot, 95 % confidence"]
    assert rows["place"].tolist() == ["100 W MADISON ST (Loop)", "b"]
    assert "z = 3.10" in rows["details"][0]
    only_b = outreach_tables.hotspot_rows(hot, {}, {"b"})
    assert only_b["place"].tolist() == ["b"]


@pytest.mark.parametrize(
    "values",
    [["a", "b", None, "c", "a"], [], ["x"]],
    ids=["with-missing", "empty", "none-kept"],
)
def test_among_is_isin(values) -> None:
    series = pd.Series(values, dtype="str")
    keep = {"a", "c"}
    assert outreach_tables.among(series, keep).tolist() == series.isin(keep).tolist()


def test_team_areas_of_a_district() -> None:
    places = pd.DataFrame(
        {"area": ["1111", "1112", "1722"], "district": ["11", "11", None]}, dtype="str"
    )
    assert outreach_tables.in_team(places, "district", ["11"]) == {"1111", "1112"}
    assert outreach_tables.in_team(places, "city", []) == {"1111", "1112", "1722"}


def test_hexagons_are_named_by_their_most_common_block() -> None:
    places = pd.DataFrame(
        {"area": ["h1", "h2", "h3"], "community_area": ["AUSTIN", "AUSTIN", None]}
    )
    victims = pd.DataFrame(
        {
            "latitude": [41.82, 41.82, 41.82],
            "longitude": [-87.72, -87.72, -87.72],
            "block": ["001XX A ST", "002XX B ST", "002XX B ST"],
        }
    )
    cell = outreach.area_of(victims, "hex").iloc[0]
    blocks = outreach.common_blocks(victims, "hex")
    assert blocks == {cell: "002XX B ST"}
    names = outreach.place_names(places.assign(area=[cell, "h2", "h3"]), blocks, "hex")
    assert names == {
        cell: "002XX B ST (Austin)",
        "h2": "near Austin",
        "h3": "outside community areas",
    }


def test_window_map_links_and_cards_are_built_from_numbers_and_escaped() -> None:
    windows = pd.DataFrame(
        {
            "case_number": ["JZ1"],
            "occurred_at": [pd.Timestamp("2025-03-05 10:00")],
            "block": ['<img src=x onerror="alert(1)">'],
            "beat": ["0212"],
            "community_area": ["AUSTIN"],
            "victims": [2],
            "killed": [1],
            "days_left": [3],
            "followups": [1],
            "latitude": [41.87],
            "longitude": [-87.68],
        }
    )
    rows = outreach_tables.window_rows(windows)
    assert rows["map"][0] == (
        "https://www.openstreetmap.org/?mlat=41.87000&mlon=-87.68000#map=17/41.87000/-87.68000"
    )
    cards = outreach_tables.window_cards(rows)
    assert "<img" not in cards and "&lt;img" in cards and "3 days left" in cards
    assert "1 follow-up shooting so far" in cards  # singular, as read


# --- street base map -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "style", "opacity"),
    [({}, basemap.POSITRON, basemap.FILL_OPACITY), ({"MAP_TILES": "0"}, basemap.NO_TILES, 1.0)],
    ids=["tiles", "tiles-off"],
)
def test_outreach_map_asks_for_carto_tiles_unless_turned_off(
    store, monkeypatch, env, style, opacity
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = deck_spec(open_page(store, monkeypatch))
    assert spec["mapStyle"] == style
    assert spec.get("mapProvider") == ("carto" if env == {} else None)
    areas = next(layer for layer in spec["layers"] if layer["id"] == "areas")
    assert areas["opacity"] == opacity


@pytest.mark.parametrize("value", ["0", "off", "False"], ids=["zero", "off", "false"])
def test_map_tiles_setting(value) -> None:
    assert Settings.from_env({}).map_tiles
    assert not Settings.from_env({"MAP_TILES": value}).map_tiles
    assert basemap.tiles_wanted(Settings.from_env({}), present=False)
    assert not basemap.tiles_wanted(Settings.from_env({}), present=True)


def test_dashboard_map_asks_for_tiles_and_draws_areas_see_through(monkeypatch) -> None:
    shape = {"key": "1", "label": "1ST", "geometry": {"type": "Point", "coordinates": [0, 0]}}
    table = pd.DataFrame({"area": ["1"], "current": [3], "previous": [1]})

    def spec() -> dict:
        return json.loads(
            mapview.deck_json([{**shape, "at": [0, 0]}], table, {}, "district", "", None)
        )

    monkeypatch.delenv("MAP_TILES", raising=False)
    on = spec()
    assert on["mapStyle"] == basemap.POSITRON and on["mapProvider"] == "carto"
    assert on["layers"][0]["opacity"] == basemap.FILL_OPACITY
    monkeypatch.setenv("MAP_TILES", "off")
    assert spec()["mapStyle"] == basemap.NO_TILES


# --- speed: the grid once, emerging hot spots stored at sync ---------------------------


def test_emerging_hot_spots_are_stored_at_sync_and_match_a_fresh_computation(store) -> None:
    db = Store(store / "store.duckdb")
    latest = date(2025, 3, 5)
    with db.read() as con:
        stored = {level: outreach.stored_emerging(con, level, latest) for level in outreach.LEVELS}
        assert outreach.stored_emerging(con, "beat", date(2025, 1, 1)) is None
    for level, table in stored.items():
        assert table is not None
        fresh = outreach.emerging_table(
            db, level, latest, permutations=outreach.EMERGING_PERMUTATIONS[level]
        )
        pd.testing.assert_frame_equal(
            table.sort_values("area").reset_index(drop=True),
            fresh.sort_values("area").reset_index(drop=True),
            check_dtype=False,
        )


def test_a_sync_that_changed_nothing_keeps_the_stored_tables(tmp_path) -> None:
    db = Store(build_store(tmp_path, ROWS) / "store.duckdb")

    def hexagons(con) -> int:
        return con.execute("SELECT count(*) FROM emerging_hotspots WHERE level = 'hex'").fetchall()[
            0
        ][0]

    with db.write() as con:
        con.execute("DELETE FROM emerging_hotspots WHERE level = 'hex'")
        assert outreach.store_outreach_tables(con, db, changed=False) == 0
        assert hexagons(con) == 0  # kept as found
        written = outreach.store_outreach_tables(con, db, changed=True)
        assert written > 0 and hexagons(con) > 0


def test_the_grids_are_kept_while_the_beats_are_the_same(tmp_path, monkeypatch) -> None:
    db = Store(build_store(tmp_path, ROWS) / "store.duckdb")

    def grids(con) -> dict:
        return {level: outreach._stored_grid(con, level) for level in outreach.LEVELS}

    def refuse(*args, **kwargs):
        raise AssertionError("grid rebuilt from the same beats")

    with db.read() as con:
        first = grids(con)
    with monkeypatch.context() as patch, db.write() as con:
        patch.setattr(outreach, "build_grid", refuse)
        assert outreach.store_outreach_tables(con, db, changed=True) > 0
        assert grids(con) == first
    with db.write() as con:  # one beat fewer: every grid is built again
        con.execute("DELETE FROM boundaries WHERE layer = 'beats' AND key = '0212'")
        assert outreach.store_outreach_tables(con, db, changed=True) > 0
        beats = grids(con)["beat"]
        assert beats is not None and beats[0] == ["0111", "0112", "0211"]


@pytest.mark.parametrize("level", outreach.LEVELS)
def test_hot_spots_of_the_default_window_are_stored_at_sync(store, level) -> None:
    db = Store(store / "store.duckdb")
    latest = date(2025, 3, 5)
    start = date(2024, 3, 6)  # 365 days, as the page asks
    with db.read() as con:
        stored = outreach.stored_hotspots(con, level, start, latest)
        assert outreach.stored_hotspots(con, level, date(2024, 1, 1), latest) is None
    assert stored is not None
    fresh = outreach.hotspot_table(db, level, start, latest)
    pd.testing.assert_frame_equal(
        stored.reset_index(drop=True), fresh.reset_index(drop=True), check_dtype=False
    )


def test_the_page_reads_stored_results_and_computes_other_dates(store, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("computed although stored")

    for name in ("emerging_table", "hotspot_table"):
        monkeypatch.setattr(outreach, name, refuse)
    at = open_page(store, monkeypatch, shows="emerging")
    assert frame_with(at, "pattern")["areas"].sum() == 4
    monkeypatch.undo()
    past = open_page(store, monkeypatch, shows="emerging", as_of="2025-02-01")
    assert frame_with(past, "pattern")["areas"].sum() == 4


# --- since the last sync ---------------------------------------------------------------


def listed(*rows: tuple[str, str, str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "sync_id": 2,
                "change": change,
                "record_id": f"r{i}",
                "case_number": f"JZ{i}",
                "occurred_at": pd.Timestamp("2025-03-01 10:00"),
                "block": "001XX A ST",
                "beat": beat,
                "district": beat[:2].lstrip("0"),
                "community_area": "AUSTIN",
                "fields_changed": fields,
            }
            for i, (change, beat, fields) in enumerate(rows)
        ]
    )


def test_since_sync_headline_counts_the_area_only() -> None:
    table = listed(
        ("added", "0111", None),
        ("added", "0111", None),
        ("added", "0212", None),
        ("updated", "0111", "victimization_primary: BATTERY -> HOMICIDE; fatal: false -> true"),
        ("updated", "0111", "latitude: 41.8 -> 41.81"),
        ("removed", "0212", None),
    )
    mine = since_sync.in_area(table, "beats", ("0111",))
    assert since_sync.headline(mine, "in your area") == (
        "Since the last sync: 2 new shootings in your area, 1 reclassified as homicide, "
        "1 corrected."
    )
    assert since_sync.listing(mine)["what"].tolist() == [
        "new",
        "new",
        "reclassified as homicide",
        "corrected",
    ]
    assert since_sync.headline(table.iloc[0:0], "in the city") == (
        "Since the last sync: nothing new or changed in the city."
    )


# --- compare: how much a past date's figures moved -------------------------------------


@needs_snapshot
def test_compare_for_a_past_date_tells_the_revisions_of_the_last_sync(planted, capsys) -> None:  # noqa: F811
    data, rows = planted
    died = rows["dies"]
    as_of = died["date"][:10]
    assert main(["compare", "--data-dir", str(data), "--district", "17", "--as-of", as_of]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Revisions"))
    assert "1 reclassified as homicide" in line and "sync #" in line
    assert main(["compare", "--data-dir", str(data), "--district", "17", "--format", "json",
                 "--as-of", "2016-06-30"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    json.loads(captured.out)  # still parseable: the line goes to stderr
    assert "changed no record in these periods" in captured.err


def test_compare_after_one_sync_says_there_is_nothing_to_compare(store, capsys) -> None:
    assert main(["compare", "--data-dir", str(store), "--citywide"]) == 0
    assert "one sync only" in capsys.readouterr().out


def test_revision_tally_is_pure() -> None:
    table = listed(("added", "0111", None), ("updated", "0111", "fatal: false -> true"))
    before = table.copy()
    assert changes.tally(table) == {"added": 1, "removed": 0, "reclassified": 1, "corrected": 0}
    inside = changes.in_spans(table, [(date(2025, 3, 1), date(2025, 3, 1))])
    assert (
        len(inside) == 2 and changes.in_spans(table, [(date(2025, 3, 2), date(2025, 4, 1))]).empty
    )
    pd.testing.assert_frame_equal(table, before)


@needs_snapshot
def test_the_page_says_what_changed_since_the_last_sync(planted, monkeypatch) -> None:  # noqa: F811
    data, rows = planted
    at = open_page(data, monkeypatch, scope="district", district="17")
    said = " ".join(m.value for m in at.markdown).replace("\\", "").replace("\u2060", "")
    assert "Since the last sync:" in said and "1 reclassified as homicide" in said
    listed = frame_with(at, "fields changed")
    died = listed[listed["case"] == rows["dies"]["case_number"]]
    assert died["what"].tolist() == ["reclassified as homicide"]
    assert "HOMICIDE" in died["fields changed"].iloc[0]
    assert set(listed["beat"].str[:2]) == {"17"}  # the team's district only


def test_the_hexagon_map_leaves_out_only_quiet_empty_cells() -> None:
    """Thousands of empty, unremarkable cells cost the browser time and say nothing over
    the streets; a cold spot with no shooting, or a cell with one, stays."""
    shapes = [{"key": k, "hexagon": k} for k in ("empty", "shot", "cold", "fading")]
    table = pd.DataFrame(
        {
            "area": ["empty", "shot", "cold", "fading"],
            "class": ["not significant", "not significant", "cold spot, 99 %", "no pattern"],
            "count": [0, 1, 0, 0],
        }
    )
    drawn = outreach_map.area_features(shapes, table, "class", outreach_map.CLASS_COLOURS)
    assert [f["hex"] for f in drawn] == ["shot", "cold"]
    polygons = [{"key": "empty", "polygon": [[0, 0], [1, 0], [1, 1], [0, 0]]}]
    assert len(outreach_map.area_features(polygons, table, "class", {})) == 1  # beats: all


# --- the first screen: what the browser and the server do first ------------------------


def test_first_element_preloads_the_map_and_table_scripts(store, monkeypatch) -> None:
    at = open_page(store, monkeypatch)
    hrefs = re.findall(r'<link rel="modulepreload" href="([^"]+)">', at.markdown[0].value)
    assert {h.split("/")[-1].split(".")[0] for h in hrefs} == set(outreach_map.FIRST_SCREEN_CHUNKS)
    static = Path(streamlit.__file__).parent / "static"
    assert all((static / h.lstrip("/")).is_file() for h in hrefs), hrefs
    behind_a_proxy = outreach_map.chunk_preloads("/app/")
    assert behind_a_proxy.startswith('<link rel="modulepreload" href="/app/static/js/')


def test_the_knox_test_waits_until_its_expander_is_opened(store, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("Knox test computed for a closed expander")

    monkeypatch.setattr(outreach, "knox_table", refuse)
    at = open_page(store, monkeypatch)
    knox = next(e for e in at.expander if "Knox" in e.label)
    assert "Pairs of shootings" in knox.caption[0].value and not knox.dataframe
