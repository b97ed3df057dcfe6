"""The pre-aggregated `daily_counts` table: additive, and equal to a recount of its rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.store import Store
from tests.conftest import ROWS, build_store, first_victims


@pytest.fixture(scope="module")
def counts(tmp_path_factory) -> pd.DataFrame:
    data = build_store(tmp_path_factory.mktemp("counts"), ROWS)
    with Store(Path(data) / "store.duckdb").read() as con:
        return con.execute("SELECT * FROM daily_counts").df()


@pytest.mark.parametrize("level", ["district", "beat", "community_area"])
@pytest.mark.parametrize("basis", ["geometry", "recorded"])
def test_every_level_sums_to_the_city(counts, level, basis) -> None:
    """Incidents are counted once (first victim), so they add up like victims do."""
    mine = counts[counts["basis"].eq(basis)]
    by_level = mine[mine["level"] == level].groupby(["kind", "day"])[["victims", "incidents"]]
    city = mine[mine["level"] == "city"].groupby(["kind", "day"])[["victims", "incidents"]]
    pd.testing.assert_frame_equal(by_level.sum(), city.sum())


def test_city_shootings_match_a_recount_of_the_rows(counts) -> None:
    shot = [r for r in ROWS if r["gunshot_injury_i"] == "YES"]
    city = counts[(counts["level"] == "city") & (counts["basis"] == "geometry")]
    shootings = city[city["kind"] == "shootings"]
    assert shootings["victims"].sum() == len(shot)
    assert shootings["incidents"].sum() == len({r["case_number"] for r in shot})
    firsts = first_victims(shot, "case_number", "date", "cpd_id")
    by_day = shootings.groupby("day")["incidents"].sum()
    expected = pd.Series([r["date"][:10] for r in firsts]).value_counts()
    assert {str(d)[:10]: int(n) for d, n in by_day.items() if n} == dict(expected)
