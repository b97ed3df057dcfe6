"""Rates per 100,000 residents (`pipeline.rates`): the shipped census, matching by
area number, the arithmetic, empirical-Bayes smoothing by hand, area-weighted
populations, and the ranked table."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely
from pandas.testing import assert_frame_equal, assert_series_equal
from streamlit.testing.v1 import AppTest

from geo.layers import BoundaryLayer
from pipeline import rates
from pipeline.boundaries import LAYER_OF_AREA
from pipeline.cli import main
from pipeline.errors import UsageError
from pipeline.queries import Reader
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.store import Store
from pipeline.sync_boundaries import plan_populations, store_populations
from tests.conftest import ROWS, SHARED, build_store, needs_snapshot, sync_real_snapshot

CITY_2020 = 2_746_388


def layer(name: str, features: list[tuple[str, dict[str, str], shapely.Geometry]]) -> BoundaryLayer:
    """A BoundaryLayer from (key, properties, polygon in EPSG:4326) triples."""
    rows = [(k, k, shapely.to_wkb(g), json.dumps(p)) for k, p, g in features]
    return BoundaryLayer.from_rows(name, rows)


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Geometry:
    return shapely.box(x0, y0, x1, y1)


# --- the census file --------------------------------------------------------------------


def test_shipped_census_is_the_2020_count_by_area_number() -> None:
    census = rates.read_population()
    assert len(census) == 77
    assert sorted(census["area_number"]) == list(range(1, 78))
    assert census["residents"].sum() == CITY_2020
    assert census.set_index("area_number").loc[14, "residents"] == 48_396  # Albany Park


def test_shipped_census_matches_its_stated_provenance() -> None:
    """The README's checksum, and byte for byte the team's snapshot when present."""
    shipped = rates.POPULATION_FILE.read_bytes()
    readme = (rates.POPULATION_FILE.parent / "README.md").read_text()
    assert hashlib.sha256(shipped).hexdigest() in readme
    snapshot = SHARED / "community_area_population_2020_cmap.csv"
    if snapshot.is_file():
        assert snapshot.read_bytes() == shipped


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("GEOID,TOT_POP\n1,10\n1,20\n", "area numbers repeat"),
        ("GEOID,TOT_POP\n1,-5\n", "negative"),
        ("GEOID,TOT_POP\nx,5\n", "not numbers"),
        ("GEOID,POP\n1,5\n", "expected GEOID and TOT_POP"),
    ],
    ids=["repeated", "negative", "not-a-number", "wrong-columns"],
)
def test_a_broken_population_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pop.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        rates.read_population(path)


def test_population_file_from_the_environment_is_taken_from_the_project_root() -> None:
    settings = Settings.from_env(env={"POPULATION_FILE": "elsewhere/pop.csv"})
    assert settings.population_path is not None
    assert settings.population_path.parts[-2:] == ("elsewhere", "pop.csv")
    assert settings.population_path.is_absolute()
    assert Settings.from_env(env={}).population_path is None


def test_community_areas_match_by_number_not_by_name() -> None:
    """Names differ in case and spelling; numbers decide."""
    areas = layer(
        "community_areas",
        [
            ("LOOP", {"area_numbe": "32"}, box(0, 0, 1, 1)),
            ("ALBANY PARK", {"area_numbe": "14"}, box(1, 0, 2, 1)),
        ],
    )
    census = pd.DataFrame({"area_number": [14, 32], "residents": [48_396, 42_298]})
    matched = rates.community_area_residents(areas, census)["residents"]
    assert matched.to_dict() == {"ALBANY PARK": 48_396.0, "LOOP": 42_298.0}


def test_an_area_without_a_population_is_named() -> None:
    areas = layer("community_areas", [("NOWHERE", {"area_numbe": "99"}, box(0, 0, 1, 1))])
    census = pd.DataFrame({"area_number": [1], "residents": [5]})
    with pytest.raises(UsageError, match=r"NOWHERE.*numbers with no area: \[1\]"):
        rates.community_area_residents(areas, census)


# --- arithmetic ---------------------------------------------------------------------------


def test_crude_rates_per_100000() -> None:
    counts = pd.Series([3, 0, 7, 2], index=["a", "b", "c", "unassigned"])
    residents = pd.Series([1_500.0, 20_000.0, 0.0], index=["a", "b", "c"])
    out = rates.crude_rates(counts, residents)
    assert out["a"] == pytest.approx(200.0)  # 3 / 1,500 * 100,000
    assert out["b"] == 0.0
    assert np.isnan(out["c"]) and np.isnan(out["unassigned"])  # no residents: no rate
    assert rates.rate(61, 120_000) == pytest.approx(50.8333, abs=1e-4)
    assert np.isnan(rates.rate(5, 0))


def test_empirical_bayes_against_a_hand_computation() -> None:
    """Three areas: 0 of 1,000, 50 of 10,000, 5 of 10,000 residents.
    Pooled rate m = 55/21,000 = 261.905 per 100k. Raw rates 0, 500, 50 per 100k.
    Spread s2 = sum(b (r - m)^2) / sum(b) = 5.16440e-6; between-area variance
    a = s2 - m / mean(b) = 5.16440e-6 - 2.61905e-3 / 7,000 = 4.79025e-6.
    Weights w = a / (a + m / b): 0.646519, 0.948160, 0.948160.
    Smoothed = w r + (1 - w) m: 92.578, 487.657, 60.985 per 100k."""
    counts = pd.Series([0, 50, 5, 9], index=["small", "big", "calm", "unassigned"])
    residents = pd.Series([1_000.0, 10_000.0, 10_000.0], index=["small", "big", "calm"])
    out = rates.smoothed_rates(counts, residents)
    assert out[["small", "big", "calm"]].tolist() == pytest.approx(
        [92.578, 487.657, 60.985], abs=1e-3
    )
    assert np.isnan(out["unassigned"])
    # The small area moves most toward the pooled rate; the large ones barely move.
    crude = rates.crude_rates(counts, residents)
    assert abs(out["small"] - crude["small"]) > 5 * abs(out["big"] - crude["big"])


@pytest.mark.parametrize("seed", [0, 1, 2], ids=lambda s: f"seed{s}")
def test_empirical_bayes_is_esdas_value_for_value(seed: int) -> None:
    """The numpy formula against esda's own `Empirical_Bayes` (kept as the reference):
    77 areas of 2,000-120,000 residents with counts around a city-like rate."""
    from esda.smoothing import Empirical_Bayes

    rng = np.random.default_rng(seed)
    base = rng.integers(2_000, 120_000, size=77).astype(float)
    events = rng.poisson(base * rng.uniform(1e-4, 2e-3, size=77)).astype(float)
    expected = Empirical_Bayes(events, base).r.ravel()
    assert rates.empirical_bayes(events, base) == pytest.approx(expected, rel=1e-12, abs=0)


def test_empirical_bayes_with_no_real_spread_gives_every_area_the_pooled_rate() -> None:
    """Areas differ less than chance makes them (a <= 0): esda's weights would leave
    [0, 1]; the usual floor at zero gives the pooled rate, 41/61,000."""
    counts = pd.Series([1, 10, 30], index=["a", "b", "c"])
    residents = pd.Series([1_000.0, 20_000.0, 40_000.0], index=["a", "b", "c"])
    out = rates.smoothed_rates(counts, residents)
    assert out.tolist() == pytest.approx([41 / 61_000 * 100_000] * 3)


def test_with_rates_adds_rates_and_the_city_rate_without_touching_its_input() -> None:
    table = pd.DataFrame(
        {"area": ["a", "b", "unassigned"], "current": [3, 6, 1], "previous": [6, 3, 0]}
    )
    before = table.copy()
    population = rates.Population(
        "community_area", pd.Series({"a": 1_000.0, "b": 2_000.0}), 5_000.0, estimated=False
    )
    out = rates.with_rates(table, population)
    assert_frame_equal(table, before)
    assert out["rate"].tolist()[:2] == pytest.approx([300.0, 300.0])
    assert out["rate_previous"].tolist()[:2] == pytest.approx([600.0, 150.0])
    # every record of the city, the unassigned one too, over the city's residents
    assert out["city_rate"].unique().tolist() == pytest.approx([10 / 5_000 * 100_000])
    assert out["residents"].isna().tolist() == [False, False, True]
    assert_frame_equal(rates.with_rates(table, None), table)


def test_ranked_areas_most_first_ties_by_change_unassigned_last() -> None:
    table = pd.DataFrame(
        {
            "area": ["1", "2", "unassigned", "3", "4"],
            "current": [5, 9, 50, 5, 0],
            "change": [-1, 4, 10, 2, 0],
        }
    )
    before = table.copy()
    out = rates.ranked_areas(table)
    assert out["area"].tolist() == ["2", "3", "1", "4", "unassigned"]
    assert out["rank"].tolist()[:4] == [1, 2, 3, 4] and pd.isna(out["rank"].iloc[-1])
    assert_frame_equal(table, before)
    assert rates.ranked_areas(table, by="change")["area"].tolist()[:2] == ["2", "3"]
    with pytest.raises(ValueError, match="by was 'rate'"):
        rates.ranked_areas(table, by="rate")


@pytest.mark.parametrize("by", ["current", "change", "rate", "verdict"])
def test_ranked_areas_orders_as_pandas_sort_values_does(by: str) -> None:
    """The numpy ordering against the pandas sort it replaced: ties kept in the areas'
    order, NaN and missing text last, -0.0 equal to 0.0, two unassigned rows kept last."""
    table = pd.DataFrame(
        {
            "area": ["a", "unassigned", "b", "c", "unassigned", "d", "e"],
            "current": [1, 9, 1, 3, 2, 3, 0],
            "change": [0, 1, 0, -2, 5, -2, 0],
            "rate": [np.nan, 1.0, 2.0, np.nan, 0.0, -0.0, 0.0],
            "verdict": ["x", "y", None, "x", "z", "w", "x"],
        }
    )
    placed = table["area"] != "unassigned"
    by_pandas = table[placed].sort_values(
        [by, "change"], ascending=False, kind="stable", na_position="last"
    )
    expected = pd.concat([by_pandas, table[~placed]], ignore_index=True)
    out = rates.ranked_areas(table, by=by)
    assert_frame_equal(out.drop(columns="rank"), expected)
    assert out["rank"].tolist() == [1, 2, 3, 4, 5, pd.NA, pd.NA]


# --- area-weighted estimates --------------------------------------------------------------


def test_interpolation_shares_residents_by_area_in_metres() -> None:
    """Two source squares side by side (100 and 300 residents); the targets are the left
    half of the first, and the right half of the first with all of the second."""
    source = rates.layer_frame(
        layer(
            "community_areas",
            [
                ("A", {}, box(-87.70, 41.80, -87.68, 41.82)),
                ("B", {}, box(-87.68, 41.80, -87.66, 41.82)),
            ],
        )
    ).assign(residents=[100.0, 300.0])
    target = rates.layer_frame(
        layer(
            "districts",
            [
                ("west", {}, box(-87.70, 41.80, -87.69, 41.82)),
                ("east", {}, box(-87.69, 41.80, -87.66, 41.82)),
            ],
        )
    )
    out = rates.interpolate_residents(source, target)
    assert out.to_dict() == pytest.approx({"east": 350.0, "west": 50.0}, abs=0.5)
    elsewhere = target.copy()
    elsewhere.attrs["crs"] = "EPSG:26916"
    with pytest.raises(ValueError, match="CRS differ"):
        rates.interpolate_residents(source, elsewhere)


@needs_snapshot
@pytest.mark.parametrize("level", ["district", "zip_code", "neighborhood"], ids=str)
def test_interpolation_is_toblers_on_the_real_layers(real_store: Path, level: str) -> None:
    """The sync's shapely interpolation gives what PySAL tobler's `area_interpolate`
    (extensive, allocate_total=False) gives on the real layers."""
    import geopandas
    from tobler.area_weighted import area_interpolate

    with Store(real_store).reader() as q:
        census = rates.read_population()
        source = rates.community_area_residents(q.boundary_layer("community_areas"), census)
        target = rates.layer_frame(q.boundary_layer(LAYER_OF_AREA[level]))
    ours = rates.interpolate_residents(source, target)

    def projected(frame):
        return geopandas.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326").to_crs(
            "EPSG:26916"
        )

    theirs = area_interpolate(
        source_df=projected(source[["residents", "geometry"]].reset_index(drop=True)),
        target_df=projected(target[["geometry"]].reset_index(drop=True)),
        extensive_variables=["residents"],
        allocate_total=False,
    )["residents"].to_numpy()
    # Within 1e-6: geopandas reprojects through another pyproj call (4e-8 apart here).
    assert ours.to_numpy() == pytest.approx(theirs, rel=1e-6)
    assert ours.sum() > 0.99 * CITY_2020


def test_population_by_area_on_a_store_with_an_override_file(tmp_path: Path) -> None:
    """The hand-drawn store: one community area (number 25) under two neighbourhoods that
    each cover a quarter of it."""
    store = build_store(tmp_path, ROWS) / "store.duckdb"
    census = tmp_path / "pop.csv"
    census.write_text("GEOID,TOT_POP\n25,1000\n")
    with Store(store).reader() as q:
        areas = rates.population_by_area(q, "community_area", census)
        hoods = rates.population_by_area(q, "neighborhood", census)
        assert rates.population_by_area(q, "beat", census) is None
        with pytest.raises(UsageError, match="numbers with no area"):
            rates.population_by_area(q, "community_area")  # the shipped file: 77 numbers
    assert areas is not None and not areas.estimated
    assert_series_equal(areas.residents, pd.Series({"AUSTIN": 1000.0}), check_names=False)
    assert hoods is not None and hoods.estimated and hoods.city == 1000.0
    assert hoods.residents.to_dict() == pytest.approx({"WEST TEST": 250, "EAST TEST": 250}, 0.01)


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sync_real_snapshot(tmp_path_factory.mktemp("rates") / "data") / "store.duckdb"


@needs_snapshot
@pytest.mark.parametrize("level", ["district", "zip_code", "neighborhood"], ids=str)
def test_estimated_populations_add_up_to_the_city(real_store: Path, level: str) -> None:
    """Area weighting keeps the total: every level covers the same city (within 0.5 %)."""
    with Store(real_store).reader() as q:
        population = rates.population_by_area(q, level)
        keys = set(q.area_labels(level))
    assert population is not None and population.estimated
    assert set(population.residents.index) == keys
    assert population.residents.sum() == pytest.approx(CITY_2020, rel=0.005)
    assert (population.residents > 0).all()


@needs_snapshot
@pytest.mark.parametrize("level", ["community_area", "district", "zip_code", "neighborhood"])
def test_stored_populations_are_the_estimates_computed_anew(real_store: Path, level: str) -> None:
    """What the sync stored (read by the page and the CLI) is what tobler gives now."""
    with Store(real_store).reader() as q:
        stored = rates.stored_population(q.area_population(rates.census_digest()), level)
        computed = rates.estimate_population(q.boundary_layer, level)
    assert stored is not None
    assert (stored.estimated, stored.city) == (computed.estimated, computed.city)
    assert_series_equal(stored.residents.sort_index(), computed.residents.sort_index())


@needs_snapshot
def test_district_estimates_cover_9988_per_cent_of_the_city(real_store: Path) -> None:
    """The lake shore and O'Hare edges fall outside every district: 99.88 % of 2,746,388."""
    with Store(real_store).reader() as q:
        population = rates.population_by_area(q, "district")
    assert population is not None
    assert population.residents.sum() / CITY_2020 == pytest.approx(0.9988, abs=5e-5)


