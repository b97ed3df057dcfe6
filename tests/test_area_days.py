"""`AreaDays` (areas' counts per day, held by the page) answers a span as the store's
query does: a brute-force sum over the same rows, any spans, one area or every one."""

from __future__ import annotations

import functools
from datetime import date, timedelta

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from pipeline.area_days import EPOCH, AreaDays
from pipeline.trends import Span

KINDS = ["shootings", "homicides"]
AREAS = ["0111", "17", "unassigned"]
FIRST = date(2019, 12, 25)


@st.composite
def rows_and_spans(draw):
    """Rows (kind, area, day, count) in any order, a kind, area and day maybe more than
    once; and a few spans around them."""
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(KINDS),
                st.sampled_from(AREAS),
                st.integers(0, 60),
                st.integers(1, 5),
            ),
            max_size=40,
        )
    )
    spans = []
    for _ in range(draw(st.integers(1, 5))):
        start = FIRST + timedelta(days=draw(st.integers(-5, 65)))
        spans.append(Span(start, start + timedelta(days=draw(st.integers(0, 30)))))
    return rows, spans


def _area_days(rows: list[tuple[str, str, int, int]]) -> AreaDays:
    offset = (FIRST - EPOCH).days
    return AreaDays.from_rows(
        KINDS,
        AREAS,
        np.array([KINDS.index(k) for k, _, _, _ in rows], dtype=np.int64),
        np.array([AREAS.index(a) for _, a, _, _ in rows], dtype=np.int64),
        np.array([offset + d for _, _, d, _ in rows], dtype=np.int64),
        np.array([n for _, _, _, n in rows], dtype=np.int64),
    )


def _brute_force(rows, spans, areas) -> list[tuple[str, str, int, int]]:
    """Reader.span_counts' rows by summing every row: key, kind, span, n; zeros absent."""
    return [
        (area, kind, i, n)
        for kind in KINDS
        for i, span in enumerate(spans)
        for area in areas
        if (
            n := sum(
                c
                for k, a, d, c in rows
                if k == kind and a == area and span.start <= FIRST + timedelta(days=d) <= span.end
            )
        )
    ]


@given(rows_and_spans())
def test_a_span_sums_the_days_inside_it(case) -> None:
    rows, spans = case
    days = _area_days(rows)
    got = days.span_counts(spans, KINDS, "17")
    assert list(got.itertuples(index=False, name=None)) == _brute_force(rows, spans, ["17"])
    assert list(got.columns) == ["key", "kind", "span", "n"]
    assert days.span_counts(spans, KINDS, "no such area").empty


@given(rows_and_spans())
def test_every_areas_spans_at_once(case) -> None:
    rows, spans = case
    got = _area_days(rows).span_counts(spans, KINDS)
    expected = sorted(_brute_force(rows, spans, AREAS))
    assert sorted(got.itertuples(index=False, name=None)) == expected


@given(rows_and_spans())
def test_the_days_of_spans_are_the_days_with_a_count_inside_any(case) -> None:
    rows, spans = case
    for area in AREAS:
        got = _area_days(rows).daily("homicides", spans, "victims", area)
        per_day: dict[date, int] = {}
        for kind, where, d, c in rows:
            day = FIRST + timedelta(days=d)
            if (
                kind == "homicides"
                and where == area
                and any(s.start <= day <= s.end for s in spans)
            ):
                per_day[day] = per_day.get(day, 0) + c
        inside = sorted(per_day.items())
        expected = pd.Series(
            [c for _, c in inside],
            index=pd.Index([d for d, _ in inside], name="day", dtype=object),
            name="victims",
            dtype="int64",
        )
        pd.testing.assert_series_equal(got, expected)


def assert_reader_answers_as_the_store(plain, held, spans_list, keys_by_level) -> None:
    """`Reader.span_counts` and `Reader.daily` give the same answers from `AreaDays`
    (`held`) as from their queries (`plain`), at every level, basis and measure: for one
    area, held alone or with its whole level, and for every area of a level at once."""
    from pipeline.counts import CITY
    from pipeline.queries import BASES, MEASURES
    from pipeline.queries import KINDS as ALL_KINDS
    from ui.state import bases_for

    columns = ["key", "kind", "span", "n"]
    checked = 0
    for whole_level in (False, True):
        # Each area or level read once, as the page's cache holds them.
        read = functools.cache(held.area_days)
        held.knowing_area_days(
            lambda level, key, m, b, whole=whole_level, read=read: read(
                level, None if whole else key, m, b
            )
        )
        for level, keys in keys_by_level.items():
            for basis in BASES if level == CITY else bases_for(level):
                some = keys[:4] if whole_level else keys  # a level held whole: a few of its areas
                for measure, key, spans in (
                    (m, k, s) for m in MEASURES for k in [*some, None] for s in spans_list
                ):
                    for kind in (None, *ALL_KINDS):
                        asked = (level, spans, measure, basis, kind, key)
                        by_query = plain.span_counts(*asked)
                        pd.testing.assert_frame_equal(
                            held.span_counts(*asked).sort_values(columns).reset_index(drop=True),
                            by_query.sort_values(columns).reset_index(drop=True),
                            check_dtype=False,
                        )
                        checked += int(by_query["n"].sum())
                    if key is None and level != CITY:
                        continue
                    area = (None, None) if level == CITY else (level, key)
                    asked_days = (*area, spans, measure, basis, "shootings")
                    pd.testing.assert_series_equal(
                        held.daily(*asked_days), plain.daily(*asked_days)
                    )
    assert checked > 0, "nothing was counted: the comparison proved nothing"


def test_the_page_reader_counts_as_the_store_on_a_small_store(tmp_path) -> None:
    from pipeline.history import spans_by_year
    from pipeline.store import Store
    from tests.conftest import ROWS, build_store

    store = Store(build_store(tmp_path, ROWS) / "store.duckdb")
    spans = [
        [Span(date(2025, 3, 1), date(2025, 3, 10)), Span(date(2024, 3, 1), date(2024, 3, 10))],
        spans_by_year(Span(date(2025, 1, 1), date(2025, 3, 5)), 5),
        [Span(date(2025, 3, 4), date(2025, 3, 4))],
    ]
    with store.reader() as plain, store.reader() as held:
        keys = {"city": ["city"]}
        keys |= {
            lv: list(plain.area_labels(lv))[:3] for lv in ("district", "beat", "community_area")
        }
        assert_reader_answers_as_the_store(plain, held, spans, keys)
