"""Tables behind the dashboard's side panels. Pure: a victims DataFrame in, a new one out.

The victims passed in are already narrowed to the selected area, period and
kind. Nothing here can show a name: the store has none.
"""

from __future__ import annotations

import pandas as pd

from pipeline.trends import Span

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
#: Three-hour bands keep the table narrow enough for a phone.
HOUR_BANDS = [f"{h:02d}-{h + 2:02d}h" for h in range(0, 24, 3)]
UNKNOWN = "unknown"
NOT_PUBLISHED = "(not published)"


def hour_by_weekday(victims: pd.DataFrame) -> pd.DataFrame:
    """Victims per weekday (rows, Monday first) and 3-hour band of local time (columns)."""
    when = victims["occurred_at"]
    day = when.dt.day_of_week.map(dict(enumerate(WEEKDAYS))).rename("weekday")
    band = (when.dt.hour // 3).map(dict(enumerate(HOUR_BANDS))).rename("hour")
    table = pd.crosstab(day, band).reindex(index=WEEKDAYS, columns=HOUR_BANDS, fill_value=0)
    table.index.name, table.columns.name = "weekday", "hour"
    return table.astype("int64")


def age_by_sex(victims: pd.DataFrame) -> pd.DataFrame:
    """Victims per age band (rows, 'unknown' last) and sex (columns)."""
    age = victims["age_band"].astype("string").fillna(UNKNOWN).replace("", UNKNOWN)
    sex = victims["sex"].astype("string").fillna(UNKNOWN).replace({"UNKNOWN": UNKNOWN})
    table = pd.crosstab(age.rename("age band"), sex.rename("sex"))
    order = sorted((a for a in table.index if a != UNKNOWN), key=_age_sort_key)
    order += [UNKNOWN] if UNKNOWN in table.index else []
    return table.reindex(order).astype("int64")


def _age_sort_key(band: str) -> tuple[int, str]:
    digits = "".join(ch if ch.isdigit() else " " for ch in band).split()
    return (int(digits[0]) if digits else 999, band)


def recent_incidents(victims: pd.DataFrame, limit: int = 50) -> pd.DataFrame:
    """The latest incidents, newest first, at block level: one row per case number."""
    if victims.empty:
        return pd.DataFrame(
            columns=[
                "date",
                "time",
                "block",
                "beat",
                "community area",
                "victims",
                "killed",
                "case number",
            ]
        )
    ordered = victims.sort_values(["occurred_at", "unique_id"], ascending=[False, True])
    grouped = ordered.groupby("case_number", sort=False)
    table = (
        pd.DataFrame(
            {
                "occurred_at": grouped["occurred_at"].max(),
                "block": grouped["block"].first(),
                "beat": grouped["beat"].first(),
                "community area": grouped["community_area"].first(),
                "victims": grouped.size(),
                "killed": grouped["fatal"].sum().astype("int64"),
            }
        )
        .sort_values("occurred_at", ascending=False)
        .head(limit)
    )
    table["block"] = table["block"].astype("string").fillna(NOT_PUBLISHED)
    table.insert(0, "date", table["occurred_at"].dt.strftime("%Y-%m-%d"))
    table.insert(1, "time", table["occurred_at"].dt.strftime("%H:%M"))
    table["case number"] = table.index
    return table.drop(columns="occurred_at").reset_index(drop=True)


def weekly_this_vs_last(
    victims: pd.DataFrame, current: Span, previous: Span, measure: str = "victims", window: int = 4
) -> pd.DataFrame:
    """Counts per week of each span (week 1 = the span's first 7 days), side by side,
    plus a `window`-week rolling mean of this period. The last week may be partial."""
    weeks = (current.days + 6) // 7
    columns = {}
    for label, span in (("this period", current), ("same period last year", previous)):
        rows = victims[
            (victims["occurred_at"] >= pd.Timestamp(span.start))
            & (victims["occurred_at"] < pd.Timestamp(span.end) + pd.Timedelta(days=1))
        ]
        week = ((rows["occurred_at"] - pd.Timestamp(span.start)).dt.days // 7 + 1).clip(upper=weeks)
        counts = (
            week.value_counts()
            if measure == "victims"
            else rows["case_number"].groupby(week).nunique()
        )
        columns[label] = counts.reindex(range(1, weeks + 1), fill_value=0).astype("int64")
    table = pd.DataFrame(columns)
    table[f"this period, {window}-week mean"] = (
        table["this period"].rolling(window, min_periods=1).mean().round(1)
    )
    table.index.name = "week"
    return table


def monthly_this_vs_last(
    victims: pd.DataFrame, current: Span, previous: Span, measure: str = "victims"
) -> pd.DataFrame:
    """Counts per calendar month of each span, side by side (index: 'Jan', 'Feb', ...).

    Both spans end on the same day of the year, so a partial last month is
    partial in both columns alike.
    """
    columns = {}
    months = pd.period_range(current.start, current.end, freq="M")
    for label, span in (("this year", current), ("last year", previous)):
        rows = victims[
            (victims["occurred_at"] >= pd.Timestamp(span.start))
            & (victims["occurred_at"] < pd.Timestamp(span.end) + pd.Timedelta(days=1))
        ]
        month = rows["occurred_at"].dt.month
        counts = (
            month.value_counts()
            if measure == "victims"
            else rows["case_number"].groupby(month).nunique()
        )
        columns[label] = counts.reindex(months.month, fill_value=0).to_numpy("int64")
    return pd.DataFrame(columns, index=pd.Index(months.strftime("%b"), name="month"))
