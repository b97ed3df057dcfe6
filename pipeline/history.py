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
    totals = counts.groupby("span")["n"].sum() if len(counts) else pd.Series(dtype="int64")
    rows = []
    for i, span in enumerate(spans):
        missing = months_missing(have_months, span)
        every_month_missing = len(missing) == len(_months(span))
        rows.append(
            {
                "year": span.end.year,
                "start": span.start,
                "end": span.end,
                "count": pd.NA if every_month_missing else int(totals.get(i, 0)),
                "missing_months": ", ".join(missing),
            }
        )
    table = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    return table.astype({"year": "int64", "count": "Int64"})


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
