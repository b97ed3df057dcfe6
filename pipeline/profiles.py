"""Tables behind the dashboard's side panels and the brief. Pure: small query results in
(counts per day, per weekday and hour, per age and sex; incidents), new frames out.

What comes in is already narrowed to the selected area, period and kind by
`pipeline.queries.Reader`. Nothing here can show a name: the store has none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.trends import Span

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
#: Three-hour bands keep the table narrow enough for a phone.
HOUR_BANDS = [f"{h:02d}-{h + 2:02d}h" for h in range(0, 24, 3)]
UNKNOWN = "unknown"
NOT_PUBLISHED = "(not published)"


def hour_by_weekday(counts: pd.DataFrame) -> pd.DataFrame:
    """Victims per weekday (rows, Monday first) and 3-hour band of local time (columns),
    from counts with columns weekday (ISO, 1 = Monday), band (0..7) and n."""
    grid = np.zeros((len(WEEKDAYS), len(HOUR_BANDS)), dtype=np.int64)
    np.add.at(
        grid,
        (counts["weekday"].to_numpy(dtype=np.int64) - 1, counts["band"].to_numpy(dtype=np.int64)),
        counts["n"].to_numpy(dtype=np.int64),
    )
    return pd.DataFrame(
        grid,
        index=pd.Index(WEEKDAYS, name="weekday"),
        columns=pd.Index(HOUR_BANDS, name="hour"),
    )


def age_by_sex(counts: pd.DataFrame) -> pd.DataFrame:
    """Victims per age band (rows, 'unknown' last) and sex (columns), from counts with
    columns age_band, sex and n as published."""
    cells: dict[tuple[str, str], int] = {}
    for age, sex, n in zip(counts["age_band"], counts["sex"], counts["n"], strict=True):
        published_sex = _published(sex)
        key = (_published(age), UNKNOWN if published_sex == "UNKNOWN" else published_sex)
        cells[key] = cells.get(key, 0) + int(n)
    ages = sorted({a for a, _ in cells if a != UNKNOWN}, key=_age_sort_key)
    ages += [UNKNOWN] if any(a == UNKNOWN for a, _ in cells) else []
    sexes = sorted({s for _, s in cells})
    return pd.DataFrame(
        [[cells.get((a, s), 0) for s in sexes] for a in ages],
        index=pd.Index(ages, name="age band"),
        columns=pd.Index(sexes, name="sex"),
        dtype="int64",
    )


def _published(value: str | None) -> str:
    """A published value as text; missing (None, NA) or empty is 'unknown'."""
    return UNKNOWN if value is None or pd.isna(value) or value == "" else str(value)


def _age_sort_key(band: str) -> tuple[int, str]:
    digits = "".join(ch if ch.isdigit() else " " for ch in band).split()
    return (int(digits[0]) if digits else 999, band)


INCIDENT_COLUMNS = ["date", "time", "block", "beat", "community area", "victims", "killed"]


def incident_table(incidents: pd.DataFrame) -> pd.DataFrame:
    """Incidents (as `Reader.incidents` gives them) for people: date, time, block (or
    'not published'), beat, community area, victims, killed, case number."""
    when = pd.to_datetime(incidents["occurred_at"])
    return pd.DataFrame(
        {
            "date": when.dt.strftime("%Y-%m-%d"),
            "time": when.dt.strftime("%H:%M"),
            "block": incidents["block"].astype("string").fillna(NOT_PUBLISHED),
            "beat": incidents["beat"].astype("string"),
            "community area": incidents["community_area"].astype("string"),
            "victims": incidents["victims"].astype("int64"),
            "killed": incidents["killed"].astype("int64"),
            "case number": incidents["case_number"].astype("string"),
        },
        columns=[*INCIDENT_COLUMNS, "case number"],
    ).reset_index(drop=True)


def _in_span(daily: pd.Series, span: Span) -> pd.Series:
    days = pd.Index(daily.index)
    return daily[(days >= span.start) & (days <= span.end)]


def weekly_this_vs_last(
    daily: pd.Series, current: Span, previous: Span, window: int = 4
) -> pd.DataFrame:
    """Counts per week of each span (week 1 = the span's first 7 days), side by side,
    plus a `window`-week rolling mean of this period, from counts per local day. The
    last week may be partial."""
    weeks = (current.days + 6) // 7
    table = pd.DataFrame(
        {
            "this period": _weekly(daily, current, weeks),
            "same period last year": _weekly(daily, previous, weeks),
        },
        index=pd.Index(range(1, weeks + 1), name="week"),
    )
    table[f"this period, {window}-week mean"] = (
        table["this period"].rolling(window, min_periods=1).mean().round(1)
    )
    return table


def _weekly(daily: pd.Series, span: Span, weeks: int) -> np.ndarray:
    """Counts per week of `span` (days past the last week count in it)."""
    counts = np.zeros(weeks, dtype=np.int64)
    for day, n in zip(daily.index, daily.to_numpy(), strict=True):
        if span.start <= day <= span.end:
            counts[min((day - span.start).days // 7, weeks - 1)] += n
    return counts


def monthly_this_vs_last(daily: pd.Series, current: Span, previous: Span) -> pd.DataFrame:
    """Counts per calendar month of each span, side by side (index: 'Jan', 'Feb', ...),
    from counts per local day.

    Both spans end on the same day of the year, so a partial last month is
    partial in both columns alike.
    """
    columns = {}
    months = pd.period_range(current.start, current.end, freq="M")
    for label, span in (("this year", current), ("last year", previous)):
        rows = _in_span(daily, span)
        counts = rows.groupby([d.month for d in rows.index]).sum()
        columns[label] = counts.reindex(months.month, fill_value=0).to_numpy("int64")
    return pd.DataFrame(columns, index=pd.Index(months.strftime("%b"), name="month"))
