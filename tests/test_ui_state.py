"""The page's view state survives the URL round trip and shrugs off hostile parameters."""

from __future__ import annotations

from datetime import date

import hypothesis.strategies as st
import pytest
from hypothesis import given

from ui.state import Bounds, View, default_view, from_query, to_query

BOUNDS = Bounds(
    first=date(2015, 1, 1),
    latest=date(2026, 8, 3),
    areas={"district": ("1", "17"), "beat": ("0111", "1713"), "community_area": ("ALBANY PARK",)},
)


def test_no_parameters_give_the_defaults() -> None:
    view, notes = from_query({}, BOUNDS)
    assert view == View(as_of=date(2026, 8, 3)) and notes == []


@pytest.mark.parametrize(
    "view",
    [
        View(
            level="beat",
            area="1713",
            as_of=date(2020, 11, 29),
            measure="incidents",
            kind="homicides",
            metric="count",
            basis="recorded",
            present=True,
        ),
        View(
            level="community_area",
            area="ALBANY PARK",
            as_of=date(2026, 8, 3),
            period="custom",
            start=date(2026, 1, 1),
            end=date(2026, 3, 31),
        ),
        View(as_of=date(2024, 2, 29), period="28d"),
    ],
    ids=["beat-everything", "custom-range", "leap-day"],
)
def test_round_trip(view: View) -> None:
    again, notes = from_query(to_query(view), BOUNDS)
    assert (again, notes) == (view, [])


@pytest.mark.parametrize(
    ("params", "ignored"),
    [
        ({"level": "<script>alert(1)</script>"}, ["level"]),
        ({"area": "99", "level": "district"}, ["area"]),
        ({"area": "1713"}, ["area"]),  # a beat while the level is district
        ({"as_of": "2031-01-01"}, ["as_of"]),  # after the data
        ({"as_of": "yesterday"}, ["as_of"]),
        ({"period": "custom", "start": "2026-05-01", "end": "2026-01-01"}, ["end", "start"]),
        ({"present": "maybe", "utm_source": "x"}, ["present", "utm_source"]),
        ({"kind": "x" * 10_000}, ["kind"]),
    ],
    ids=[
        "script",
        "unknown-district",
        "wrong-level",
        "future",
        "not-a-date",
        "reversed-range",
        "junk",
        "huge",
    ],
)
def test_hostile_values_fall_back_and_are_named(params, ignored) -> None:
    view, notes = from_query(params, BOUNDS)
    assert notes == ignored
    assert view.level in ("district",) and view.kind == "shootings"


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "level",
                "area",
                "as_of",
                "period",
                "start",
                "end",
                "measure",
                "kind",
                "metric",
                "basis",
                "present",
                "x",
            ]
        ),
        st.text(max_size=80),
    )
)
def test_any_url_gives_a_valid_view(params) -> None:
    view, _ = from_query(params, BOUNDS)
    assert view.as_of is not None and BOUNDS.first <= view.as_of <= BOUNDS.latest
    assert view.area == "" or view.area in BOUNDS.areas[view.level]
    assert from_query(to_query(view), BOUNDS) == (view, [])


def test_default_view_is_bound_to_the_latest_date() -> None:
    assert default_view(BOUNDS).as_of == BOUNDS.latest
