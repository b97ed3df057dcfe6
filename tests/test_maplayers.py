"""Fixed map classes: each break list is checked against a recount in plain Python or SQL."""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from geo.maplayers import class_breaks, full_years, reference_breaks
from pipeline.aggregate import KINDS, MEASURES
from pipeline.store import Store
from tests.conftest import needs_snapshot, sync_real_snapshot

AREAS = ["0111", "0112", "0211", "0212", "0213"]
YEARS = [2021, 2022, 2023]


def random_victims(seed: int) -> pd.DataFrame:
    """Victims over the grid, plus rows the classes must ignore: other years, no area,
    an area outside the layer; several victims share case numbers."""
    rng = random.Random(seed)
    rows = []
    for _ in range(400):
        case = f"J{rng.randrange(150)}"
        rows.append(
            {
                "case_number": case,
                "occurred_at": pd.Timestamp(rng.choice([*YEARS, 2020]), rng.randint(1, 12), 1),
                "beat": rng.choice([*AREAS, *AREAS, None, "9999"]),
                "gunshot": rng.random() < 0.9,
                "fatal": rng.random() < 0.2,
            }
        )
    return pd.DataFrame(rows).astype({"beat": "string"})


def recount(victims: pd.DataFrame, kind: str, measure: str) -> list[float]:
    """The classes by hand: a Counter per (area, year), then `statistics.quantiles`."""
    counted: Counter[tuple[str, int]] = Counter()
    seen = set()
    for row in victims.to_dict(orient="records"):
        fatal, gunshot = row["fatal"], row["gunshot"]
        wanted = {
            "shootings": gunshot,
            "fatal-shootings": gunshot and fatal,
            "nonfatal-shootings": gunshot and not fatal,
            "homicides": fatal,
        }[kind]
        cell = (row["beat"], row["occurred_at"].year)
        if not wanted or cell[0] not in AREAS or cell[1] not in YEARS:
            continue
        if measure == "incidents":
            if (cell, row["case_number"]) in seen:
                continue
            seen.add((cell, row["case_number"]))
        counted[cell] += 1
    grid = [counted[(area, year)] for area in AREAS for year in YEARS]
    cuts = statistics.quantiles(grid, n=5, method="inclusive")
    breaks: list[float] = []
    for cut in cuts:
        if not breaks or round(cut) > breaks[-1]:
            breaks.append(float(round(cut)))
    return breaks


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_breaks_match_a_recount_for_every_kind_and_measure(seed: int) -> None:
    victims = random_victims(seed)
    breaks = reference_breaks(victims, "beat", AREAS, YEARS)
    assert set(breaks) == {(k, m) for k in KINDS for m in MEASURES}
    for (kind, measure), got in breaks.items():
        assert got == recount(victims, kind, measure), (kind, measure)


def test_breaks_increase_strictly_and_collapse_when_counts_repeat() -> None:
    assert class_breaks(pd.Series([0, 0, 0, 0, 0, 7]).to_numpy()) == [0.0]
    assert class_breaks(pd.Series(range(11)).to_numpy()) == [2.0, 4.0, 6.0, 8.0]


def test_no_full_year_or_no_area_gives_no_classes() -> None:
    victims = random_victims(1)
    assert all(b == [] for b in reference_breaks(victims, "beat", AREAS, []).values())
    assert all(b == [] for b in reference_breaks(victims, "beat", [], YEARS).values())


@needs_snapshot
def test_stored_classes_match_a_sql_recount_on_the_real_snapshot(tmp_path: Path) -> None:
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
        # District victims of any shooting, by geometry, zeros included.
        grid = con.execute(
            "SELECT coalesce(n, 0) FROM (SELECT key FROM boundaries WHERE layer = 'districts') d "
            "CROSS JOIN unnest(?) AS t(y) LEFT JOIN ("
            "  SELECT a.geo_district AS key, year(v.occurred_at) AS y, count(*) AS n "
            "  FROM victims v JOIN victim_areas a USING (unique_id) WHERE v.gunshot GROUP BY ALL"
            ") c USING (key, y)",
            [years],
        ).fetchall()
    assert len(stored) == 3 * len(KINDS) * len(MEASURES)
    assert {tuple(y) for _, y in stored.values()} == {tuple(years)} and len(years) >= 8
    cuts = statistics.quantiles([n for (n,) in grid], n=5, method="inclusive")
    expected: list[float] = []
    for cut in cuts:
        if not expected or round(cut) > expected[-1]:
            expected.append(float(round(cut)))
    assert stored["district", "shootings", "victims"][0] == expected


def test_full_years_need_every_month() -> None:
    days = pd.date_range("2021-01-01", "2023-06-30", freq="10D")
    victims = pd.DataFrame(
        {"occurred_at": days.drop(days[(days.year == 2022) & (days.month == 5)])}
    )
    assert full_years(victims) == [2021]
