"""Year to date, last 28 days and the comparisons on small hand-made tables."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline import trends
from pipeline.trends import Span


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
