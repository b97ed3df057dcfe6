"""The vectorised Gi* (geo.gistar) against esda's G_Local, its reference, and by hand."""

from __future__ import annotations

import warnings

import esda
import numpy as np
import pytest
from libpysal.graph import Graph

from geo import gistar, hotspots
from tests.test_hotspots import lattice


def irregular(n: int, seed: int) -> dict[str, list[str]]:
    """A symmetric random graph with every cardinality from 0 (islands) to n - 1."""
    rng = np.random.default_rng(seed)
    links = np.triu(rng.random((n, n)) < 0.2, 1)
    links[0, 1:] = True  # area 0 neighbours the whole map
    links[:, n - 1] = links[n - 1, :] = False  # area n - 1 is an island
    links |= links.T
    return {f"a{i}": [f"a{j}" for j in np.flatnonzero(links[i])] for i in range(n)}


def esda_reference(
    y: np.ndarray, neighbours: dict[str, list[str]], permutations: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """esda's z-scores and two-sided permutation p, as geo.hotspots used to compute them."""
    graph = Graph.from_dicts({k: list(v) for k, v in neighbours.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(
            y, graph, transform="B", permutations=permutations, star=True, seed=seed, n_jobs=1
        )
    p = np.minimum(1.0, 2 * np.nan_to_num(np.asarray(g.p_z_sim, dtype=float), nan=0.5))
    return np.asarray(g.Zs, dtype=float), p


@pytest.mark.parametrize(
    ("neighbours", "permutations", "seed"),
    [
        (lattice(12, 15), 999, 20_201_129),
        (lattice(40, 40), 199, 7),
        (irregular(60, 1), 499, 3),
    ],
    ids=["lattice-999", "lattice-1600-areas", "irregular-with-island"],
)
def test_equals_esda(neighbours, permutations, seed) -> None:
    """z to the last bit; p to rounding (esda's mean and standard deviation round, the
    integer form here does not)."""
    keys = list(neighbours)
    y = np.random.default_rng(seed).poisson(1.5, len(keys)).astype(float)
    z, p = esda_reference(y, neighbours, permutations, seed)
    weights = gistar.binary_weights(keys, neighbours)
    island = weights.cards == 0
    np.testing.assert_array_equal(gistar.z_scores(y, weights), z)
    got = gistar.permutation_p(y, weights, permutations, seed)
    np.testing.assert_allclose(got[~island], p[~island], rtol=0, atol=1e-12)
    assert (got < 0.05).sum() > 0 and (got > 0.5).sum() > 0  # both tails occur
    # esda gives an island p = 0 (nothing to permute, any count "significant"); here 1.
    assert (got[island] == 1).all()


def test_random_sums_follow_the_definition() -> None:
    """Area i's k-th random neighbour under draw j is area j if j < i, else area j + 1."""
    neighbours = irregular(25, 5)
    keys = list(neighbours)
    weights = gistar.binary_weights(keys, neighbours)
    y = np.random.default_rng(2).integers(0, 9, len(keys)).astype(float)
    ids = gistar.draws(len(keys), weights.neighbours.shape[1], 50, 11)
    expected = np.zeros((len(keys), 50))
    for i, size in enumerate(weights.cards):
        others = np.delete(y, i)
        expected[i] = others[ids[:, :size]].sum(axis=1)
    np.testing.assert_array_equal(gistar.random_sums(y, weights, ids), expected)


def test_draws_are_kept_read_only_and_repeat_with_the_seed() -> None:
    first = gistar.draws(30, 4, 20, 9)
    assert gistar.draws(30, 4, 20, 9) is first and not first.flags.writeable
    assert not np.array_equal(gistar.draws(30, 4, 20, 10), first)
    assert all(len(set(row)) == 4 and row.max() <= 28 for row in first)  # of the 29 others


def test_weights_ignore_self_unknown_and_duplicate_neighbours() -> None:
    weights = gistar.binary_weights(["a", "b", "c"], {"a": ["a", "b", "b", "zz"], "b": ["a"]})
    assert weights.cards.tolist() == [1, 1, 0]
    assert weights.neighbours.tolist() == [[1], [0], [-1]]
    np.testing.assert_array_equal(
        gistar.local_sums(np.array([1.0, 2.0, 4.0]), weights), [3.0, 3.0, 4.0]
    )


@pytest.mark.parametrize(
    ("neighbours", "mean"),
    [(lattice(9, 11), 2), (irregular(40, 6), 30), (lattice(30, 30), 0.2)],
    ids=["lattice", "irregular-with-island-large-counts", "lattice-sparse-counts"],
)
def test_moments_are_those_of_the_random_sums(neighbours, mean) -> None:
    """To the last bit: `random_moments` sums from the positions the draws reach, not from
    the (areas, permutations) sums themselves."""
    keys = list(neighbours)
    weights = gistar.binary_weights(keys, neighbours)
    y = np.random.default_rng(3).poisson(mean, len(keys)).astype(float)
    ids = gistar.draws(len(keys), weights.neighbours.shape[1], 99, 4)
    sums = gistar.random_sums(y, weights, ids)
    first, second = gistar.random_moments(y, weights, ids)
    np.testing.assert_array_equal(first, sums.sum(axis=1))
    np.testing.assert_array_equal(second, (sums**2).sum(axis=1))


@pytest.mark.parametrize("size", [0, 1, 2, 7, 5_000], ids=lambda n: f"{n}-p-values")
def test_false_discovery_control_is_scipys(size) -> None:
    from scipy.stats import false_discovery_control as scipys

    p = np.random.default_rng(size).random(size) ** 3
    p[: size // 3] = p[size // 2 : size // 2 + size // 3]  # ties
    expected = scipys(p, method="bh") if size else p
    np.testing.assert_array_equal(hotspots.false_discovery_control(p), expected)
