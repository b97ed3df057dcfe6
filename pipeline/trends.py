"""CompStat-style comparisons: year to date, last 28 days, other periods. Pure functions.

Every function takes a victims DataFrame (columns of `pipeline.schema`, with
`district`, `beat` and `community_area` already on the chosen basis) and
returns a new DataFrame; nothing is read, written or modified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.aggregate import (
    check_choice,
)

INCOMPLETE = "incomplete data"

PERIOD_CHOICES = {
    "ytd": "year to date",
    "28d": "last 28 days",
    "28d-prev": "last 28 days against the previous 28",
    "12m": "last 12 months",
    "custom": "custom range",
}

COMPARE_COLUMNS = ["current", "previous", "change", "pct_change", "p_value", "verdict"]


@dataclass(frozen=True)
class Span:
    """Local calendar dates, both ends inclusive."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def months_of(span: Span) -> list[str]:
    """'YYYY-MM' of every month `span` touches, in order (plain arithmetic: a pandas
    period range costs ~0.3 ms, and a view asks for a dozen)."""
    first = span.start.year * 12 + span.start.month - 1
    last = span.end.year * 12 + span.end.month - 1
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first, last + 1)]


def shift_years(day: date, years: int) -> date:
    """The same calendar day `years` earlier or later; 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def year_to_date(as_of: date) -> tuple[Span, Span]:
    """(1 Jan .. as_of, the same span of the previous year). 29 Feb compares with 28 Feb."""
    current = Span(date(as_of.year, 1, 1), as_of)
    return current, Span(date(as_of.year - 1, 1, 1), shift_years(as_of, -1))


def last_28_days(as_of: date) -> tuple[Span, Span]:
    """(the 28 days ending on as_of, the 28 days before those)."""
    current = Span(as_of - timedelta(days=27), as_of)
    return current, Span(current.start - timedelta(days=28), current.start - timedelta(days=1))


def a_year_earlier(span: Span) -> Span:
    """As many days as `span`, ending on the same calendar day a year earlier."""
    end = shift_years(span.end, -1)
    return Span(end - timedelta(days=span.days - 1), end)


def compare_counts(
    current: int, previous: int, current_days: int = 1, previous_days: int = 1
) -> dict[str, object]:
    """change, percent change (None when previous is 0), exact p-value and verdict."""
    p_value = stats.poisson_change_p(current, previous, current_days, previous_days)
    return {
        "current": current,
        "previous": previous,
        "change": current - previous,
        "pct_change": stats.pct_change(current, previous),
        "p_value": p_value,
        "verdict": stats.verdict(current, previous, p_value),
    }


def compare_many(
    current: Sequence[int], previous: Sequence[int], current_days: int = 1, previous_days: int = 1
) -> pd.DataFrame:
    """`compare_counts` for many pairs at once (one per area or kind): COMPARE_COLUMNS,
    `pct_change` NaN where previous is 0. One vectorised exact test for all rows."""
    now = np.asarray(current, dtype=np.int64)
    before = np.asarray(previous, dtype=np.int64)
    p_values = stats.change_p_values(now, before, current_days, previous_days)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(before > 0, 100.0 * (now - before) / before, np.nan)
    return pd.DataFrame(
        {
            "current": now,
            "previous": before,
            "change": now - before,
            "pct_change": pct,
            "p_value": p_values,
            "verdict": [
                stats.verdict(c, b, p) for c, b, p in zip(now, before, p_values, strict=True)
            ],
        },
        columns=COMPARE_COLUMNS,
    )


def period_spans(
    period: str, as_of: date, start: date | None = None, end: date | None = None
) -> tuple[Span, Span]:
    """(current, previous) spans for a named period.

    ytd: 1 Jan .. as_of against the same span last year; 28d: the last 28 days
    against the same 28 days a year earlier (28d-prev: against the 28 days before);
    12m: the last 365 days against the 365 ending a year earlier; custom: start ..
    end against the same dates a year earlier.
    """
    check_choice("period", period, list(PERIOD_CHOICES))
    if period == "ytd":
        return year_to_date(as_of)
    if period == "28d-prev":
        return last_28_days(as_of)
    if period in ("28d", "12m"):
        current = Span(as_of - timedelta(days=27 if period == "28d" else 364), as_of)
        return current, a_year_earlier(current)
    if start is None or end is None or start > end:
        raise ValueError(f"a custom period needs start <= end; got {start} .. {end}")
    current = Span(start, end)
    return current, Span(shift_years(start, -1), shift_years(end, -1))


def coverage_gaps(months_with_records: set[str], spans: list[Span]) -> list[str]:
    """One warning per span that contains a month ('YYYY-MM') with no record at all.

    The store can have holes (a missing year, a feed that stopped); a
    comparison across a hole would read as a fall in shootings.
    """
    warnings = []
    for span in spans:
        empty = [m for m in months_of(span) if m not in months_with_records]
        if empty:
            warnings.append(
                f"no records at all in {', '.join(empty[:6])}"
                f"{' ...' if len(empty) > 6 else ''}: the store does not cover "
                f"{span.start:%Y-%m-%d}..{span.end:%Y-%m-%d}; counts there are incomplete"
            )
    return warnings


def mark_incomplete(table: pd.DataFrame) -> pd.DataFrame:
    """The same comparison with no verdict: the store does not cover the periods compared."""
    return table.assign(p_value=float("nan"), verdict=INCOMPLETE)
