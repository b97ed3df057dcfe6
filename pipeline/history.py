"""The same period in each of the last few years: context beyond one year.

"61 shootings this year against 28 last year" reads differently when the three
years before had 45, 52 and 60. `same_span_by_year` sums the store's
pre-aggregated `daily_counts` (through one `Reader.span_counts` query, as
`pipeline.compstat` does) over the period's span shifted back one year at a time.

Years the store does not cover (months with no record at all) are not zeros: their
count is missing (NA) when every month of the span is absent, and `missing_months`
lists the absent months when only some are.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from pipeline.counts import CITY
from pipeline.queries import Reader
from pipeline.trends import Span, months_of, shift_years

#: Periods whose comparison span keeps the length and ends on the same calendar day a
#: year earlier (`trends.a_year_earlier`); the others keep the same calendar dates.
FIXED_LENGTH_PERIODS = ("28d", "28d-prev", "12m")
HISTORY_COLUMNS = ["year", "start", "end", "count", "missing_months"]


def spans_by_year(current: Span, years: int = 5, fixed_length: bool = False) -> list[Span]:
    """`current` and the same span in each of the `years - 1` years before, oldest first.

    Same calendar dates (year to date, custom ranges: 1 Jan .. 27 Nov each year), or,
    with `fixed_length`, as many days ending on the same calendar day (the last 28
    days, the last 12 months), as the page's comparison with last year does. A 29
    February becomes the 28th."""
    if years < 1:
        raise ValueError(f"years was {years} but must be at least 1")
    spans = [_shifted(current, -back, fixed_length) for back in range(years)]
    return spans[::-1]


def same_span_by_year(
    reader: Reader,
    level: str | None,
    area: str | None,
    basis: str,
    kind: str,
    measure: str,
    current_span: Span,
    years: int = 5,
    *,
    period: str = "ytd",
) -> pd.DataFrame:
    """The count of `kind` (`measure`: victims or incidents) in one area (`level` None or
    `area` empty: the whole city) over `current_span` and the same span in each of the
    years before: one row per year, oldest first.

    Columns: `year` (of the span's last day), `start`, `end` (local dates, inclusive),
    `count` (nullable Int64: NA when the store has no record at all in any month of
    the span) and `missing_months` ('YYYY-MM, ...' of months inside the span with no
    record at all, '' when complete: such a count is a floor, not a figure).
    `period` is the page's period name; it decides how spans shift
    (`FIXED_LENGTH_PERIODS`)."""
    spans = spans_by_year(current_span, years, fixed_length=period in FIXED_LENGTH_PERIODS)
    whole_city = level is None or not area
    counts = reader.span_counts(
        CITY if whole_city else str(level),
        spans,
        measure,
        basis,
        kind=kind,
        key=CITY if whole_city else area,
    )
    return yearly_table(counts, spans, reader.months_with_records())


def yearly_table(counts: pd.DataFrame, spans: list[Span], have_months: set[str]) -> pd.DataFrame:
    """Pure: `span_counts` output (key, kind, span index, n) and the months the store has
    -> the table `same_span_by_year` returns."""
    # Plain Python on a handful of rows, then one frame: a groupby, a frame of records
    # and astype cost ~6x as much, nearly all of it pandas' per-call overhead.
    totals: dict[int, int] = {}
    for span, n in zip(counts["span"].tolist(), counts["n"].tolist(), strict=True):
        totals[span] = totals.get(span, 0) + n
    months = [months_of(span) for span in spans]
    missing = [[m for m in every if m not in have_months] for every in months]
    no_record = np.array([len(g) == len(e) for g, e in zip(missing, months, strict=True)], bool)
    counted = np.array([totals.get(i, 0) for i in range(len(spans))], dtype="int64")
    # Object arrays, as a frame of records has: dates stay dates (text is still found
    # to be text), and no spans at all make empty object columns, not float ones.
    return pd.DataFrame(
        {
            "year": np.array([span.end.year for span in spans], dtype="int64"),
            "start": np.array([span.start for span in spans], dtype=object),
            "end": np.array([span.end for span in spans], dtype=object),
            "count": pd.arrays.IntegerArray(counted, mask=no_record),  # NA: no record at all
            "missing_months": np.array([", ".join(gone) for gone in missing], dtype=object),
        }
    )


def months_missing(have_months: set[str], span: Span) -> list[str]:
    """Months ('YYYY-MM') inside `span` with no record at all in the store."""
    return [m for m in _months(span) if m not in have_months]


def _months(span: Span) -> list[str]:
    return months_of(span)


def _shifted(span: Span, years: int, fixed_length: bool) -> Span:
    end = shift_years(span.end, years)
    if fixed_length:
        return Span(end - timedelta(days=span.days - 1), end)
    return Span(shift_years(span.start, years), end)