@needs_snapshot
def test_the_first_screen_loads_no_estimation_or_smoothing_library(real_store: Path) -> None:
    """A cold render of the page in a fresh process (districts, with estimated rates)
    reads the stored populations: tobler, geopandas, esda and scipy.stats stay unloaded."""
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('dashboard.py', default_timeout=120).run()\n"
        "assert not at.exception, at.exception\n"
        "assert any('Per 100,000 (est.)' in d.value for d in at.dataframe)\n"
        "heavy = ['tobler', 'geopandas', 'esda', 'libpysal', 'sklearn', 'scipy.stats']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "DATA_DIR": str(real_store.parent)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_sync_plans_populations_once_per_boundary_vintage_and_census(tmp_path: Path) -> None:
    """The hand-drawn store: the shipped census fits nothing (no rows); a fitting file
    gives rows, and once stored they hold until the boundaries or the file change."""
    store = build_store(tmp_path, ROWS) / "store.duckdb"
    census = tmp_path / "pop.csv"
    census.write_text("GEOID,TOT_POP\n25,1000\n")
    con = duckdb.connect(str(store))
    try:
        assert con.execute("SELECT count(*) FROM area_population").fetchone() == (0,)
        rows = plan_populations(con, census, boundaries_changed=False)
        assert rows is not None
        assert set(rows["level"]) == {"community_area", "district", "zip_code", "neighborhood"}
        store_populations(con, rows)
        assert plan_populations(con, census, boundaries_changed=False) is None
        assert plan_populations(con, census, boundaries_changed=True) is not None
        census.write_text("GEOID,TOT_POP\n25,2000\n")
        assert plan_populations(con, census, boundaries_changed=False) is not None
        reader = Reader(con, Store(store))
        new_file = reader.area_population(rates.census_digest(census))
        assert rates.stored_population(new_file, "community_area") is None  # the old file's rows
        community = rates.population_by_area(reader, "community_area", census)
        assert community is not None and community.residents.to_dict() == {"AUSTIN": 2000.0}
    finally:
        con.close()


