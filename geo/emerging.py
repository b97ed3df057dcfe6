"""Emerging hot spots: Gi* per time slice and a Mann-Kendall trend of each area's z-scores.

Modelled on ArcGIS's Emerging Hot Spot Analysis. With n slices (months), an
area is "hot" in a slice when its Gi* class there is hot at 90 % or more
(FDR-corrected). The rules, checked in this order:

- new: hot in the final slice and never before.
- consecutive: hot in an unbroken run of at least two slices ending with the
  final one, never hot before the run, and hot in under 90 % of slices.
- intensifying / persistent / diminishing: hot in at least 90 % of slices,
  the final one included; the Mann-Kendall trend of its z-scores is
  significantly up (p < 0.05), absent, or significantly down.
- sporadic: hot in the final slice, hot in under 90 % of slices, on and off.
- historical: not hot in the final slice, but hot in at least 90 % of the others.
- no pattern: none of the above.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from geo import gistar
from geo.hotspots import PERMUTATIONS, SEED, binary_weights, gi_star

SHARE = 0.9
TREND_ALPHA = 0.05
CATEGORIES = [
    "new",
    "consecutive",
    "intensifying",
    "persistent",
    "diminishing",
    "sporadic",
    "historical",
    "no pattern",
]


def mann_kendall(values: Sequence[float]) -> tuple[float, float]:
    """(z, two-sided p) of the Mann-Kendall trend test, with the tie correction."""
    z, p = mann_kendall_rows(np.asarray([values], dtype=float))
    return float(z[0]), float(p[0])


def mann_kendall_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(z, two-sided p) of the Mann-Kendall test of each row of `x` (areas x slices), all
    rows at once (5,600 hexagons one by one took 2.5 s)."""
    rows, n = x.shape
    if n < 3:
        return np.zeros(rows), np.ones(rows)
    later, earlier = np.triu_indices(n, 1)[::-1]
    s = np.sign(x[:, later] - x[:, earlier]).sum(axis=1)
    # Each value's tie group size t, counted once per member: sum t (t-1)(2t+5) per group.
    tied = (x[:, :, None] == x[:, None, :]).sum(axis=2)
    ties = ((tied - 1) * (2 * tied + 5)).sum(axis=1)
    variance = (n * (n - 1) * (2 * n + 5) - ties.astype(float)) / 18
    defined = (variance > 0) & (s != 0)
    z = np.zeros(rows)
    z[defined] = (s[defined] - np.sign(s[defined])) / np.sqrt(variance[defined])
    p = np.array([math.erfc(abs(v) / math.sqrt(2)) for v in z])
    p[~defined] = 1.0
    return z, p


def categorize(hot: Sequence[bool], z_scores: Sequence[float]) -> tuple[str, float, float]:
    """(category, trend z, trend p) for one area's per-slice hot flags and z-scores."""
    trend_z, trend_p = mann_kendall(z_scores)
    flags = np.asarray([list(map(bool, hot))], dtype=bool).reshape(1, -1)
    category = categorize_rows(flags, np.array([trend_z]), np.array([trend_p]))[0]
    return str(category), trend_z, trend_p


def categorize_rows(hot: np.ndarray, trend_z: np.ndarray, trend_p: np.ndarray) -> np.ndarray:
    """The category of each row of `hot` (areas x slices, oldest first), by the rules of
    the module's docstring in their order."""
    rows, n = hot.shape
    if n == 0:
        return np.full(rows, CATEGORIES[-1], dtype=object)
    count, final = hot.sum(axis=1), hot[:, -1]
    share = count / n
    last_cold = np.where(~hot, np.arange(n), -1).max(axis=1)
    run = n - 1 - last_cold  # the unbroken hot run that ends with the final slice
    steady = final & (share >= SHARE)
    trending = steady & (trend_p < TREND_ALPHA)
    earlier = hot[:, :-1].sum(axis=1) / (n - 1) if n > 1 else np.zeros(rows)
    rules = [
        final & (count == 1),
        final & (run >= 2) & (count == run) & (share < SHARE),
        trending & (trend_z > 0),
        trending,
        steady,
        final,
        (n > 1) & (earlier >= SHARE),
    ]
    chosen = ["new", "consecutive", "intensifying", "diminishing", "persistent", "sporadic"]
    return np.select(rules, [*chosen, "historical"], default=CATEGORIES[-1]).astype(object)


def emerging_hotspots(
    counts: pd.DataFrame,
    neighbours: Mapping[str, Sequence[str]],
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
    weights: gistar.Weights | None = None,
) -> pd.DataFrame:
    """Category per area from `counts` (index: area keys, columns: slices in time order).
    `weights`: the Gi* weights over the same keys, when the caller keeps them built.

    Columns: area, category, hot_slices, slices, trend_z, trend_p, last_class.
    """
    keys = counts.index.astype(str).tolist()
    if weights is None:  # one for all slices
        weights = binary_weights(keys, neighbours)
    z = np.zeros(counts.shape)
    hot = np.zeros(counts.shape, dtype=bool)
    last = pd.Series("", index=keys)
    for j, slice_ in enumerate(counts.columns):
        result = gi_star(counts[slice_].set_axis(keys), neighbours, permutations, seed, weights)
        z[:, j] = result["z"].to_numpy()
        hot[:, j] = result["class"].str.startswith("hot").to_numpy(dtype=bool)
        last = result["class"]
    trend_z, trend_p = mann_kendall_rows(z)
    return pd.DataFrame(
        {
            "area": keys,
            "category": categorize_rows(hot, trend_z, trend_p),
            "hot_slices": hot.sum(axis=1).astype("int64"),
            "slices": len(counts.columns),
            "trend_z": trend_z.round(3),
            "trend_p": trend_p.round(4),
            "last_class": np.asarray(last, dtype=object),
        }
    )
