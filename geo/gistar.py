"""Getis-Ord Gi* on binary weights with conditional permutations, for all areas at once.

The statistic, its z-score and the conditional permutations are esda's
`G_Local(star=True, transform="B")`, with the same random draws for the same seed
(esda, without numba, draws each permutation's ids with numpy's legacy
`RandomState.choice`; so does `draws`). esda loops over the areas in Python, one
call per area (0.3-0.5 s per map of 5,600 hexagons at 199 permutations; emerging hot
spots need twelve such maps); here each permutation's sums for
every area come from a few cumulative sums, and the draws and the weights are built
once for any number of count vectors (the time slices of emerging hot spots). With
counts (integers) every sum is exact: the z-scores equal esda's to the last bit, the
permutation p-values to ~1e-15 (tests/test_gistar.py checks both against esda).

Conditional permutation of area i (Anselin 1995): keep y_i, give its k_i neighbours
values drawn without replacement from the other n - 1 areas. A permutation's draws
are ids into "the others" (0 .. n - 2) shared by every area, so id j means area j
when j < i and area j + 1 otherwise: one area's random sum differs from another's
only by the draws at or above it, which a reverse cumulative sum counts for all.

One deliberate difference: an island (no neighbours) has nothing to permute; esda
then reports p = 0 (any count looks infinitely significant), here p = 1.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Weights:
    """Binary Gi* weights: each area with itself and its neighbours.

    `neighbours[i]` holds the positions (into `keys`) of area i's neighbours, padded
    with -1 to the widest row; `cards[i]` is how many there are (self not counted)."""

    keys: tuple[str, ...]
    neighbours: np.ndarray
    cards: np.ndarray


def binary_weights(keys: Sequence[str], neighbours: Mapping[str, Sequence[str]]) -> Weights:
    """Weights over `keys` (in that order) from neighbour lists; a key without neighbours
    is an island; neighbours outside `keys` and the key itself are ignored."""
    position = {str(k): i for i, k in enumerate(keys)}
    rows = [
        sorted({position[str(n)] for n in neighbours.get(k, ()) if str(n) in position} - {i})
        for i, k in enumerate(keys)
    ]
    width = max(map(len, rows), default=0)
    table = np.full((len(rows), width), -1, dtype=np.int64)
    for i, row in enumerate(rows):
        table[i, : len(row)] = row
    cards = np.array([len(row) for row in rows], dtype=np.int64)
    return Weights(tuple(str(k) for k in keys), table, cards)


def local_sums(y: np.ndarray, weights: Weights) -> np.ndarray:
    """Each area's count plus its neighbours' (the Gi* numerator)."""
    padded = np.append(np.asarray(y, dtype=float), 0.0)  # position -1 reads the 0
    return padded[: len(y)] + padded[weights.neighbours].sum(axis=1)


def z_scores(y: np.ndarray, weights: Weights) -> np.ndarray:
    """Gi* z-scores (Ord and Getis 1995), in esda's operation order; nan where undefined
    (a neighbourhood that is the whole map, or no counts at all)."""
    y = np.asarray(y, dtype=float)
    n, total = len(y), y.sum()
    statistic = local_sums(y, weights) / total
    mean = total / n
    variance = (y**2).sum() / n - mean**2
    size = (weights.cards + 1).astype(float)  # the area itself and its neighbours
    expected_variance = size * (n - size)
    expected_variance /= n - 1
    expected_variance *= 1 / n**2
    expected_variance *= variance / (mean**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((statistic - size / n) / np.sqrt(expected_variance))


@functools.lru_cache(maxsize=8)
def draws(n: int, width: int, permutations: int, seed: int) -> np.ndarray:
    """(permutations, width) ids into the n - 1 other areas, without replacement within a
    permutation: esda's `vec_permutations` for the same seed. Kept (read-only): every
    time slice and every call on the same grid uses the same draws (~0.1 s for 999
    permutations of 5,600 hexagons)."""
    state = np.random.RandomState(seed)
    out = np.empty((permutations, width), dtype=np.int64)
    for k in range(permutations):
        out[k] = state.choice(n - 1, size=width, replace=False)
    out.flags.writeable = False
    return out


def prepare(weights: Weights, permutations: int, seed: int) -> None:
    """Do ahead what `permutation_p` on `weights` needs besides the counts: the draws
    (kept by `draws`) and scipy's normal tail (~0.2 s to import the first time). A sync
    calls it while its pages download, so that the Gi* runs after its write do not."""
    from scipy.special import ndtr  # noqa: F401

    draws(len(weights.keys), int(weights.neighbours.shape[1]), permutations, seed)


def random_sums(y: np.ndarray, weights: Weights, ids: np.ndarray) -> np.ndarray:
    """(n, permutations): each area's neighbours' values under each permutation's draws
    (only the first `cards[i]` draws count for area i; islands get 0)."""
    sums = np.zeros((len(y), ids.shape[0]))
    for areas, base, reach, step in _groups(y, weights, ids):
        sums[areas] = (base[:, None] + _steps(reach, step, len(areas))).T
    return sums


def random_moments(y: np.ndarray, weights: Weights, ids: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per area, the sum over permutations of its random sums and of their squares, without
    the (n, permutations) sums themselves. In a group of areas with as many neighbours, a
    permutation's random sum only changes at the positions its draws reach (`_steps`), so
    both sums come from the changes at those positions, summed from the top down: work
    in permutations x neighbours, not permutations x areas (5,600 hexagons at 999
    permutations: 3 ms, was 47 ms). With counts every term is an integer, so the sums
    are those of the random sums to the last bit."""
    first, second = np.zeros(len(y)), np.zeros(len(y))
    for areas, base, reach, step in _groups(y, weights, ids):
        # Each permutation's draws from the farthest reaching down: after the first i of
        # them, its sum is that of the areas they reach and the next draw does not.
        order = np.argsort(-reach, axis=1, kind="stable")
        reach = np.take_along_axis(reach, order, axis=1)
        after = base[:, None] + np.cumsum(np.take_along_axis(step, order, axis=1), axis=1)
        before = np.column_stack([base, after[:, :-1]])
        first[areas] = base.sum() + _reaching(reach, after - before, len(areas))
        second[areas] = (base**2).sum() + _reaching(reach, after**2 - before**2, len(areas))
    return first, second


