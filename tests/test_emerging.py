"""Emerging hot spots: the Mann-Kendall test against pymannkendall, and each category's rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymannkendall
import pytest

from geo.emerging import categorize, emerging_hotspots, mann_kendall
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
