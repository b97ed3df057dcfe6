"""Side-panel tables on a hand-made handful of victims."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline import profiles
from pipeline.trends import Span


def victims(as_category: bool) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "unique_id": ["a", "b", "c", "d"],
            "case_number": ["C1", "C1", "C2", "C3"],
            "occurred_at": pd.to_datetime(
                ["2025-03-03 01:30", "2025-03-03 01:30", "2025-03-09 22:10", "2025-03-04 13:00"]
            ),
            "fatal": [True, False, False, False],
            "block": ["0 E 1ST ST", "0 E 1ST ST", None, "100 W 2ND ST"],
            "beat": ["0111", "0111", "0112", "0111"],
            "community_area": ["AUSTIN"] * 4,
            "age_band": ["20-29", "0-19", None, "20-29"],
            "sex": ["M", "F", "UNKNOWN", "M"],
        }
    )
    if as_category:  # how the page holds them
        text = ["case_number", "block", "beat", "community_area", "age_band", "sex"]
        frame = frame.astype(dict.fromkeys(text, "category"))
    return frame


@pytest.mark.parametrize("as_category", [False, True], ids=["strings", "categories"])
def test_recent_incidents_one_row_per_case_newest_first(as_category: bool) -> None:
    table = profiles.recent_incidents(victims(as_category))
    assert table["case number"].tolist() == ["C2", "C3", "C1"]
    assert table["block"].tolist() == ["(not published)", "100 W 2ND ST", "0 E 1ST ST"]
    assert table.iloc[2][["victims", "killed"]].to_list() == [2, 1]
    assert not [c for c in table.columns if "name" in c]


@pytest.mark.parametrize("as_category", [False, True], ids=["strings", "categories"])
def test_hour_by_weekday_counts_every_victim(as_category: bool) -> None:
    table = profiles.hour_by_weekday(victims(as_category))
    assert table.shape == (7, 8) and int(table.to_numpy().sum()) == 4
    assert table.loc["Mon", "00-02h"] == 2  # 3 March 2025 was a Monday
    assert table.loc["Sun", "21-23h"] == 1


@pytest.mark.parametrize("as_category", [False, True], ids=["strings", "categories"])
def test_age_by_sex_puts_unknown_last(as_category: bool) -> None:
    table = profiles.age_by_sex(victims(as_category))
    assert table.index.tolist() == ["0-19", "20-29", "unknown"]
    assert table.loc["20-29", "M"] == 2 and table.loc["unknown", "unknown"] == 1


def test_weekly_this_vs_last_aligns_weeks_of_each_span() -> None:
    frame = victims(False)
    current = Span(date(2025, 3, 3), date(2025, 3, 16))
    previous = Span(date(2024, 3, 3), date(2024, 3, 16))
    table = profiles.weekly_this_vs_last(frame, current, previous, window=2)
    assert table["this period"].tolist() == [4, 0]
    assert table["same period last year"].tolist() == [0, 0]
    assert table["this period, 2-week mean"].tolist() == [4.0, 2.0]
    incidents = profiles.weekly_this_vs_last(frame, current, previous, "incidents")
    assert incidents["this period"].tolist() == [3, 0]
