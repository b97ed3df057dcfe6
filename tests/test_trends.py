"""Year to date, last 28 days and the comparisons on small hand-made tables."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

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


def test_inputs_are_not_modified() -> None:
    before = SMALL.copy()
    trends.compare_kinds(SMALL, *trends.year_to_date(date(2025, 3, 10)))
    pd.testing.assert_frame_equal(SMALL, before)