@needs_snapshot
def test_real_community_areas_carry_their_census_count(real_store: Path) -> None:
    with Store(real_store).reader() as q:
        population = rates.population_by_area(q, "community_area")
    assert population is not None and not population.estimated
    assert population.residents["ALBANY PARK"] == 48_396
    assert population.residents["LOOP"] == 42_298
    assert population.residents.sum() == CITY_2020


def test_compare_with_rates_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`compare --all-community-areas --rates --population FILE`: the hand-drawn store's
    one community area (number 25) with 1,000 residents, rates per 100,000 in the CSV."""
    data = build_store(tmp_path, ROWS)
    census = tmp_path / "pop.csv"
    census.write_text("GEOID,TOT_POP\n25,1000\n")
    capsys.readouterr()  # the sync's own report
    argv = ["compare", "--data-dir", str(data), "--all-community-areas", "--basis", "geometry"]
    assert main([*argv, "--rates", "--population", str(census), "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("area")
    austin = table.loc["AUSTIN"]
    assert austin["rate"] == pytest.approx(round(austin["current"] / 1000 * 100_000, 1))
    assert austin["residents"] == 1000 and austin["population"] == "census 2020"
    assert austin["city_rate"] == pytest.approx(round(table["current"].sum() / 1000 * 1e5, 1))
    assert main([*argv, "--format", "csv"]) == 0  # without --rates: no rate columns
    assert "rate" not in capsys.readouterr().out.splitlines()[0].split(",")


# --- on the page ------------------------------------------------------------------------


def page(data: Path, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    monkeypatch.setenv("DATA_DIR", str(data))
    at = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["today"] = date(2025, 3, 10)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def ranked_shown(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "Rank" in d.value)


def test_page_ranks_every_area_with_rates_and_five_years(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = build_store(tmp_path, ROWS)
    census = tmp_path / "pop.csv"
    census.write_text("GEOID,TOT_POP\n25,1000\n")
    monkeypatch.setenv("POPULATION_FILE", str(census))
    at = page(data, monkeypatch, level="community_area", area="AUSTIN")
    assert not at.exception
    headers = [h.value for h in at.header]
    assert "This year in each of the last 5 years: Austin" in headers
    assert "Every community area, ranked" in headers
    ranked = ranked_shown(at)
    assert ranked["Area"].tolist() == ["Austin", "Not in any community area"]
    austin = ranked.iloc[0]
    assert austin["Per 100,000"] == pytest.approx(austin["This year"] / 1000 * 100_000)
    years = next(t.value for t in at.table if "Count" in t.value)
    assert list(years.index) == ["2021", "2022", "2023", "2024", "2025"]
    assert "per 100,000 residents in this period" in " ".join(c.value for c in at.caption)
    assert "map's text equivalent" in " ".join(c.value for c in at.caption)


def test_page_without_a_matching_census_still_ranks_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hand-drawn store has one community area; the shipped census has 77."""
    at = page(build_store(tmp_path, ROWS), monkeypatch, level="district")
    assert not at.exception and not at.error
    ranked = ranked_shown(at)
    assert len(ranked) == 3 and "Per 100,000 (est.)" not in ranked
    assert "No rates" in " ".join(c.value for c in at.caption)


