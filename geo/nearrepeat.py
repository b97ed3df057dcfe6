"""Near repeats: the retaliation-risk window after each shooting, and the Knox test.

Distances are computed in EPSG:26916 (NAD83 / UTM zone 16N, metres), the
projection that covers Chicago, never in degrees. Inputs are incidents (one
row per case number) with `occurred_at` in Chicago local time.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

PROJECTED_CRS = "EPSG:26916"
SEED = 20_210_101
DISTANCE_BANDS_M = (100, 200, 400, 800)
TIME_BANDS_DAYS = (7, 14, 28, 56)


def project(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """(n, 2) metres in EPSG:26916 from WGS84 lon/lat."""
    from pyproj import Transformer

    to_metres = Transformer.from_crs("EPSG:4326", PROJECTED_CRS, always_xy=True)
    x, y = to_metres.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.column_stack([x, y])


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
    pool = pool.reset_index(drop=True)
    tree = cKDTree(project(pool["longitude"], pool["latitude"]))
    near = tree.query_ball_point(project(events["longitude"], events["latitude"]), r=radius_m)
    times = pool["occurred_at"].to_numpy()
    cases = pool["case_number"].to_numpy()
    window = np.timedelta64(window_days, "D")
    limit = np.datetime64(until) if until is not None else None
    counts = []
    for start, case, hits in zip(
        events["occurred_at"].to_numpy(), events["case_number"].to_numpy(), near, strict=True
    ):
        stop = start + window if limit is None else min(start + window, limit)
        index = np.asarray(hits, dtype=int)
        counts.append(
            int(np.sum((times[index] > start) & (times[index] <= stop) & (cases[index] != case)))
        )
    return counts


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
    pairs = np.array(sorted(cKDTree(xy).query_pairs(max(distance_bands_m))), dtype=int)
    days = (
        events["occurred_at"] - pd.Timestamp("2000-01-01")
    ).dt.total_seconds().to_numpy() / 86_400
    d_edges = np.r_[0.0, distance_bands_m]
    t_edges = np.r_[0.0, time_bands_days]
    if len(pairs) == 0:
        pairs = np.zeros((0, 2), dtype=int)
    distance_bin = np.digitize(
        np.linalg.norm(xy[pairs[:, 0]] - xy[pairs[:, 1]], axis=1), d_edges[1:], right=True
    )

    def table(times: np.ndarray) -> np.ndarray:
        gap = np.abs(times[pairs[:, 0]] - times[pairs[:, 1]])
        time_bin = np.digitize(gap, t_edges[1:], right=True)
        keep = (distance_bin < len(distance_bands_m)) & (time_bin < len(time_bands_days))
        counts = np.zeros((len(distance_bands_m), len(time_bands_days)), dtype=np.int64)
        np.add.at(counts, (distance_bin[keep], time_bin[keep]), 1)
        return counts

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
