"""Hot spots that are statistically real: Getis-Ord Gi* with conditional permutations.

`gi_star(counts, neighbours)` wraps `esda.G_Local(star=True)` on binary
weights: each area's sum over itself and its neighbours against the city's
mean, with 999 conditional permutations from a fixed seed so results repeat.
z is the Gi* z-score (Ord and Getis, as ArcGIS reports it); p comes from the
conditional permutations: the observed statistic standardised by the permuted
ones (esda's `z_sim`), two-sided normal tail. A raw pseudo p-value cannot go below
1 / (permutations + 1), which after a false-discovery correction over
thousands of hexagons could never be significant; the permutation z keeps the
conditional-permutation reference without that floor. Benjamini-Hochberg
(`scipy.stats.false_discovery_control`) then controls the false discovery rate
over all areas, and classes follow the FDR-adjusted p: hot/cold at 99, 95, 90 %.

Weights are a libpysal `Graph`, which is immutable: esda transforms a copy, so
one graph can serve every call (emerging hot spots reuse one across time slices).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from libpysal.graph import Graph

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
    each other (~1 m, for slivers): libpysal's fuzzy contiguity, each area buffered by
    half the tolerance. Geometries in EPSG:4326, tolerance in degrees."""
    import geopandas
    from libpysal.graph import Graph

    names = [str(k) for k in keys]
    graph = Graph.build_fuzzy_contiguity(
        geopandas.GeoSeries(geometries, index=names), buffer=tolerance_deg / 2
    )
    return {k: sorted(graph.neighbors[k]) for k in names}


def significance_class(z: float, p_fdr: float) -> str:
    for cut, label in LEVELS:
        if p_fdr < cut:
            return f"{'hot' if z > 0 else 'cold'} {label} %"
    return NOT_SIGNIFICANT


def binary_weights(keys: Sequence[str], neighbours: Mapping[str, Sequence[str]]) -> Graph:
    """A libpysal Graph over `keys` (in that order) from neighbour lists; no neighbours
    makes an island."""
    from libpysal.graph import Graph

    return Graph.from_dicts({k: list(neighbours.get(k, [])) for k in keys})


def gi_star(
    counts: pd.Series,
    neighbours: Mapping[str, Sequence[str]],
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
    weights: Graph | None = None,
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
    from scipy.stats import false_discovery_control

    p_fdr = false_discovery_control(p, method="bh") if len(p) else p
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
