"""Where a listed incident is: its first victim's recorded code or placed area, read in
the one query that lists it (no second look-up by id); and the page's cheap summary."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from unittest import mock

import pytest

from pipeline.config import LEVELS
from pipeline.queries import Reader, VictimFilter
from pipeline.store import Store
from pipeline.trends import Span
from tests.conftest import IN_0111, IN_0212, OUTSIDE, build_store, row

#: C1 begins in beat 0111 (recorded 0911) and goes on in 0212 (recorded 0222); C2 lies
#: outside every beat; C3 is in 0212 alone.
VICTIMS = [
    row(0, "2025-03-03T01:30:00", IN_0111, case_number="C1"),
    row(1, "2025-03-03T02:00:00", IN_0212, case_number="C1", beat="0222", district="2"),
    row(2, "2025-03-05T10:00:00", OUTSIDE, case_number="C2"),
    row(3, "2025-03-04T13:00:00", IN_0212, case_number="C3", beat="0222", district="2"),
]
MARCH = Span(date(2025, 3, 1), date(2025, 3, 31))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    return Store(Path(build_store(tmp_path_factory.mktemp("places"), VICTIMS)) / "store.duckdb")


@pytest.fixture
def q(store):
    with store.reader() as reader:
        yield reader


def beats(q: Reader, where: VictimFilter) -> dict[str, str | None]:
    found = q.incidents(where)
    return {
        case: (None if beat is None or beat != beat else beat)  # NaN: unassigned
        for case, beat in zip(found["case_number"], found["beat"], strict=True)
    }


@pytest.mark.parametrize(
    ("basis", "expected"),
    [
        ("geometry", {"C2": None, "C3": "0212", "C1": "0111"}),
        ("recorded", {"C2": "0911", "C3": "0222", "C1": "0911"}),
    ],
    ids=["placed", "recorded"],
)
def test_city_incidents_take_the_first_victims_area(q: Reader, basis, expected) -> None:
    assert beats(q, VictimFilter(MARCH, "shootings", basis)) == expected


@pytest.mark.parametrize(
    ("basis", "key", "expected"),
    [
        ("geometry", "0212", {"C3": "0212", "C1": "0212"}),  # C1's first victim *in 0212*
        ("recorded", "0222", {"C3": "0222", "C1": "0222"}),
        ("geometry", "0111", {"C1": "0111"}),
    ],
    ids=["placed-0212", "recorded-0222", "placed-0111"],
)
def test_area_incidents_count_only_victims_inside(q: Reader, basis, key, expected) -> None:
    where = VictimFilter(MARCH, "shootings", basis, "beat", key)
    assert beats(q, where) == expected
    assert q.incidents(where)["victims"].sum() == len(expected)


def test_limit_keeps_the_newest_and_their_places(q: Reader) -> None:
    where = VictimFilter(MARCH, "shootings", "geometry")
    assert q.incidents(where, limit=2)[["case_number", "beat"]].fillna("-").values.tolist() == [
        ["C2", "-"],
        ["C3", "0212"],
    ]


def test_summary_has_the_unassigned_figures_of_status(q: Reader) -> None:
    full, summary = q.status(), q.summary()
    assert summary.placement == {
        f"unassigned_{level}": full.placement[f"unassigned_{level}"] for level in LEVELS
    }
    assert summary.placement["unassigned_beat"] == 1
    assert (summary.tables, summary.first_occurred, summary.last_occurred) == (
        full.tables,
        full.first_occurred,
        full.last_occurred,
    )


#: C4 has three victims, its first one earlier than C2 and C3's: the newest rows, if read
#: two at a time, hold only C4's.
MANY = [
    *VICTIMS,
    row(4, "2025-03-02T09:00:00", IN_0212, case_number="C4"),
    row(5, "2025-03-06T09:00:00", IN_0212, case_number="C4"),
    row(6, "2025-03-06T09:00:00", IN_0212, case_number="C4"),
]


@pytest.mark.parametrize("held", [False, True], ids=["asked", "counts-held"])
@pytest.mark.parametrize("rows_per_incident", [1, 2, 20])
@pytest.mark.parametrize("basis", ["geometry", "recorded"])
def test_the_newest_incidents_are_the_full_listings_first(
    tmp_path, monkeypatch, rows_per_incident, basis, held
) -> None:
    """However few newest rows are read to find the newest incidents (a case with many
    victims fills them), the listing is the first rows of every incident's listing; and
    so it is when the reader, holding the counts per day, knows the rows are few enough
    for one grouping of them all."""
    import pipeline.queries

    monkeypatch.setattr(pipeline.queries, "ROWS_PER_INCIDENT", rows_per_incident)
    store = Store(Path(build_store(tmp_path, MANY)) / "store.duckdb")
    where = VictimFilter(MARCH, "shootings", basis)
    with store.reader() as q:
        every = q.incidents(where)
        assert len(every) == 4 and every["victims"].sum() == 7 and every["victims"].max() == 3
        if held:
            q.knowing_area_days(functools.cache(q.area_days))
        two_steps = mock.patch.object(Reader, "_newest_cases", wraps=q._newest_cases)
        for limit in range(1, 6):
            with two_steps as newest_cases:
                assert q.incidents(where, limit=limit).equals(every[:limit]), limit
            # Held counts spare the two steps exactly when the 7 rows are few enough.
            one_query = held and limit * rows_per_incident >= 7
            assert newest_cases.called != one_query, limit
