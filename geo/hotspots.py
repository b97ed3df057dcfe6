"""Hot spots that are statistically real: Getis-Ord Gi* with conditional permutations.

`gi_star(counts, neighbours)` is `esda.G_Local(star=True)` on binary
weights (computed by `geo.gistar`, see below): each area's sum over itself and its
neighbours against the city's mean, with 999 conditional permutations from a fixed seed
so results repeat.
z is the Gi* z-score (Ord and Getis, as ArcGIS reports it); p comes from the
conditional permutations: the observed statistic standardised by the permuted
ones (esda's `z_sim`), two-sided normal tail. A raw pseudo p-value cannot go below
1 / (permutations + 1), which after a false-discovery correction over
thousands of hexagons could never be significant; the permutation z keeps the
conditional-permutation reference without that floor. Benjamini-Hochberg
(as `scipy.stats.false_discovery_control`) then controls the false discovery rate
over all areas, and classes follow the FDR-adjusted p: hot/cold at 99, 95, 90 %.

The statistic and permutations are esda's `G_Local(star=True)`, computed for all areas
at once by `geo.gistar` (same draws for the same seed, same numbers; esda loops over
areas in Python). Weights (`gistar.Weights`) are immutable, so one serves every call
(emerging hot spots reuse one across time slices).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from geo import gistar

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
    """Queen contiguity: areas sharing at least a point, or within `tolerance_deg` of
    each other (~1 m, for slivers), as libpysal's fuzzy contiguity finds them (the same
    lists on the 274 beats) from one shapely tree query, without loading libpysal.
    Geometries in EPSG:4326, tolerance in degrees."""
    import shapely

    names = [str(k) for k in keys]
    left, right = shapely.STRtree(geometries).query(
        geometries, predicate="dwithin", distance=tolerance_deg
    )
    found: dict[str, set[str]] = {k: set() for k in names}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a != b:
            found[names[a]].add(names[b])
    return {k: sorted(found[k]) for k in names}


def binary_weights(keys: Sequence[str], neighbours: Mapping[str, Sequence[str]]) -> gistar.Weights:
    """Gi* weights over `keys` (in that order) from neighbour lists; no neighbours makes
    an island."""
    return gistar.binary_weights(keys, neighbours)


def gi_star(
    counts: pd.Series,
    neighbours: Mapping[str, Sequence[str]],
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
    weights: gistar.Weights | None = None,
) -> pd.DataFrame:
    """Gi* per area: columns area, count, z, p, p_fdr, class (index order of `counts`).

    `counts` is indexed by area key and must cover every key of `neighbours`
    (zeros included: leaving out quiet areas would bias every z-score).
    """
    keys = counts.index.astype(str).tolist()
    missing = set(neighbours).difference(keys)
    if missing:
        raise ValueError(
            f"counts lack {len(missing)} areas of the weights, e.g. {sorted(missing)[:3]}"
        )
    y = counts.to_numpy(dtype=float)
    if len(keys) < 3 or y.sum() == 0:
        return _result(keys, y, np.zeros(len(y)), np.ones(len(y)))
    w = weights if weights is not None else binary_weights(keys, neighbours)
    if list(w.keys) != keys:
        raise ValueError(
            f"weights over {len(w.keys)} areas do not match the {len(keys)} areas of counts "
            "(same keys in the same order)"
        )
    z = np.nan_to_num(gistar.z_scores(y, w))
    p = gistar.permutation_p(y, w, permutations, seed) if permutations else np.ones(len(y))
    return _result(keys, y, z, p)


def _result(keys: list[str], y: np.ndarray, z: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    p_fdr = false_discovery_control(p)
    return pd.DataFrame(
        {
            "area": keys,
            "count": y.astype("int64"),
            "z": z.round(3),
            "p": p.round(4),
            "p_fdr": p_fdr.round(4),
            "class": significance_classes(z, p_fdr),
        }
    )


def false_discovery_control(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, exactly as `scipy.stats.false_discovery_control`
    (method "bh") computes them, without importing scipy.stats (~1 s, on a page's first
    computation)."""
    if len(p) <= 1:
        return p
    order = np.argsort(p)
    adjusted = p[order] * (len(p) / np.arange(1, len(p) + 1))
    adjusted = np.minimum.accumulate(adjusted[::-1])[::-1]  # step-up: the minimum above
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return np.clip(out, 0.0, 1.0)


def significance_classes(z: np.ndarray, p_fdr: np.ndarray) -> np.ndarray:
    """Each area's class: 'hot 99 %' ... 'cold 90 %' by the first of LEVELS its FDR-adjusted
    p is under, else not significant (all areas at once: thousands of hexagons, many slices)."""
    hot = z > 0
    rules, labels = [], []
    for cut, label in LEVELS:
        rules += [(p_fdr < cut) & hot, (p_fdr < cut) & ~hot]
        labels += [f"hot {label} %", f"cold {label} %"]
    return np.select(rules, labels, default=NOT_SIGNIFICANT).astype(object)
