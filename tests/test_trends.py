"""Year to date, last 28 days and per-period counts on small hand-made tables."""

from __future__ import annotations

from datetime import date

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import given, settings

from pipeline import stats, trends
from pipeline.trends import Span


def victims(rows: list[tuple[str, str, bool, bool, str]]) -> pd.DataFrame:
    """(occurred_at, case_number, gunshot, fatal, district) rows."""
    frame = pd.DataFrame(
        rows, columns=["occurred_at", "case_number", "gunshot", "fatal", "district"]
    )
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], format="ISO8601")
    frame["unique_id"] = [f"v{i}" for i in range(len(frame))]
    frame["beat"] = frame["district"].str.zfill(2) + "11"
    frame["community_area"] = "AUSTIN"
    return frame


@pytest.mark.parametrize(
    ("as_of", "current", "previous"),
    [
        (
            date(2020, 11, 29),
            Span(date(2020, 1, 1), date(2020, 11, 29)),
            Span(date(2019, 1, 1), date(2019, 11, 29)),
        ),
        (
            date(2024, 2, 29),
            Span(date(2024, 1, 1), date(2024, 2, 29)),
            Span(date(2023, 1, 1), date(2023, 2, 28)),
        ),
        (
            date(2025, 1, 1),
            Span(date(2025, 1, 1), date(2025, 1, 1)),
            Span(date(2024, 1, 1), date(2024, 1, 1)),
        ),
        (
            date(2025, 3, 1),
            Span(date(2025, 1, 1), date(2025, 3, 1)),
            Span(date(2024, 1, 1), date(2024, 3, 1)),
        ),
    ],
    ids=["17th-district-date", "leap-day", "new-years-day", "after-leap-february"],
)
def test_year_to_date_spans(as_of: date, current: Span, previous: Span) -> None:
    assert trends.year_to_date(as_of) == (current, previous)


def test_last_28_days_spans() -> None:
    now, before = trends.last_28_days(date(2025, 3, 1))
    assert (now, now.days) == (Span(date(2025, 2, 2), date(2025, 3, 1)), 28)
    assert (before, before.days) == (Span(date(2025, 1, 5), date(2025, 2, 1)), 28)


SMALL = victims(
    [
        ("2025-01-01 00:00", "A", True, False, "17"),  # first minute of the year
        ("2025-03-10 23:59", "B", True, True, "17"),  # the as-of day, last minute
        ("2025-03-10 23:59", "B", True, False, "17"),  # same incident, second victim
        ("2025-03-11 00:00", "C", True, False, "17"),  # a minute after the as-of day
        ("2024-03-10 12:00", "D", True, False, "17"),  # last year's as-of day
        ("2024-03-11 12:00", "E", True, False, "17"),  # after last year's span
        ("2024-02-01 12:00", "F", False, True, "17"),  # a homicide with no gunshot
        ("2025-02-01 12:00", "G", True, False, "3"),
    ]
)


def test_compare_kinds_counts_inclusive_ends() -> None:
    current, previous = trends.year_to_date(date(2025, 3, 10))
    table = trends.compare_kinds(SMALL[SMALL["district"] == "17"], current, previous)
    got = table.set_index("kind")[["current", "previous"]].to_dict("index")
    assert got == {
        "shootings": {"current": 3, "previous": 1},
        "fatal_shootings": {"current": 1, "previous": 0},
        "nonfatal_shootings": {"current": 2, "previous": 1},
        "homicides": {"current": 1, "previous": 1},
    }
    row = table.set_index("kind").loc["fatal_shootings"]
    assert pd.isna(row["pct_change"]) and row["verdict"] == stats.TOO_FEW


def test_incidents_count_distinct_case_numbers() -> None:
    current, previous = trends.year_to_date(date(2025, 3, 10))
    table = trends.compare_kinds(SMALL[SMALL["district"] == "17"], current, previous, "incidents")
    assert table.set_index("kind").loc["shootings", "current"] == 2  # A, B


def test_compare_areas_lists_every_area_and_unassigned() -> None:
    frame = SMALL.copy()
    frame.loc[7, "district"] = None
    current, previous = trends.year_to_date(date(2025, 3, 10))
    table = trends.compare_areas(frame, "district", current, previous, areas=["3", "17", "20"])
    assert table["area"].tolist() == ["3", "17", "20", "unassigned"]
    assert table["current"].tolist() == [0, 3, 0, 1]


def test_empty_periods_give_zero_and_no_verdict() -> None:
    current, previous = trends.year_to_date(date(2010, 6, 1))
    table = trends.compare_kinds(SMALL, current, previous)
    assert (table["current"] == 0).all() and (table["verdict"] == stats.TOO_FEW).all()
    assert table["pct_change"].isna().all()


def test_recent_against_history() -> None:
    rows = [
        (f"{year}-03-0{day} 10:00", f"{year}{day}", True, False, "17")
        for year in (2022, 2023, 2024)
        for day in (1, 2)
    ]
    rows += [("2025-03-01 10:00", "X", True, False, "17")] * 1
    table = trends.recent_against_history(victims(rows), date(2025, 3, 10))
    history = table[(table["kind"] == "shootings") & table["baseline"].str.startswith("same")]
    assert history[["current", "previous"]].iloc[0].tolist() == [1, 2.0]


def test_inputs_are_not_modified() -> None:
    before = SMALL.copy()
    trends.compare_kinds(SMALL, *trends.year_to_date(date(2025, 3, 10)))
    trends.counts_by_period(SMALL, "district", "week")
    pd.testing.assert_frame_equal(SMALL, before)


@pytest.mark.parametrize("period", list(trends.PERIODS))
def test_counts_by_period_of_the_small_table(period: str) -> None:
    table = trends.counts_by_period(SMALL, None, period)
    assert table["count"].sum() == int(SMALL["gunshot"].sum())
    assert table["period_start"].is_monotonic_increasing


def test_iso_weeks_start_on_monday() -> None:
    table = trends.counts_by_period(SMALL, None, "week")
    assert {d.weekday() for d in table["period_start"]} == {0}


stamps = st.datetimes(
    min_value=pd.Timestamp("2023-12-25").to_pydatetime(),
    max_value=pd.Timestamp("2025-01-05").to_pydatetime(),
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(stamps, st.sampled_from(["1", "2", None]), st.booleans()), min_size=1, max_size=40
    ),
    st.sampled_from(list(trends.PERIODS)),
)
def test_nothing_lost_across_any_period_split(rows, period) -> None:
    frame = victims(
        [(t.isoformat(), f"c{i}", True, fatal, d or "1") for i, (t, d, fatal) in enumerate(rows)]
    )
    frame.loc[[d is None for _, d, _ in rows], "district"] = None
    by_area = trends.counts_by_period(frame, "district", period)
    citywide = trends.counts_by_period(frame, None, period)
    assert by_area["count"].sum() == citywide["count"].sum() == len(rows)
    summed = by_area.groupby("period_start")["count"].sum()
    assert summed.to_dict() == citywide.set_index("period_start")["count"].to_dict()
