"""The same period in each of the last years (`pipeline.history`): spans, the table
built from counts, and an independent recount on the real snapshot."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from pipeline.history import same_span_by_year, spans_by_year, yearly_table
from pipeline.store import Store
from pipeline.trends import Span, period_spans
from tests.conftest import needs_snapshot, sync_real_snapshot


@pytest.mark.parametrize(
    ("current", "fixed_length", "expected"),
    [
        (
            Span(date(2020, 1, 1), date(2020, 11, 29)),
            False,
            [Span(date(y, 1, 1), date(y, 11, 29)) for y in (2018, 2019, 2020)],
        ),
        (  # 29 February: the 28th in other years, same calendar dates
            Span(date(2024, 1, 1), date(2024, 2, 29)),
            False,
            [
                Span(date(2022, 1, 1), date(2022, 2, 28)),
                Span(date(2023, 1, 1), date(2023, 2, 28)),
                Span(date(2024, 1, 1), date(2024, 2, 29)),
            ],
        ),
        (  # 28 days across 29 Feb 2024: always 28 days, ending on the same calendar day
            Span(date(2024, 2, 12), date(2024, 3, 10)),
            True,
            [
                Span(date(2022, 2, 11), date(2022, 3, 10)),
                Span(date(2023, 2, 11), date(2023, 3, 10)),
                Span(date(2024, 2, 12), date(2024, 3, 10)),
            ],
        ),
    ],
    ids=["ytd", "leap-day-end", "28-days-across-leap-day"],
)
def test_spans_by_year(current: Span, fixed_length: bool, expected: list[Span]) -> None:
    assert spans_by_year(current, 3, fixed_length) == expected


@pytest.mark.parametrize("period", ["ytd", "28d", "12m", "custom"], ids=str)
def test_the_year_before_is_the_pages_comparison_span(period: str) -> None:
    """The row for last year is exactly what the CompStat table compares with."""
    current, previous = period_spans(period, date(2024, 3, 10), date(2024, 2, 1), date(2024, 3, 1))
    fixed = period in ("28d", "12m")
    assert spans_by_year(current, 2, fixed) == [previous, current]


def test_spans_by_year_refuses_no_years() -> None:
    with pytest.raises(ValueError, match="years was 0"):
        spans_by_year(Span(date(2020, 1, 1), date(2020, 2, 1)), 0)


def test_yearly_table_sums_spans_and_says_which_months_are_missing() -> None:
    spans = spans_by_year(Span(date(2024, 1, 1), date(2024, 2, 10)), 3)
    counts = pd.DataFrame(  # span 0 in two keys/kinds, span 2 once, span 1 absent
        {"key": ["a", "b", "a"], "kind": ["k", "k", "k"], "span": [0, 0, 2], "n": [3, 4, 5]}
    )
    have = {"2022-01", "2022-02", "2024-02"}  # 2023 absent; January 2024 absent
    expected = pd.DataFrame(
        {
            "year": [2022, 2023, 2024],
            "start": [date(2022, 1, 1), date(2023, 1, 1), date(2024, 1, 1)],
            "end": [date(2022, 2, 10), date(2023, 2, 10), date(2024, 2, 10)],
            "count": pd.array([7, pd.NA, 5], dtype="Int64"),
            "missing_months": ["", "2023-01, 2023-02", "2024-01"],
        }
    )
    assert_frame_equal(yearly_table(counts, spans, have), expected)


def test_yearly_table_with_no_counts_is_zeros_where_covered() -> None:
    spans = spans_by_year(Span(date(2021, 3, 1), date(2021, 3, 31)), 2)
    empty = pd.DataFrame({"key": [], "kind": [], "span": [], "n": []})
    table = yearly_table(empty, spans, {"2020-03", "2021-03"})
    assert table["count"].tolist() == [0, 0]


# --- the real snapshot ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sync_real_snapshot(tmp_path_factory.mktemp("history") / "data") / "store.duckdb"


def recount(
    store: Path, column: str, key: str, spans: list[Span], rule: str, measure: str
) -> list[int]:
    """Victims (or distinct case numbers) per span, in plain pandas over the store's raw
    victims and victim_areas tables: no daily_counts, no Reader."""
    with duckdb.connect(str(store), read_only=True) as con:
        victims = con.execute("SELECT * FROM victims").df()
        areas = con.execute("SELECT * EXCLUDE (occurred_at) FROM victim_areas").df()
    rows = victims.merge(areas, on="unique_id", how="left")
    rows = rows[rows[column].eq(key) & rows[rule].astype(bool)]
    day = rows["occurred_at"].dt.date
    out = []
    for span in spans:
        inside = rows[(day >= span.start) & (day <= span.end)]
        out.append(inside["case_number"].nunique() if measure == "incidents" else len(inside))
    return out


@needs_snapshot
@pytest.mark.parametrize(
    ("level", "key", "column", "basis", "kind", "rule", "measure", "as_of"),
    [
        ("district", "17", "district", "recorded", "homicides", "fatal", "victims", "2020-11-29"),
        (
            "community_area",
            "ALBANY PARK",
            "geo_community_area",
            "geometry",
            "shootings",
            "gunshot",
            "victims",
            "2022-11-29",
        ),
        (
            "district",
            "17",
            "geo_district",
            "geometry",
            "shootings",
            "gunshot",
            "incidents",
            "2022-06-30",
        ),
    ],
    ids=["district-17-homicides-recorded", "albany-park-shootings", "district-17-incidents"],
)
def test_five_years_match_an_independent_recount(
    real_store: Path,
    level: str,
    key: str,
    column: str,
    basis: str,
    kind: str,
    rule: str,
    measure: str,
    as_of: str,
) -> None:
    current, _ = period_spans("ytd", date.fromisoformat(as_of))
    with Store(real_store).reader() as q:
        table = same_span_by_year(q, level, key, basis, kind, measure, current)
    spans = [Span(s, e) for s, e in zip(table["start"], table["end"], strict=True)]
    assert len(table) == 5 and spans[-1] == current
    assert table["count"].tolist() == recount(real_store, column, key, spans, rule, measure)
    assert (table["missing_months"] == "").all()  # 2016-2022 are all in the snapshot
    assert table["count"].sum() > 0


@needs_snapshot
def test_district_17_2020_is_cpds_11_against_5(real_store: Path) -> None:
    """The figures CPD and the press gave for 29 Nov 2020, on the recorded codes."""
    current, _ = period_spans("ytd", date(2020, 11, 29))
    with Store(real_store).reader() as q:
        table = same_span_by_year(q, "district", "17", "recorded", "homicides", "victims", current)
    assert table.set_index("year").loc[[2019, 2020], "count"].tolist() == [5, 11]


@needs_snapshot
def test_years_the_store_lacks_are_missing_not_zero(real_store: Path) -> None:
    """The snapshot has no record from Jan 2023 to Aug 2024."""
    current, _ = period_spans("28d", date(2025, 8, 3))
    with Store(real_store).reader() as q:
        table = same_span_by_year(
            q, None, None, "geometry", "shootings", "victims", current, period="28d"
        ).set_index("year")
    counts: dict[Any, Any] = table["count"].to_dict()
    assert pd.isna(counts[2023]) and pd.isna(counts[2024])  # missing, not 0
    assert table.loc[2023, "missing_months"] == "2023-07, 2023-08"
    assert counts[2025] > 0 and counts[2022] > 0


def test_five_years_for_people_say_no_data_and_rates() -> None:
    """The page's table: a year the store lacks reads 'no data' (not 0, no rate); a year
    with some months missing says which; rates over the population given."""
    from ui.context import history_display, history_text

    years = pd.DataFrame(
        {
            "year": [2023, 2024, 2025],
            "start": [date(2023, 1, 1), date(2024, 1, 1), date(2025, 1, 1)],
            "end": [date(2023, 3, 5), date(2024, 3, 5), date(2025, 3, 5)],
            "count": pd.array([pd.NA, 4, 6], dtype="Int64"),
            "missing_months": ["2023-01, 2023-02, 2023-03", "2024-01", ""],
        }
    )
    city = years.assign(count=pd.array([pd.NA, 400, 500], dtype="Int64"))
    shown = history_text(history_display(years, 2_000.0, city, 100_000.0, estimated=True))
    assert shown["Count"].tolist() == ["no data", "4", "6"]
    assert shown["Rate per 100,000 (estimated)"].tolist() == ["", "200.0", "300.0"]
    assert shown["City per 100,000"].tolist() == ["", "400.0", "500.0"]
    assert shown.loc["2024", "Note"] == "incomplete: no records in Jan 2024"
    assert str(shown.loc["2023", "Note"]).startswith("no data")
    assert shown.loc["2025", "Dates"] == "1 Jan – 5 Mar 2025"
