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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from geo.hotspots import PERMUTATIONS, SEED, binary_weights, gi_star

if TYPE_CHECKING:
    from libpysal.graph import Graph

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
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 3:
        return 0.0, 1.0
    s = float(sum(np.sign(x[j] - x[i]) for i in range(n - 1) for j in range(i + 1, n)))
    _, ties = np.unique(x, return_counts=True)
    variance = (n * (n - 1) * (2 * n + 5) - float(np.sum(ties * (ties - 1) * (2 * ties + 5)))) / 18
    if variance <= 0 or s == 0:
        return 0.0, 1.0
    z = (s - math.copysign(1, s)) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2))


def categorize(hot: Sequence[bool], z_scores: Sequence[float]) -> tuple[str, float, float]:
    """(category, trend z, trend p) for one area's per-slice hot flags and z-scores."""
    flags = list(map(bool, hot))
    n, share = len(flags), sum(flags) / max(len(flags), 1)
    trend_z, trend_p = mann_kendall(z_scores)
    final = flags[-1] if flags else False
    if final and not any(flags[:-1]):
        return "new", trend_z, trend_p
    run = _final_run(flags)
    if final and run >= 2 and not any(flags[: n - run]) and share < SHARE:
        return "consecutive", trend_z, trend_p
    if final and share >= SHARE:
        if trend_p < TREND_ALPHA:
            return ("intensifying" if trend_z > 0 else "diminishing"), trend_z, trend_p
        return "persistent", trend_z, trend_p
    if final:
        return "sporadic", trend_z, trend_p
    if n > 1 and sum(flags[:-1]) / (n - 1) >= SHARE:
        return "historical", trend_z, trend_p
    return "no pattern", trend_z, trend_p


def _final_run(flags: list[bool]) -> int:
    run = 0
    for flag in reversed(flags):
        if not flag:
            break
        run += 1
    return run


def emerging_hotspots(
    counts: pd.DataFrame,
    neighbours: Mapping[str, Sequence[str]],
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
    weights: Graph | None = None,
) -> pd.DataFrame:
    """Category per area from `counts` (index: area keys, columns: slices in time order).
    `weights`: the Gi* weights over the same keys, when the caller keeps them built.

    Columns: area, category, hot_slices, slices, trend_z, trend_p, last_class.
    """
    z = pd.DataFrame(index=counts.index, dtype=float)
    hot = pd.DataFrame(index=counts.index, dtype=bool)
    last = pd.Series("", index=counts.index)
    if weights is None:  # one for all slices
        weights = binary_weights([str(k) for k in counts.index], neighbours)
    for slice_ in counts.columns:
        result = gi_star(counts[slice_], neighbours, permutations, seed, weights).set_index("area")
        z[slice_] = result["z"].reindex(counts.index.astype(str)).to_numpy()
        hot[slice_] = (
            result["class"].str.startswith("hot").reindex(counts.index.astype(str)).to_numpy()
        )
        last = result["class"].reindex(counts.index.astype(str)).set_axis(counts.index)
    rows = []
    for area in counts.index:
        category, trend_z, trend_p = categorize(hot.loc[area].tolist(), z.loc[area].tolist())
        rows.append(
            {
                "area": str(area),
                "category": category,
                "hot_slices": int(hot.loc[area].sum()),
                "slices": len(counts.columns),
                "trend_z": round(trend_z, 3),
                "trend_p": round(trend_p, 4),
                "last_class": last.loc[area],
            }
        )
    return pd.DataFrame(rows)