def test_ranked_table_for_people_names_areas_and_marks_estimates() -> None:
    from ui.context import ranked_display
    from ui.state import View

    table = rates.ranked_areas(
        rates.with_rates(
            pd.DataFrame(
                {
                    "area": ["17", "unassigned", "9"],
                    "current": [61, 2, 80],
                    "previous": [28, 1, 90],
                    "change": [33, 1, -10],
                    "pct_change": [117.857, 100.0, -11.111],
                    "p_value": [0.001, 0.9, 0.5],
                    "verdict": ["likely increase", "too few to judge", "normal"],
                }
            ),
            rates.Population("district", pd.Series({"17": 140_000.0, "9": 160_000.0}), 3e5, True),
        )
    )
    shown = ranked_display(table, View(level="district"), {"17": "17TH", "9": "9TH"}, None)
    assert shown["Area"].tolist() == [
        "District 9 (9TH)",
        "District 17 (17TH)",
        "Not in any police district",
    ]
    assert "Per 100,000 (est.)" not in shown  # no population given: no rate columns
    population = rates.Population("district", pd.Series({"17": 140_000.0}), 3e5, True)
    shown = ranked_display(table, View(level="district"), {}, population)
    assert shown.loc[1, "Per 100,000 (est.)"] == pytest.approx(43.6)  # 61 / 140,000
    assert shown.loc[1, "Change %"] == pytest.approx(117.9)
