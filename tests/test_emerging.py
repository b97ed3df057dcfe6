"""Emerging hot spots: the Mann-Kendall test against pymannkendall, and each category's rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymannkendall
import pytest

from geo.emerging import (
    CATEGORIES,
    categorize,
    categorize_rows,
    emerging_hotspots,
    mann_kendall,
    mann_kendall_rows,
)
from tests.test_hotspots import lattice


@pytest.mark.parametrize(
    "series",
    [
        [1, 2, 3, 4, 5, 6, 7, 8],
        [3.1, 2.2, 2.9, 1.0, 0.5, 0.7, -1.0, -2.0],
        [1, 1, 2, 2, 2, 3, 1, 4, 4, 5],  # ties
        [0.3, -0.1, 0.4, 0.0, 0.2, -0.3, 0.1, 0.05, -0.2, 0.3, 0.1, 0.0],
    ],
    ids=["rising", "falling", "ties", "flat"],
)
def test_mann_kendall_matches_pymannkendall(series) -> None:
    z, p = mann_kendall(series)
    reference = pymannkendall.original_test(series)
    assert z == pytest.approx(reference.z, abs=1e-9)
    assert p == pytest.approx(reference.p, abs=1e-9)


RISING = [float(i) for i in range(12)]
FALLING = RISING[::-1]
FLAT = [2.0, 2.1] * 6
F, T = False, True


@pytest.mark.parametrize(
    ("hot", "z", "expected"),
    [
        ([F] * 11 + [T], FLAT, "new"),
        ([F] * 9 + [T] * 3, FLAT, "consecutive"),
        ([T] * 12, RISING, "intensifying"),
        ([T] * 12, FLAT, "persistent"),
        ([T] * 11 + [T], FALLING, "diminishing"),
        ([T, F, T, F, F, T, F, F, T, F, F, T], FLAT, "sporadic"),
        ([T] * 11 + [F], FLAT, "historical"),
        ([T, F, T, F, F, F, F, F, F, F, F, F], FLAT, "no pattern"),
        ([F] * 12, FLAT, "no pattern"),
    ],
    ids=[
        "new",
        "consecutive",
        "intensifying",
        "persistent",
        "diminishing",
        "sporadic",
        "historical",
        "no-pattern",
        "never-hot",
    ],
)
def test_category_rules(hot, z, expected) -> None:
    assert categorize(hot, z)[0] == expected


def test_a_cluster_that_appears_in_the_last_slice_is_new() -> None:
    neighbours = lattice(10, 10)
    rng = np.random.default_rng(3)
    slices = {f"s{k:02d}": rng.poisson(1.0, 100).astype(float) for k in range(6)}
    cluster = [f"r{r}c{c}" for r in range(4, 7) for c in range(4, 7)]
    counts = pd.DataFrame(slices, index=list(neighbours))
    counts["s05"] = counts["s05"] + counts.index.isin(cluster) * 9.0
    table = emerging_hotspots(counts, neighbours).set_index("area")
    assert table.loc["r5c5", "category"] == "new"
    assert table.loc["r0c0", "category"] == "no pattern"
    assert set(table["category"]) <= {"new", "no pattern", "sporadic"}


def categorize_one_by_one(flags: list[bool], trend_z: float, trend_p: float) -> str:
    """The rules written out for one area, as the module's docstring states them."""
    n, share = len(flags), sum(flags) / len(flags)
    final = flags[-1]
    run = next((k for k, flag in enumerate(reversed(flags)) if not flag), n)
    if final and not any(flags[:-1]):
        return "new"
    if final and run >= 2 and not any(flags[: n - run]) and share < 0.9:
        return "consecutive"
    if final and share >= 0.9:
        if trend_p < 0.05:
            return "intensifying" if trend_z > 0 else "diminishing"
        return "persistent"
    if final:
        return "sporadic"
    return "historical" if n > 1 and sum(flags[:-1]) / (n - 1) >= 0.9 else "no pattern"


def test_all_rows_at_once_agree_with_one_area_at_a_time() -> None:
    rng = np.random.default_rng(8)
    # Mostly-hot, mostly-cold and mixed rows, so that every category occurs.
    hot = rng.random((600, 12)) < rng.choice([0.05, 0.5, 0.97], size=(600, 1))
    z = rng.normal(size=(600, 12)).round(1) + np.linspace(-2, 2, 12) * rng.choice(
        [-1, 0, 1], (600, 1)
    )
    trend_z, trend_p = mann_kendall_rows(z)
    got = categorize_rows(hot, trend_z, trend_p)
    expected = [
        categorize_one_by_one(list(h), a, b) for h, a, b in zip(hot, trend_z, trend_p, strict=True)
    ]
    assert list(got) == expected
    assert set(expected) == set(CATEGORIES)
    for row in range(0, 600, 37):  # the vectorised test equals the one-series one
        assert (trend_z[row], trend_p[row]) == pytest.approx(mann_kendall(z[row]), abs=1e-12)
