"""The page's view state survives the URL round trip and shrugs off hostile parameters."""

from __future__ import annotations

from datetime import date

import hypothesis.strategies as st
import pytest
from hypothesis import given

from ui.state import (
    DEFAULT_BASIS,
    Bounds,
    Search,
    View,
    bases_for,
    carried_area,
    carried_basis,
    default_view,
    from_query,
    from_widgets,
    range_problem,
    search_from_query,
    search_to_query,
    to_query,
)

BOUNDS = Bounds(
    first=date(2015, 1, 1),
    latest=date(2026, 8, 3),
    areas={
        "district": ("1", "17"),
        "beat": ("0111", "1722", "1713", "1711"),
        "community_area": ("ALBANY PARK",),
        "zip_code": ("60625",),
        "neighborhood": ("ALBANY PARK",),
    },
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
        ({"present": "maybe", "utm_source": "x"}, ["present", "utm_source"]),
        ({"kind": "x" * 10_000}, ["kind"]),
    ],
    ids=[
        "script",
        "unknown-district",
        "wrong-level",
        "future",
        "not-a-date",
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
    assert view.basis in bases_for(view.level)
    assert from_query(to_query(view), BOUNDS) == (view, [])


def test_default_view_is_bound_to_the_latest_date() -> None:
    assert default_view(BOUNDS).as_of == BOUNDS.latest


# -- issue 13: basis defaults, refused ranges, selection kept across levels ----------------


@pytest.mark.parametrize(
    ("params", "basis", "ignored"),
    [
        ({}, "recorded", []),
        ({"level": "beat"}, "recorded", []),
        ({"level": "community_area"}, "geometry", []),
        ({"level": "zip_code"}, "geometry", []),
        ({"level": "neighborhood"}, "geometry", []),
        ({"level": "district", "basis": "geometry"}, "geometry", []),
        ({"level": "zip_code", "basis": "recorded"}, "geometry", ["basis"]),
        ({"level": "neighborhood", "basis": "recorded"}, "geometry", ["basis"]),
    ],
    ids=[
        "district-default",
        "beat-default",
        "community-area-default",
        "zip-default",
        "neighborhood-default",
        "geometry-asked",
        "zip-recorded-refused",
        "neighborhood-recorded-refused",
    ],
)
def test_basis_defaults_to_cpd_codes_for_districts_and_beats(params, basis, ignored) -> None:
    view, notes = from_query(params, BOUNDS)
    assert (view.basis, notes) == (basis, ignored)


def test_zip_codes_and_neighbourhoods_have_only_the_geometry_basis() -> None:
    assert bases_for("district") == bases_for("beat") == ("geometry", "recorded")
    assert bases_for("zip_code") == bases_for("neighborhood") == ("geometry",)


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        (date(2026, 5, 1), date(2026, 1, 1), "ends (01 Jan 2026) before it starts (01 May 2026)"),
        (None, date(2026, 1, 1), "needs both a first and a last day"),
        (date(2026, 5, 1), None, "needs both a first and a last day"),
        (date(2026, 1, 1), date(2026, 1, 1), ""),
    ],
    ids=["reversed", "no-start", "no-end", "one-day"],
)
def test_reversed_or_empty_ranges_are_refused_not_repaired(start, end, problem) -> None:
    view = from_widgets({"period": "custom", "start": start, "end": end, "as_of": date(2026, 8, 3)})
    assert (view.start, view.end) == (start, end)  # kept as asked
    if problem:
        assert problem in range_problem(view)
    else:
        assert range_problem(view) == ""


def test_a_reversed_range_in_a_link_is_kept_for_the_page_to_refuse() -> None:
    params = {"period": "custom", "start": "2026-05-01", "end": "2026-01-01"}
    view, notes = from_query(params, BOUNDS)
    assert (view.start, view.end, notes) == (date(2026, 5, 1), date(2026, 1, 1), [])
    assert "before it starts" in range_problem(view)


def test_a_custom_period_without_dates_opens_on_this_year_to_date() -> None:
    view, _ = from_query({"period": "custom", "as_of": "2020-11-29"}, BOUNDS)
    assert (view.start, view.end) == (date(2020, 1, 1), date(2020, 11, 29))


@pytest.mark.parametrize(
    ("old", "new", "area", "carried"),
    [
        ("district", "beat", "17", "1711"),  # the district's first beat, by number
        ("district", "beat", "1", "0111"),
        ("district", "beat", "", ""),
        ("beat", "district", "1722", "17"),
        ("beat", "district", "0111", "1"),
        ("district", "community_area", "17", ""),
        ("community_area", "beat", "ALBANY PARK", ""),
    ],
    ids=[
        "district-to-beats",
        "district-1-to-beats",
        "city-stays-city",
        "beat-to-its-district",
        "zero-padded-beat",
        "no-containment",
        "no-containment-back",
    ],
)
def test_switching_level_keeps_the_selection_meaningful(old, new, area, carried) -> None:
    assert carried_area(old, new, area, BOUNDS) == carried


@pytest.mark.parametrize(
    ("old", "new", "basis", "carried"),
    [
        ("district", "beat", "recorded", "recorded"),
        ("district", "beat", "geometry", "geometry"),  # chosen on purpose: kept
        ("district", "community_area", "recorded", "geometry"),  # the default: follows
        ("district", "zip_code", "recorded", "geometry"),
        ("zip_code", "district", "geometry", "recorded"),
        ("community_area", "beat", "recorded", "recorded"),
    ],
)
def test_switching_level_keeps_a_chosen_basis_where_allowed(old, new, basis, carried) -> None:
    assert carried_basis(old, new, basis) == carried
    assert carried in bases_for(new)


def test_every_level_has_a_default_basis_it_allows() -> None:
    assert all(DEFAULT_BASIS[level] in bases_for(level) for level in DEFAULT_BASIS)


# -- the resident's search in the URL (issue 14) ---------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected", "ignored"),
    [
        ({"q": "Pilsen"}, Search("Pilsen", "", 400), []),
        (
            {"q": "3401 W Foster Ave", "at": "41.975870,-87.710000", "radius": "800"},
            Search("3401 W Foster Ave", "41.975870,-87.710000", 800),
            [],
        ),
        ({"q": "[x](http://e.invalid)"}, Search("[x](http://e.invalid)", "", 400), []),
        ({"q": "x" * 65}, Search("", "", 400), ["q"]),
        ({"q": "a", "at": "javascript:alert(1)"}, Search("a", "", 400), ["at"]),
        ({"at": "41.9,-87.7"}, Search("", "", 400), ["at"]),
        ({"q": "a", "radius": "99999"}, Search("a", "", 400), ["radius"]),
        ({"q": "a", "radius": "-5"}, Search("a", "", 400), ["radius"]),
    ],
    ids=[
        "name",
        "address",
        "markdown-kept-as-text",
        "too-long",
        "bad-point",
        "point-alone",
        "huge-radius",
        "negative-radius",
    ],
)
def test_search_from_the_url(params, expected, ignored) -> None:
    assert search_from_query(params) == (expected, ignored)


def test_search_round_trips_and_is_not_an_unknown_parameter() -> None:
    wanted = Search("3401 W Foster Ave", "41.975870,-87.710000", 800)
    assert search_from_query(search_to_query(wanted)) == (wanted, [])
    assert search_to_query(Search()) == {}
    _, ignored = from_query({"q": "Pilsen", "at": "1,2", "radius": "400"}, BOUNDS)
    assert ignored == []
