"""Benchmark: hot spots, emerging hot spots and retaliation windows on the real snapshot.

    python -m bench.outreach_bench [--repeat 3]

Figures (a store synced from ../shared/data/chicago), for beats and hexagons alike,
each given twice: including the grid (areas, neighbours, weights built from the
boundaries, as a cold page or the sync does) and excluding it (the grid the page keeps
per store version):
- Gi* hot spots for 2022, 999 permutations (target <= 2 s beats, <= 10 s hexagons);
- emerging hot spots, 12 slices of 30 days (hexagons: 199 permutations): cold
  (computed) and warm (the table the sync stored, which the page reads);
- hot spots of the page's default window (12 months to the latest day) as stored;
- the post-sync step that stores grids, hot spots and emerging hot spots;
- windows for a year (every 2022 shooting's follow-ups within 400 m in 14 days,
  target <= 1 s), open windows on one date, and the Knox test.
Each figure is the median wall time with the median CPU time beside it: on a shared
machine the CPU time is the steadier one.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from bench.common import sync_real_store
from geo import nearrepeat
from pipeline import outreach
from pipeline.store import Store

START, END = date(2022, 1, 1), date(2022, 12, 31)
NAMES = {"beat": "beats", "hex": "hexagons"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        sync_real_store(data)
        store = Store(data / "store.duckdb")
        for level in outreach.LEVELS:
            level_figures(store, level, args.repeat)
        post_sync_step(store, args.repeat)
        window_figures(store, args.repeat)


def built_grid(store: Store, level: str) -> outreach.Grid:
    """The grid from the boundaries, as the sync builds it (not the stored one)."""
    with store.read() as con:
        keys, neighbours = outreach.build_grid(con, level)
    grid = outreach.Grid(level, keys, neighbours)
    assert grid.weights is not None  # built now, inside the timing
    return grid


class Timing(NamedTuple):
    """Median wall and CPU seconds of repeated calls (on a shared machine the CPU time is
    the steadier figure), and the last result."""

    wall: float
    cpu: float
    result: Any

    def __str__(self) -> str:
        return f"{self.wall:.2f} s ({self.cpu:.2f} s CPU)"


def timed(work: Callable[[], Any], repeat: int) -> Timing:
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return Timing(statistics.median(walls), statistics.median(cpus), result)


def level_figures(store: Store, level: str, repeat: int) -> None:
    name = NAMES[level]
    grid_time = timed(lambda: built_grid(store, level), repeat)
    grid = grid_time.result
    print(f"{name}: grid of {len(grid.keys):,} areas with neighbours and weights: {grid_time}")
    excluding = timed(lambda: outreach.hotspot_table(store, level, START, END, grid=grid), repeat)
    including = timed(
        lambda: outreach.hotspot_table(store, level, START, END, grid=built_grid(store, level)),
        repeat,
    )
    significant = int((excluding.result["class"] != "not significant").sum())
    print(
        f"{name}: Gi* hot spots for 2022, 999 permutations ({significant} significant): "
        f"{including} including the grid, {excluding} excluding it"
    )
    with store.reader() as q:
        latest = q.latest_date()
    permutations = outreach.EMERGING_PERMUTATIONS[level]
    cold = timed(
        lambda: outreach.emerging_table(
            store, level, latest, permutations=permutations, grid=built_grid(store, level)
        ),
        repeat,
    )
    cached = timed(
        lambda: outreach.emerging_table(store, level, latest, permutations=permutations, grid=grid),
        repeat,
    )

    def stored() -> object:
        with store.read() as con:
            return outreach.stored_emerging(con, level, latest)

    warm = timed(stored, repeat)
    assert warm.result is not None, "the sync stored no emerging hot spots"
    start = latest - timedelta(days=outreach.HOTSPOT_DAYS - 1)

    def stored_hot() -> object:
        with store.read() as con:
            return outreach.stored_hotspots(con, level, start, latest)

    hot_warm = timed(stored_hot, repeat)
    assert hot_warm.result is not None, "the sync stored no hot spots"
    print(f"{name}: hot spots of the default window {start}..{latest}, warm (stored at "
          f"sync): {hot_warm}")  # fmt: skip
    print(
        f"{name}: emerging hot spots to {latest} ({permutations} permutations): cold "
        f"{cold} including the grid, {cached} excluding it; warm (stored at sync) {warm}"
    )


def post_sync_step(store: Store, repeat: int) -> None:
    def step() -> int:
        with store.write() as con:
            return outreach.store_outreach_tables(con, store)

    timing = timed(step, repeat)
    print(f"post-sync step (grids, hot spots, emerging hot spots on both levels, "
          f"{timing.result:,} rows): {timing}")  # fmt: skip


def window_figures(store: Store, repeat: int) -> None:
    victims = outreach.shootings(store, START, END)
    events = nearrepeat.incidents(victims)
    followups = timed(lambda: nearrepeat.count_followups(events, events, 400, 14), repeat)
    print(
        f"windows for a year ({len(events):,} incidents, each one's follow-ups within "
        f"400 m in 14 days; {sum(c > 0 for c in followups.result):,} had one): {followups} "
        "(target <= 1 s)"
    )
    print(
        f"open windows on one date: {timed(lambda: nearrepeat.open_windows(events, END), repeat)}"
    )
    knox = timed(lambda: nearrepeat.knox_test(events), 1)
    print(f"Knox test for a year, 999 date permutations: {knox}")
    page_knox = timed(lambda: nearrepeat.knox_test(events, permutations=199), repeat)
    print(f"Knox test for a year, 199 date permutations (the page, once opened): {page_knox}")


if __name__ == "__main__":
    main()
