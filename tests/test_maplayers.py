"""Map classes: each fixed break list is checked against a recount in plain Python or SQL;
the styled map table against counts worked out by hand."""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from geo.maplayers import CHANGE_COLOURS, COUNT_COLOURS, NO_DATA, class_breaks
from pipeline.aggregate import KINDS, MEASURES
from pipeline.compstat import NOT_COMPARABLE, CompStat, map_classes
from pipeline.config import LEVELS
from pipeline.places import map_break_rows
from pipeline.store import Store
from pipeline.trends import Span, compare_many, mark_incomplete
from tests.conftest import needs_snapshot, sync_real_snapshot

AREAS = ["0111", "0112", "0211", "0212", "0213"]
YEARS = [2021, 2022, 2023]


def random_yearly(seed: int) -> pd.DataFrame:
    """Yearly counts as `daily_counts` sums give them, with gaps (zeros must count) and
    rows the classes must ignore: another level, another year, an area not in the layer."""
    rng = random.Random(seed)
    rows = []
    for level in ("beat", "district"):
        for kind in KINDS:
            for area in [*AREAS, "unassigned", "9999"]:
                for year in [*YEARS, 2020]:
                    if rng.random() < 0.3:
                        continue  # no row: a zero
                    victims = rng.randint(1, 30)
                    rows.append([level, area, kind, year, victims, rng.randint(1, victims)])
    return pd.DataFrame(rows, columns=["level", "key", "kind", "year", "victims", "incidents"])


def recount(yearly: pd.DataFrame, kind: str, measure: str) -> list[float]:
    """The classes by hand: a Counter per (area, year), then `statistics.quantiles`."""
    counted: Counter[tuple[str, int]] = Counter()
    for row in yearly.to_dict(orient="records"):
        if row["level"] == "beat" and row["kind"] == kind:
            counted[row["key"], row["year"]] += row[measure]
    grid = [counted[(area, year)] for area in AREAS for year in YEARS]
    return quantile_breaks(grid)


def quantile_breaks(grid: list[int]) -> list[float]:
    cuts = statistics.quantiles(grid, n=5, method="inclusive")
    breaks: list[float] = []
    for cut in cuts:
        if not breaks or round(cut) > breaks[-1]:
            breaks.append(float(round(cut)))
    return breaks


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_breaks_match_a_recount_for_every_kind_and_measure(seed: int) -> None:
    yearly = random_yearly(seed)
    rows = map_break_rows(yearly, {"beat": AREAS}, YEARS)
    assert len(rows) == len(KINDS) * len(MEASURES)
    for row in rows.to_dict(orient="records"):
        assert json.loads(row["breaks"]) == recount(yearly, row["kind"], row["measure"]), row
        assert json.loads(row["years"]) == YEARS


def test_breaks_increase_strictly_and_collapse_when_counts_repeat() -> None:
    assert class_breaks(pd.Series([0, 0, 0, 0, 0, 7]).to_numpy()) == [0.0]
    assert class_breaks(pd.Series(range(11)).to_numpy()) == [2.0, 4.0, 6.0, 8.0]


def test_no_full_year_or_no_area_gives_no_classes() -> None:
    yearly = random_yearly(1)
    assert set(map_break_rows(yearly, {"beat": AREAS}, [])["breaks"]) == {"[]"}
    assert set(map_break_rows(yearly, {"beat": []}, YEARS)["breaks"]) == {"[]"}


@needs_snapshot
def test_stored_classes_match_a_sql_recount_on_the_real_snapshot(tmp_path: Path) -> None:
    """Every kind and measure at district level, recounted from the victims rows: incidents
    once each, in the district and year of their first victim."""
    with Store(sync_real_snapshot(tmp_path / "data") / "store.duckdb").read() as con:
        stored = {
            (level, kind, measure): (json.loads(breaks), json.loads(years))
            for level, kind, measure, breaks, years in con.execute(
                "SELECT level, kind, measure, breaks, years FROM map_breaks"
            ).fetchall()
        }
        months = con.execute(
            "SELECT year(occurred_at) y FROM victims GROUP BY y "
            "HAVING count(DISTINCT month(occurred_at)) = 12 ORDER BY y"
        ).fetchall()
        years = [y for (y,) in months]
        expected = {}
        for kind, rule in RECOUNT_SQL.items():
            for measure in MEASURES:
                counted = "count(*)" if measure == "victims" else "count(*) FILTER (first)"
                grid = con.execute(
                    "SELECT coalesce(n, 0) FROM (SELECT key FROM boundaries "
                    "WHERE layer = 'districts') d CROSS JOIN unnest(?) AS t(y) LEFT JOIN ("
                    f"  SELECT key, y, {counted} AS n FROM ("
                    "    SELECT a.geo_district AS key, year(v.occurred_at) AS y, "
                    "    row_number() OVER (PARTITION BY v.case_number "
                    "      ORDER BY v.occurred_at, v.unique_id) = 1 AS first "
                    f"    FROM victims v JOIN victim_areas a USING (unique_id) WHERE {rule}"
                    "  ) GROUP BY ALL"
                    ") c USING (key, y)",
                    [years],
                ).fetchall()
                expected[kind, measure] = quantile_breaks([n for (n,) in grid])
    assert len(stored) == len(LEVELS) * len(KINDS) * len(MEASURES)
    assert {tuple(y) for _, y in stored.values()} == {tuple(years)} and len(years) >= 8
    for (kind, measure), breaks in expected.items():
        assert stored["district", kind, measure][0] == breaks, (kind, measure)


RECOUNT_SQL = {  # written here, not taken from the pipeline
    "shootings": "v.gunshot",
    "fatal-shootings": "v.gunshot AND v.fatal",
    "nonfatal-shootings": "v.gunshot AND NOT v.fatal",
    "homicides": "v.fatal",
}


def _areas(current: list[int], previous: list[int], days: int = 73) -> CompStat:
    table = compare_many(current, previous, days, days)
    table.insert(0, "area", [str(i + 1) for i in range(len(current))])
    span = Span(date(2025, 1, 1), date(2025, 1, 1) + timedelta(days=days - 1))
    return CompStat(table, span, span, "victims", "geometry", "test")


def test_map_classes_count_at_a_yearly_pace_and_colour_changes_by_verdict() -> None:
    # 73 days are a fifth of a 365.25-day year: 2 becomes 10.007 a year, 40 200.14.
    counted = map_classes(_areas([2, 40, 0], [2, 10, 0]), "count", [5.0, 50.0])
    assert counted["rate"].tolist() == [10.0, 200.1, 0.0]
    assert counted["category"].tolist() == ["5 to 50", "over 50", "up to 5"]
    assert counted["fill"].tolist()[1] == list(COUNT_COLOURS[-1])
    changed = map_classes(_areas([2, 40, 30], [2, 10, 30]), "change", [])
    assert changed["category"].tolist() == ["too few to judge", "likely increase", "no change"]
    assert changed["fill"].tolist() == [list(CHANGE_COLOURS[c]) for c in changed["category"]]


def test_a_hole_in_the_store_is_not_comparable_and_left_white() -> None:
    result = _areas([40, 3], [10, 3])
    holed = CompStat(
        mark_incomplete(result.table), result.current, result.previous, "victims", "geometry", "t"
    )
    changed = map_classes(holed, "change", [])
    assert set(changed["category"]) == {NOT_COMPARABLE}
    assert changed["fill"].tolist() == [list(NO_DATA)] * 2
