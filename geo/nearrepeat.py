"""Near repeats: the retaliation-risk window after each shooting, and the Knox test.

Distances are computed in EPSG:26916 (NAD83 / UTM zone 16N, metres), the
projection that covers Chicago, never in degrees. Inputs are incidents (one
row per case number) with `occurred_at` in Chicago local time.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from pyproj import Transformer

PROJECTED_CRS = "EPSG:26916"
SEED = 20_210_101
DISTANCE_BANDS_M = (100, 200, 400, 800)
TIME_BANDS_DAYS = (7, 14, 28, 56)


def project(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """(n, 2) metres in EPSG:26916 from WGS84 lon/lat."""
    x, y = _to_metres().transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.column_stack([x, y])


@functools.cache
def _to_metres() -> Transformer:
    """Built once (~50 ms: pyproj reads its database)."""
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", PROJECTED_CRS, always_xy=True)


def pairs_within(a: np.ndarray, b: np.ndarray, metres: float) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) of every point a[i] within `metres` of b[j] (projected (n, 2) arrays): one
    shapely tree query (shapely is loaded anyway; scipy's k-d tree took 0.4 s to import
    on a page's first run). Points with a missing coordinate match nothing."""
    tree = shapely.STRtree(shapely.points(b))
    i, j = tree.query(shapely.points(a), predicate="dwithin", distance=metres)
    return i, j


def incidents(victims: pd.DataFrame) -> pd.DataFrame:
    """One row per case number: first time, its victim's place, victims and deaths counted."""
    ordered = victims.sort_values(["occurred_at", "unique_id"])
    grouped = ordered.groupby("case_number", sort=False, observed=True)
    table = grouped.agg(
        occurred_at=("occurred_at", "first"),
        latitude=("latitude", "first"),
        longitude=("longitude", "first"),
        block=("block", "first"),
        beat=("beat", "first"),
        victims=("unique_id", "size"),
        killed=("fatal", "sum"),
    )
    table["block"] = table["block"].astype("string").fillna("(not published)")
    return table.reset_index().sort_values(["occurred_at", "case_number"], ignore_index=True)


def open_windows(
    events: pd.DataFrame, as_of: date, days: int = 14, radius_m: float = 400, window_days: int = 14
) -> pd.DataFrame:
    """Shootings of the last `days` days whose follow-up window is still open on `as_of`.

    The window of a shooting at time t is (t, t + window_days]; it is open while
    its end date is after `as_of`. `followups` counts other incidents within
    `radius_m` metres inside the window up to the end of `as_of`.
    """
    if days < 1 or window_days < 1 or radius_m <= 0:
        raise ValueError(
            f"days, window_days and radius_m must be positive; got {days}, "
            f"{window_days}, {radius_m}"
        )
    end_of_day = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    recent = events[
        (events["occurred_at"] >= pd.Timestamp(as_of - timedelta(days=days - 1)))
        & (events["occurred_at"] < end_of_day)
    ]
    window_end = recent["occurred_at"] + pd.Timedelta(days=window_days)
    recent = recent[window_end.dt.normalize() > pd.Timestamp(as_of)]
    columns = [
        "case_number",
        "occurred_at",
        "block",
        "beat",
        "victims",
        "killed",
        "window_end",
        "days_left",
        "followups",
        "latitude",
        "longitude",
    ]
    if recent.empty:
        return pd.DataFrame(columns=columns)
    pool = events[
        (events["occurred_at"] >= recent["occurred_at"].min())
        & (events["occurred_at"] < end_of_day)
    ]
    followups = count_followups(recent, pool, radius_m, window_days, until=end_of_day)
    out = recent.assign(
        window_end=(recent["occurred_at"] + pd.Timedelta(days=window_days)).dt.date,
        followups=followups,
    )
    out["days_left"] = [(end - as_of).days for end in out["window_end"]]
    return out[columns].sort_values("occurred_at", ascending=False, ignore_index=True)


def count_followups(
    events: pd.DataFrame,
    pool: pd.DataFrame,
    radius_m: float = 400,
    window_days: int = 14,
    until: pd.Timestamp | None = None,
) -> list[int]:
    """For each incident in `events`: other incidents of `pool` within `radius_m` metres in
    the `window_days` after it (and before `until`, if given)."""
    event, other = pairs_within(
        project(events["longitude"], events["latitude"]),
        project(pool["longitude"], pool["latitude"]),
        radius_m,
    )
    start = events["occurred_at"].to_numpy()[event]
    stop = start + np.timedelta64(window_days, "D")
    if until is not None:
        stop = np.minimum(stop, np.datetime64(until))
    when = pool["occurred_at"].to_numpy()[other]
    follows = (
        (when > start)
        & (when <= stop)
        & (pool["case_number"].to_numpy()[other] != events["case_number"].to_numpy()[event])
    )
    return np.bincount(event[follows], minlength=len(events)).tolist()


def knox_test(
    events: pd.DataFrame,
    distance_bands_m: tuple[float, ...] = DISTANCE_BANDS_M,
    time_bands_days: tuple[float, ...] = TIME_BANDS_DAYS,
    permutations: int = 999,
    seed: int = SEED,
) -> pd.DataFrame:
    """Pairs of incidents close in space and time, against date-shuffled expectations.

    For each distance band x time band: observed pairs, the mean over
    `permutations` random reassignments of dates to places (seeded), their
    ratio, and the one-sided Monte Carlo p-value (1 + at least as many) / (1 + n).
    """
    xy = project(events["longitude"], events["latitude"])
    first, second = pairs_within(xy, xy, max(distance_bands_m))
    pairs = np.column_stack([first, second])[first < second]  # each pair once
    days = (
        events["occurred_at"] - pd.Timestamp("2000-01-01")
    ).dt.total_seconds().to_numpy() / 86_400
    d_edges = np.r_[0.0, distance_bands_m]
    t_edges = np.r_[0.0, time_bands_days]
    distance_bin = np.digitize(
        np.linalg.norm(xy[pairs[:, 0]] - xy[pairs[:, 1]], axis=1), d_edges[1:], right=True
    )

    def table(times: np.ndarray) -> np.ndarray:
        gap = np.abs(times[pairs[:, 0]] - times[pairs[:, 1]])
        time_bin = np.digitize(gap, t_edges[1:], right=True)
        keep = (distance_bin < len(distance_bands_m)) & (time_bin < len(time_bands_days))
        cells = distance_bin[keep] * len(time_bands_days) + time_bin[keep]
        counts = np.bincount(cells, minlength=len(distance_bands_m) * len(time_bands_days))
        return counts.reshape(len(distance_bands_m), len(time_bands_days))

    observed = table(days)
    rng = np.random.default_rng(seed)
    simulated = np.stack([table(rng.permutation(days)) for _ in range(permutations)])
    expected = simulated.mean(axis=0)
    p = (1 + (simulated >= observed).sum(axis=0)) / (1 + permutations)
    rows = []
    for i in range(len(distance_bands_m)):
        for j in range(len(time_bands_days)):
            rows.append(
                {
                    "distance_m": f"{d_edges[i]:.0f}-{d_edges[i + 1]:.0f}",
                    "days": f"{t_edges[j]:.0f}-{t_edges[j + 1]:.0f}",
                    "observed": int(observed[i, j]),
                    "expected": round(float(expected[i, j]), 1),
                    "ratio": round(float(observed[i, j] / expected[i, j]), 2)
                    if expected[i, j]
                    else None,
                    "p": round(float(p[i, j]), 4),
                }
            )
    return pd.DataFrame(rows)
