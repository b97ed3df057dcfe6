"""Side-panel tables on a hand-made handful of victims, through the store's queries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline import profiles
from pipeline.queries import Reader, VictimFilter
from pipeline.store import Store
from pipeline.trends import Span
from tests.conftest import IN_0111, IN_0212, build_store, row

FOUR = [
    row(0, "2025-03-03T01:30:00", IN_0111, case_number="C1", victimization_primary="HOMICIDE",
        block="0 E 1ST ST", age="20-29", sex="M"),
    row(1, "2025-03-03T01:30:00", IN_0111, case_number="C1", block="0 E 1ST ST", age="0-19",
        sex="F"),
    row(2, "2025-03-09T22:10:00", IN_0212, case_number="C2", block="", age="", sex="UNKNOWN"),
    row(3, "2025-03-04T13:00:00", IN_0111, case_number="C3", block="100 W 2ND ST", age="20-29",
        sex="M"),
]  # fmt: skip
MARCH = Span(date(2025, 3, 1), date(2025, 3, 31))
CITY = VictimFilter(MARCH, "shootings")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    data = build_store(tmp_path_factory.mktemp("profiles"), FOUR)
    return Store(Path(data) / "store.duckdb")


@pytest.fixture
def q(store):
    with store.reader() as reader:
        yield reader


def test_incidents_one_row_per_case_newest_first(q: Reader) -> None:
    table = profiles.incident_table(q.incidents(CITY))
    assert table["case number"].tolist() == ["C2", "C3", "C1"]
    assert table["block"].tolist() == ["(not published)", "100 W 2ND ST", "0 E 1ST ST"]
    assert table.iloc[2][["victims", "killed"]].to_list() == [2, 1]
    assert not [c for c in table.columns if "name" in c]


def test_incidents_limit_and_area_run_in_the_query(q: Reader) -> None:
    assert q.incidents(CITY, limit=1)["case_number"].tolist() == ["C2"]
    in_0111 = VictimFilter(MARCH, "shootings", level="beat", key="0111")
    assert sorted(q.incidents(in_0111)["case_number"]) == ["C1", "C3"]


def test_hour_by_weekday_counts_every_victim(q: Reader) -> None:
    table = profiles.hour_by_weekday(q.profile_counts(CITY)[0])
    assert table.shape == (7, 8) and int(table.to_numpy().sum()) == 4
    assert table.loc["Mon", "00-02h"] == 2  # 3 March 2025 was a Monday
    assert table.loc["Sun", "21-23h"] == 1


def test_age_by_sex_puts_unknown_last(q: Reader) -> None:
    table = profiles.age_by_sex(q.profile_counts(CITY)[1])
    assert table.index.tolist() == ["0-19", "20-29", "unknown"]
    assert table.loc["20-29", "M"] == 2 and table.loc["unknown", "unknown"] == 1


def test_weekly_this_vs_last_aligns_weeks_of_each_span(q: Reader) -> None:
    current = Span(date(2025, 3, 3), date(2025, 3, 16))
    previous = Span(date(2024, 3, 3), date(2024, 3, 16))
    spans = [current, previous]
    victims = q.daily(None, None, spans, "victims", "geometry", "shootings")
    table = profiles.weekly_this_vs_last(victims, current, previous, window=2)
    assert table["this period"].tolist() == [4, 0]
    assert table["same period last year"].tolist() == [0, 0]
    assert table["this period, 2-week mean"].tolist() == [4.0, 2.0]
    incidents = q.daily(None, None, spans, "incidents", "geometry", "shootings")
    assert profiles.weekly_this_vs_last(incidents, current, previous)["this period"].tolist() == [
        3,
        0,
    ]


def test_monthly_this_vs_last_counts_per_calendar_month(q: Reader) -> None:
    current, previous = (
        Span(date(2025, 1, 1), date(2025, 3, 31)),
        Span(date(2024, 1, 1), date(2024, 3, 31)),
    )
    daily = q.daily("beat", "0111", [current, previous], "victims", "geometry", "shootings")
    table = profiles.monthly_this_vs_last(daily, current, previous)
    assert table.index.tolist() == ["Jan", "Feb", "Mar"]
    assert table["this year"].tolist() == [0, 0, 3]
