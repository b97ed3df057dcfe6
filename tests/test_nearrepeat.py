"""Retaliation windows on hand-made points at known distances and times; the Knox test."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from geo.nearrepeat import incidents, knox_test, open_windows, pairs_within, project

ORIGIN = (-87.70, 41.85)  # lon, lat
METRES_PER_DEGREE_LAT = 111_000  # close enough at these distances; checked below


def event(case: str, when: str, north_m: float = 0.0) -> dict:
    return {
        "case_number": case,
        "occurred_at": pd.Timestamp(when),
        "block": f"{case} BLOCK",
        "beat": "1713",
        "victims": 1,
        "killed": 0,
        "latitude": ORIGIN[1] + north_m / METRES_PER_DEGREE_LAT,
        "longitude": ORIGIN[0],
    }


def table(*events: dict) -> pd.DataFrame:
    return pd.DataFrame(list(events)).sort_values("occurred_at", ignore_index=True)


def test_projection_is_in_metres() -> None:
    xy = project(np.array([ORIGIN[0]] * 2), np.array([ORIGIN[1], ORIGIN[1] + 300 / 111_000]))
    assert np.linalg.norm(xy[1] - xy[0]) == pytest.approx(300, abs=3)


EVENTS = table(
    event("A", "2025-06-01 22:00"),  # the first shooting
    event("B", "2025-06-03 01:00", north_m=300),  # 300 m, next day: a follow-up of A
    event("C", "2025-06-04 12:00", north_m=550),  # 550 m from A (too far), 250 m from B
    event("D", "2025-06-20 12:00", north_m=100),  # 100 m but 19 days after A
    event("E", "2025-05-10 12:00", north_m=50),  # before the window of anything listed
)


def test_windows_follow_ups_by_distance_and_time() -> None:
    got = open_windows(EVENTS, as_of=date(2025, 6, 10)).set_index("case_number")
    assert list(got.index) == ["C", "B", "A"]  # E is older than 14 days; D is in the future
    assert got.loc["A", "followups"] == 1  # B; not C (550 m), not D (after as-of)
    assert got.loc["B", "followups"] == 1  # C at 250 m
    assert got.loc["C", "followups"] == 0
    assert str(got.loc["A", "window_end"]) == "2025-06-15" and got.loc["A", "days_left"] == 5


def test_windows_close_and_count_up_to_their_end() -> None:
    got = open_windows(EVENTS, as_of=date(2025, 6, 15), radius_m=600).set_index("case_number")
    assert "A" not in got.index  # A's window ended on 15 June
    assert got.loc["B", "followups"] == 1


def test_parameters_change_the_answer() -> None:
    wide = open_windows(EVENTS, as_of=date(2025, 6, 10), radius_m=600).set_index("case_number")
    assert wide.loc["A", "followups"] == 2  # B and C
    short = open_windows(EVENTS, as_of=date(2025, 6, 10), days=8)  # 3..10 June
    assert set(short["case_number"]) == {"B", "C"}
    with pytest.raises(ValueError, match="must be positive"):
        open_windows(EVENTS, as_of=date(2025, 6, 10), radius_m=0)


def test_incidents_group_victims_and_never_carry_names() -> None:
    victims = pd.DataFrame(
        {
            "unique_id": ["1", "2", "3"],
            "case_number": ["X", "X", "Y"],
            "occurred_at": pd.to_datetime(
                ["2025-01-01 10:00", "2025-01-01 10:00", "2025-01-02 00:00"]
            ),
            "latitude": [41.8, 41.8, 41.9],
            "longitude": [-87.7, -87.7, -87.6],
            "block": ["1 A ST", "1 A ST", None],
            "beat": ["0111", "0111", "0112"],
            "fatal": [True, False, False],
        }
    )
    table_ = incidents(victims).set_index("case_number")
    assert [table_.at["X", "victims"], table_.at["X", "killed"]] == [2, 1]
    assert table_.loc["Y", "block"] == "(not published)"
    assert not [c for c in table_.columns if "name" in c]


def random_events(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "case_number": [f"c{i}" for i in range(n)],
            "occurred_at": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(rng.uniform(0, 365, n), "D"),
            "latitude": 41.75 + rng.uniform(0, 0.15, n),
            "longitude": -87.75 + rng.uniform(0, 0.15, n),
        }
    )


def test_knox_finds_planted_near_repeats_and_not_random_ones() -> None:
    base = random_events(300, seed=1)
    rng = np.random.default_rng(2)
    repeats = base.sample(60, random_state=3).assign(
        case_number=lambda t: t["case_number"] + "r",
        occurred_at=lambda t: t["occurred_at"] + pd.to_timedelta(rng.uniform(0.5, 5, 60), "D"),
        latitude=lambda t: t["latitude"] + 0.0004,
    )  # ~45 m north, within days
    planted = knox_test(pd.concat([base, repeats], ignore_index=True), permutations=199)
    close = planted[(planted["distance_m"] == "0-100") & (planted["days"] == "0-7")].iloc[0]
    assert close["ratio"] > 5 and close["p"] <= 0.01
    random_ = knox_test(random_events(360, seed=4), permutations=199)
    assert (random_["p"] > 0.01).all()


def test_knox_is_reproducible_with_its_seed() -> None:
    events = random_events(200, seed=5)
    pd.testing.assert_frame_equal(
        knox_test(events, permutations=99), knox_test(events, permutations=99)
    )


def test_pairs_within_are_every_pair_at_most_that_far() -> None:
    rng = np.random.default_rng(6)
    a = rng.uniform(0, 2_000, (80, 2))
    b = np.vstack([rng.uniform(0, 2_000, (60, 2)), [[np.nan, np.nan]]])
    i, j = pairs_within(a, b, 300)
    distance = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    expected = set(zip(*np.nonzero(distance <= 300), strict=True))
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == expected and len(expected) > 50