def _reaching(reach: np.ndarray, change: np.ndarray, m: int) -> np.ndarray:
    """(m,): at each of the group's positions 0 .. m - 1, the sum of the `change`s of the
    draws that reach it (reach > position)."""
    at = np.bincount(reach.ravel(), weights=change.ravel(), minlength=m + 1)
    return np.cumsum(at[::-1])[::-1][1:]


def _groups(
    y: np.ndarray, weights: Weights, ids: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """For each group of areas with as many neighbours (`size`): the areas (ascending
    positions); each permutation's random sum for an area at or above all its draws
    (`base`, (permutations,)); how many of the areas each of its first `size` draws
    reaches and what it adds to their sums (`reach`, `step`: (permutations, size))."""
    y = np.asarray(y, dtype=float)
    below = y[ids]  # the value of id j for an area i > j
    step = y[ids + 1] - below  # what changes for an area i <= j (area i itself is skipped)
    for size in np.unique(weights.cards[weights.cards > 0]).tolist():
        areas = np.flatnonzero(weights.cards == size)  # ascending positions
        reach = np.searchsorted(areas, ids[:, :size], side="right")
        yield areas, below[:, :size].sum(axis=1), reach, step[:, :size]


def _steps(reach: np.ndarray, step: np.ndarray, m: int) -> np.ndarray:
    """(permutations, m): for each of a group's m areas, the steps of the draws that reach
    it. A draw j reaches the areas at positions <= j: the first `searchsorted(areas, j,
    'right')` of them, so its step is put at that count and the counts are summed from
    the top down."""
    permutations = reach.shape[0]
    flat = (np.arange(permutations)[:, None] * (m + 1) + reach).ravel()
    at = np.bincount(flat, weights=step.ravel(), minlength=permutations * (m + 1))
    at = at.reshape(permutations, m + 1)[:, :0:-1]  # counts m .. 1
    return np.cumsum(at, axis=1)[:, ::-1]


def permutation_p(
    y: np.ndarray, weights: Weights, permutations: int, seed: int, ids: np.ndarray | None = None
) -> np.ndarray:
    """Two-sided p of each area's Gi* against its conditional permutations: the observed
    statistic standardised by the permuted ones (esda's `z_sim`), normal tails; 1 where
    that is undefined (islands, no variation). `ids`: other draws than `draws(...)`.

    With s the neighbours' observed sum and S_p its permuted ones (P of them), esda's
    (G - mean G_p) / std G_p is (P s - sum S_p) / sqrt(P sum S_p^2 - (sum S_p)^2): y_i
    and the total cancel, and with counts every term is an exact integer (esda's own
    mean and standard deviation round; the two agree to ~1e-15)."""
    from scipy.special import ndtr  # scipy.stats.norm.sf(x) is ndtr(-x)

    y = np.asarray(y, dtype=float)
    if ids is None:
        ids = draws(len(y), int(weights.neighbours.shape[1]), permutations, seed)
    first, second = random_moments(y, weights, ids)
    count = ids.shape[0]
    spread = np.sqrt(np.maximum(count * second - first**2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z_sim = (count * (local_sums(y, weights) - y) - first) / spread
    z_sim[weights.cards == 0] = np.nan
    one_sided = ndtr(-np.abs(z_sim))
    return np.asarray(np.minimum(1.0, 2 * np.nan_to_num(one_sided, nan=0.5)))
