"""The page's per-view pieces built ahead (`ui.shown`, `ui.since_sync.shown`) say exactly
what the direct, slower computation says: the speed-ups change no figure or word."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import report
from pipeline.settings import Settings
from pipeline.trends import Span, months_of
from tests.conftest import IN_0212, ROWS, build_store, row
from ui import context, data, mapview, shown, since_sync
from ui.state import DEFAULT_BASIS, LEVELS, View, bases_for

#: A second sync: row 2 recorded in another district, row 9's victim died, one new victim.
RESYNCED = [
    *(r for i, r in enumerate(ROWS) if i not in (2, 9)),
    {**ROWS[2], "district": "1", "beat": "0111", ":updated_at": "2026-02-01T10:00:00.000Z"},
    {**ROWS[9], "victimization_primary": "HOMICIDE", ":updated_at": "2026-02-01T10:00:00.000Z"},
    row(20, "2025-03-04T09:00:00", IN_0212, district="1", beat="0111"),
]


@pytest.fixture(scope="module")
def ref(tmp_path_factory) -> data.StoreRef:
    folder = tmp_path_factory.mktemp("pieces")
    build_store(folder, ROWS)
    found = data.store_ref(Settings.from_env(env={}, data_dir=build_store(folder, RESYNCED)))
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("scope", "keys"),
    [
        (None, ()),
        ("district", ("9",)),
        ("district", ("1",)),
        ("beat", ("0111",)),
        ("beats", ("0111", "0911")),
        ("district", ("25",)),
    ],
    ids=["city", "district-9", "district-1", "beat", "team-beats", "no-change"],
)
def test_since_sync_pieces_match_the_pandas_cut(ref, scope, keys) -> None:
    changes = since_sync.last_sync_changes(ref)
    assert set(changes["change"]) == {"added", "updated"}  # the resync above
    line, count, table = since_sync.shown(ref, scope, keys)
    mine = since_sync.in_area(changes, scope, keys)
    where = "in your area" if keys else "in the city"
    assert line == since_sync.plain(since_sync.headline(mine, where), 300)
    assert count == len(mine)
    expected = since_sync.listing(mine.head(since_sync.LISTED))
    pd.testing.assert_frame_equal(table.to_pandas(), expected, check_dtype=False)


def test_tally_codes_follow_tally() -> None:
    changes = pd.DataFrame(
        {
            "change": ["added", "updated", "updated", "removed", "added"],
            "fields_changed": [None, "fatal: false -> true", "block", None, None],
        }
    )
    codes = since_sync._tally_codes(changes)
    counted = {name: int((codes == i).sum()) for i, name in enumerate(since_sync.TALLIES)}
    assert counted == since_sync.tally(changes)


@pytest.mark.parametrize(
    "changes",
    [{}, {"area": "9"}, {"level": "beat", "area": "0111"}, {"metric": "change"}],
    ids=["city", "district", "beat", "change-classes"],
)
def test_the_map_sent_as_built_is_the_overlaid_one(ref, changes: dict) -> None:
    """Labels are thinned when the map is built, so the page can skip the overlay's
    JSON round trip when there is nothing to overlay."""
    found = data.facts(ref)
    assert found is not None
    base = View(as_of=found.bounds.latest)
    view = replace(base, basis=DEFAULT_BASIS[changes.get("level", "district")], **changes)
    sent = json.loads(shown.map_spec(ref, view, None))
    assert sent == json.loads(mapview.with_overlay(data.map_json(ref, view)))
    labels = next(layer for layer in sent["layers"] if layer["id"] == "labels")
    assert labels["data"]  # something is labelled


def test_present_mode_still_goes_through_the_overlay(ref) -> None:
    found = data.facts(ref)
    assert found is not None
    view = View(as_of=found.bounds.latest, present=True)
    sent = json.loads(shown.map_spec(ref, view, (41.87, -87.68, 400.0)))
    assert any(layer["id"] == "ring" for layer in sent["layers"])
    labels = next(layer for layer in sent["layers"] if layer["id"] == "labels")
    assert labels["getSize"] == mapview.PRESENT_LABEL_SIZE


@pytest.mark.parametrize("basis", ["geometry", "recorded"])
def test_the_whole_citys_panels_are_the_same_at_every_level(ref, basis) -> None:
    """Why a city view's panels are cached without their level (`data.PANEL_KEYS`):
    computed afresh at each level of the basis, they are equal."""
    found = data.facts(ref)
    assert found is not None
    built = []
    for level in [name for name in LEVELS if basis in bases_for(name)]:
        clear_panels()
        built.append(panels(ref, View(level=level, as_of=found.bounds.latest, basis=basis)))
    assert len(built) >= 2 and built[0].recent.shape[0] > 0
    for other in built[1:]:
        for name in ("compstat", "weekly", "hours", "age_sex", "recent"):
            pd.testing.assert_frame_equal(getattr(other, name), getattr(built[0], name))
        assert other.other_basis is None and other.warnings == built[0].warnings


@dataclass(frozen=True)
class Panels:
    """Every figure of a view's side panels, as the page's cached parts give them."""

    compstat: pd.DataFrame
    other_basis: pd.DataFrame | None  # the counts on the other basis, where there is one
    warnings: list[str]
    weekly: pd.DataFrame
    hours: pd.DataFrame
    age_sex: pd.DataFrame
    recent: pd.DataFrame


def panels(ref: data.StoreRef, view: View) -> Panels:
    table, other_basis, warnings = data.compstat_panel(ref, view)
    hours, age_sex = data.victim_profile(ref, view)
    recent = data.latest_incidents(ref, view)
    return Panels(table, other_basis, warnings, data.weekly(ref, view), hours, age_sex, recent)


def clear_panels() -> None:
    for part in (data.compstat_panel, data.weekly, data.victim_profile, data.latest_incidents):
        part.clear()


@pytest.mark.parametrize("area", ["", "1"], ids=["city", "district-1"])
def test_a_new_kind_or_measure_reuses_the_panels_it_does_not_change(ref, area) -> None:
    """Why the CompStat table is cached without the kind, and the victims' rows without
    the measure (`data.COMPSTAT_KEYS`, `data.ROWS_KEYS`): computed afresh for another
    kind (or measure), they are equal, and the keys do not tell them apart."""
    found = data.facts(ref)
    assert found is not None
    view = View(level="district", area=area, as_of=found.bounds.latest, basis="recorded")
    other_kind, other_measure = (
        replace(view, kind="fatal-shootings"),
        replace(view, measure="incidents"),
    )
    clear_panels()
    first = panels(ref, view)
    clear_panels()
    by_kind, by_measure = panels(ref, other_kind), panels(ref, other_measure)
    pd.testing.assert_frame_equal(by_kind.compstat, first.compstat)
    assert by_kind.warnings == first.warnings
    for name in ("hours", "age_sex", "recent"):
        pd.testing.assert_frame_equal(getattr(by_measure, name), getattr(first, name))
    assert first.recent.shape[0] > 0 and not by_kind.weekly.equals(first.weekly)
    assert data.COMPSTAT_KEYS[View](view) == data.COMPSTAT_KEYS[View](other_kind)
    assert data.ROWS_KEYS[View](view) == data.ROWS_KEYS[View](other_measure)
    assert data.COMPSTAT_KEYS[View](view) != data.COMPSTAT_KEYS[View](other_measure)
    assert data.ROWS_KEYS[View](view) != data.ROWS_KEYS[View](other_kind)


def test_a_city_view_at_a_new_level_reuses_its_panels() -> None:
    key = data.PANEL_KEYS[View]
    view = View(as_of=date(2025, 3, 5), basis="geometry")
    assert key(view) == key(replace(view, level="community_area", metric="count"))
    assert key(view) != key(replace(view, basis="recorded"))
    in_area = replace(view, area="1")
    assert key(in_area) != key(replace(in_area, level="beat"))


@pytest.mark.parametrize("area", ["", "1"], ids=["city", "district-1"])
def test_what_a_view_shares_is_never_modified_by_what_is_built_from_it(ref, area) -> None:
    """`data.shared_cache` hands every caller the one object it stored: the tables a
    view computes first (panels, the map's table, the ranking, the years) must come out
    of everything the page builds from them (its figures, map, legend, CSV, ranked and
    five-year sections) exactly as they went in."""
    found = data.facts(ref)
    assert found is not None
    view = View(level="district", area=area, as_of=found.bounds.latest, basis="recorded")
    clear_panels()
    for cached in (data.map_table, context.ranked, context.history):
        cached.clear()
    shared = {
        "panels": panels(ref, view),
        "map_table": data.map_table(ref, view),
        "ranked": context.ranked(ref, view),
        "history": context.history(ref, view),
    }
    before = copy.deepcopy(shared)
    detail_tabs = (shown.trend_shown, shown.profile_shown, shown.incidents_shown)
    for part in (shown.compstat_shown, shown.headline, *detail_tabs):
        part.clear()
    shown.figures(ref, view, "somewhere")
    for part in detail_tabs:  # built when their tab is open
        part(ref, view)
    shown.legend(ref, view)
    data.map_json.clear()
    data.map_json(ref, view)
    context.ranked_shown.clear()
    context.ranked_shown(ref, view)
    context.years_shown.clear()
    context.years_shown(ref, view, "somewhere")
    current, previous = data.spans(view)
    report.export_table(
        shared["panels"].compstat,
        area=area,
        area_name="somewhere",
        level=view.level,
        period=view.period,
        current=current,
        previous=previous,
        measure=view.measure,
        basis=view.basis,
    )
    assert shared["panels"].recent.shape[0] > 0  # the view has something to show
    for name in ("compstat", "weekly", "hours", "age_sex", "recent"):
        pd.testing.assert_frame_equal(
            getattr(shared["panels"], name), getattr(before["panels"], name)
        )
    for name in ("map_table", "ranked", "history"):
        pd.testing.assert_frame_equal(shared[name], before[name])


@given(
    start=st.dates(min_value=date(2001, 1, 1), max_value=date(2030, 12, 31)),
    days=st.integers(min_value=0, max_value=900),
)
def test_months_of_a_span_are_pandas_monthly_periods(start: date, days: int) -> None:
    span = Span(start, start + timedelta(days=days))
    expected = list(pd.period_range(span.start, span.end, freq="M").strftime("%Y-%m"))
    assert months_of(span) == expected


@pytest.mark.parametrize("basis", ["geometry", "recorded"])
def test_the_other_basis_counts_are_compstats_own(ref, basis) -> None:
    """The page's line on the other basis reads `kind_counts`: compstat's counts without
    the test, for an area and for the city."""
    from pipeline.compstat import compstat, kind_counts

    current, previous = (
        Span(date(2025, 1, 1), date(2025, 3, 5)),
        Span(date(2024, 1, 1), date(2024, 3, 5)),
    )
    counted = 0
    with data.reader(ref) as q:
        for level, key in [("district", "1"), ("district", "9"), ("beat", "0212"), (None, None)]:
            for measure in ("victims", "incidents"):
                asked = (q, level, key, current, previous, measure, basis)
                full = compstat(*asked).table[["kind", "current", "previous"]]
                pd.testing.assert_frame_equal(kind_counts(*asked), full, check_dtype=False)
                counted += int(full["current"].sum())
    assert counted > 0, "nothing was counted: the comparison proved nothing"


def test_a_large_level_is_held_an_area_at_a_time_with_the_same_figures(ref, monkeypatch) -> None:
    """Over `data.HELD_LEVEL_ROWS` rows, a level's counts per day are read an area at a
    time and its every-area sums come from the store: the figures stay the same."""
    found = data.facts(ref)
    assert found is not None
    view = View(level="district", area="1", as_of=found.bounds.latest, basis="recorded")

    def figures() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        for cached in (data.area_days, data.compstat_panel, data.map_table, data.weekly):
            cached.clear()
        return data.compstat_panel(ref, view)[0], data.map_table(ref, view), data.weekly(ref, view)

    held = figures()
    whole = data.area_days(ref, "district", None, "victims", "recorded")
    assert whole is not None and len(whole.keys) > 1
    assert data.area_days(ref, "district", "1", "victims", "recorded") is whole
    monkeypatch.setattr(data, "HELD_LEVEL_ROWS", 0)
    by_area = figures()
    assert data.area_days(ref, "district", None, "victims", "recorded") is None
    one = data.area_days(ref, "district", "1", "victims", "recorded")
    assert one is not None and one.keys == ("1",)
    for mine, theirs in zip(by_area, held, strict=True):
        pd.testing.assert_frame_equal(mine, theirs)
    assert int(held[1]["current"].sum()) > 0  # the map counted something
    data.area_days.clear()  # no area-at-a-time reads left for the tests after this one
