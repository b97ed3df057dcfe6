"""Hot spots that are statistically real: Getis-Ord Gi* with conditional permutations.

`gi_star(counts, neighbours)` wraps `esda.G_Local(star=True)` on binary
weights: each area's sum over itself and its neighbours against the city's
mean, with 999 conditional permutations from a fixed seed so results repeat.
z is the Gi* z-score (Ord and Getis, as ArcGIS reports it); p comes from the
conditional permutations: the observed statistic standardised by the permuted
ones (esda's `z_sim`), two-sided normal tail. A raw pseudo p-value cannot go below
1 / (permutations + 1), which after a false-discovery correction over
thousands of hexagons could never be significant; the permutation z keeps the
conditional-permutation reference without that floor. Benjamini-Hochberg then
controls the false discovery rate over all areas, and classes follow the
FDR-adjusted p: hot/cold at 99, 95, 90 %.

esda sets `w.transform` on the weights object it is given, so each call builds
its own from the plain neighbour lists, unless the caller hands in one made by
`binary_weights` for this purpose only (emerging hot spots reuse one across
time slices: the transform is always "B", so the mutation is harmless there).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import shapely

SEED = 20_201_129  # fixed, so the same data always gives the same classes
PERMUTATIONS = 999
NOT_SIGNIFICANT = "not significant"
LEVELS = ((0.01, "99"), (0.05, "95"), (0.10, "90"))
CLASSES = (
    [f"hot {c} %" for _, c in LEVELS]
    + [NOT_SIGNIFICANT]
    + [f"cold {c} %" for _, c in reversed(LEVELS)]
)


def touching_neighbours(
    keys: Sequence[str], geometries: np.ndarray, tolerance_deg: float = 1e-5
) -> dict[str, list[str]]:
    """Queen contiguity: areas sharing at least a point (within ~1 m, for slivers)."""
    tree = shapely.STRtree(geometries)
    left, right = tree.query(shapely.buffer(geometries, tolerance_deg), predicate="intersects")
    neighbours: dict[str, list[str]] = {str(k): [] for k in keys}
    for i, j in zip(left, right, strict=True):
        if i != j:
            neighbours[str(keys[i])].append(str(keys[j]))
    return {k: sorted(set(v)) for k, v in neighbours.items()}


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """FDR-adjusted p-values (step-up, monotone, capped at 1)."""
    p = np.asarray(p_values, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    scaled = p[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def significance_class(z: float, p_fdr: float) -> str:
    for cut, label in LEVELS:
        if p_fdr < cut:
            return f"{'hot' if z > 0 else 'cold'} {label} %"
    return NOT_SIGNIFICANT


def binary_weights(keys: Sequence[str], neighbours: Mapping[str, Sequence[str]]) -> object:
    """A libpysal W over `keys` (in that order) from neighbour lists."""
    import libpysal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands
        return libpysal.weights.W(
            {k: list(neighbours.get(k, [])) for k in keys},
            id_order=list(keys),
            silence_warnings=True,
        )


def gi_star(
    counts: pd.Series,
    neighbours: Mapping[str, Sequence[str]],
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
    weights: object | None = None,
) -> pd.DataFrame:
    """Gi* per area: columns area, count, z, p, p_fdr, class (index order of `counts`).

    `counts` is indexed by area key and must cover every key of `neighbours`
    (zeros included: leaving out quiet areas would bias every z-score).
    """
    import esda

    missing = set(neighbours) - set(counts.index)
    if missing:
        raise ValueError(
            f"counts lack {len(missing)} areas of the weights, e.g. {sorted(missing)[:3]}"
        )
    keys = [str(k) for k in counts.index]
    y = counts.to_numpy(dtype=float)
    if len(keys) < 3 or y.sum() == 0:
        return _result(keys, y, np.zeros(len(y)), np.ones(len(y)))
    w = weights if weights is not None else binary_weights(keys, neighbours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # esda's own deprecation chatter
        g = esda.G_Local(
            y, w, transform="B", permutations=permutations, star=True, seed=seed, n_jobs=1
        )
    z = np.nan_to_num(np.asarray(g.Zs, dtype=float))
    p = np.minimum(1.0, 2 * np.nan_to_num(np.asarray(g.p_z_sim, dtype=float), nan=0.5))
    return _result(keys, y, z, p)


def _result(keys: list[str], y: np.ndarray, z: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    p_fdr = benjamini_hochberg(p)
    return pd.DataFrame(
        {
            "area": keys,
            "count": y.astype("int64"),
            "z": z.round(3),
            "p": p.round(4),
            "p_fdr": p_fdr.round(4),
            "class": [significance_class(a, b) for a, b in zip(z, p_fdr, strict=True)],
        }
    )
