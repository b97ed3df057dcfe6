"""Gi* hot spots: a hand-checked example, planted clusters, random data, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo import hotspots
from geo.hotspots import NOT_SIGNIFICANT, gi_star, touching_neighbours


def lattice(rows: int, cols: int) -> dict[str, list[str]]:
    """Queen neighbours on a rows x cols grid; keys 'r{r}c{c}'."""
    out = {}
    for r in range(rows):
        for c in range(cols):
            out[f"r{r}c{c}"] = [
                f"r{r + dr}c{c + dc}"
                for dr in (-1, 0, 1)
                for dc in (-1, 0, 1)
                if (dr or dc) and 0 <= r + dr < rows and 0 <= c + dc < cols
            ]
    return out


def counts_on(neighbours: dict[str, list[str]], values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=list(neighbours), dtype=float)


def test_worked_example_matches_the_ord_getis_formula() -> None:
    """3 x 3 grid, a 9 in the middle: z of the centre by hand, as in esda's own tests."""
    neighbours = lattice(3, 3)
    x = np.array([1, 2, 1, 2, 9, 2, 1, 2, 1], dtype=float)
    result = gi_star(counts_on(neighbours, x), neighbours, permutations=99)
    n, mean = len(x), x.mean()
    s = math.sqrt((x**2).mean() - mean**2)
    # The centre's neighbourhood is the whole map, so its z is undefined (0 / 0): it is
    # reported as 0 and never called a hot spot.
    assert result.loc[4, "z"] == 0 and result.loc[4, "class"] == NOT_SIGNIFICANT
    corner = [0, 1, 3, 4]  # r0c0 with r0c1, r1c0, r1c1
    weight = len(corner)
    z_corner = (x[corner].sum() - weight * mean) / (
        s * math.sqrt((n * weight - weight**2) / (n - 1))
    )
    assert result.loc[0, "z"] == pytest.approx(round(z_corner, 3), abs=1e-3)
    edge = [0, 1, 2, 3, 4, 5]  # r0c1 with the top two rows
    weight = len(edge)
    z_edge = (x[edge].sum() - weight * mean) / (s * math.sqrt((n * weight - weight**2) / (n - 1)))
    assert result.loc[1, "z"] == pytest.approx(round(z_edge, 3), abs=1e-3)


def test_false_discovery_correction_and_classes_by_hand() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.2])
    result = hotspots._result(list("abcd"), np.ones(4), np.array([2.5, 2.0, -2.1, 1.0]), p)
    # sorted 0.01 0.03 0.04 0.2 -> x4/1 x4/2 x4/3 x4/4 = .04 .06 .0533 .2 -> step-up minimum
    assert result["p_fdr"].tolist() == pytest.approx([0.04, 0.0533, 0.0533, 0.2], abs=1e-4)
    assert result["class"].tolist() == ["hot 95 %", "hot 90 %", "cold 90 %", NOT_SIGNIFICANT]
    assert hotspots._result([], np.array([]), np.array([]), np.array([])).empty


def planted(seed: int, rows: int = 12, cols: int = 12) -> tuple[dict, pd.Series]:
    rng = np.random.default_rng(seed)
    neighbours = lattice(rows, cols)
    counts = counts_on(neighbours, rng.poisson(1.0, rows * cols))
    for r in range(4, 7):
        for c in range(4, 7):
            counts[f"r{r}c{c}"] += rng.poisson(7.0)
    return neighbours, counts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_planted_cluster_is_found(seed: int) -> None:
    neighbours, counts = planted(seed)
    result = gi_star(counts, neighbours).set_index("area")
    assert str(result.at["r5c5", "class"]).startswith("hot")
    hot = set(result.index[result["class"].str.startswith("hot")])
    assert hot <= {f"r{r}c{c}" for r in range(3, 8) for c in range(3, 8)}  # nowhere else


def test_spatially_random_counts_rarely_give_a_hot_spot() -> None:
    """With no clustering, a map shows any significant area (hot or cold, 90 % level, FDR)
    in about 10 % of seeds, as the correction promises: here at most 6 of 40."""
    neighbours = lattice(12, 12)
    with_any = 0
    for seed in range(40):
        counts = counts_on(neighbours, np.random.default_rng(100 + seed).poisson(2.0, 144))
        result = gi_star(counts, neighbours, permutations=199)
        with_any += int((result["class"] != NOT_SIGNIFICANT).any())
    assert with_any <= 6, f"{with_any} of 40 random maps had a significant area"


def test_same_seed_same_answer_and_input_untouched() -> None:
    neighbours, counts = planted(7)
    before = counts.copy()
    first, second = gi_star(counts, neighbours), gi_star(counts, neighbours)
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_series_equal(counts, before)


def test_counts_must_cover_the_weights() -> None:
    neighbours = lattice(3, 3)
    with pytest.raises(ValueError, match="counts lack 1 areas"):
        gi_star(counts_on(neighbours, np.ones(9)).drop("r2c2"), neighbours)


def test_touching_neighbours_of_squares() -> None:
    import shapely

    squares = np.array([shapely.box(x, 0, x + 1, 1) for x in (0, 1, 3)])
    assert touching_neighbours(["a", "b", "c"], squares, 1e-9) == {"a": ["b"], "b": ["a"], "c": []}
