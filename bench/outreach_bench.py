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
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import median_seconds, sync_real_store
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
        post_sync_step(store)
        window_figures(store, args.repeat)


def built_grid(store: Store, level: str) -> outreach.Grid:
    """The grid from the boundaries, as the sync builds it (not the stored one)."""
    with store.read() as con:
        keys, neighbours = outreach.build_grid(con, level)
    grid = outreach.Grid(level, keys, neighbours)
    assert grid.weights is not None  # built now, inside the timing
    return grid


def level_figures(store: Store, level: str, repeat: int) -> None:
    name = NAMES[level]
    seconds, grid = median_seconds(lambda: built_grid(store, level), repeat)
    print(f"{name}: grid of {len(grid.keys):,} areas with neighbours and weights: {seconds:.2f} s")
    excluding, table = median_seconds(
        lambda: outreach.hotspot_table(store, level, START, END, grid=grid), repeat
    )
    including, _ = median_seconds(
        lambda: outreach.hotspot_table(store, level, START, END, grid=built_grid(store, level)),
        repeat,
    )
    significant = int((table["class"] != "not significant").sum())
    print(
        f"{name}: Gi* hot spots for 2022, 999 permutations ({significant} significant): "
        f"{including:.2f} s including the grid, {excluding:.2f} s excluding it"
    )
    with store.reader() as q:
        latest = q.latest_date()
    permutations = outreach.EMERGING_PERMUTATIONS[level]
    cold, _ = median_seconds(
        lambda: outreach.emerging_table(
            store, level, latest, permutations=permutations, grid=built_grid(store, level)
        ),
        1,
    )
    cached, _ = median_seconds(
        lambda: outreach.emerging_table(store, level, latest, permutations=permutations, grid=grid),
        1,
    )

    def stored() -> object:
        with store.read() as con:
            return outreach.stored_emerging(con, level, latest)

    warm, found = median_seconds(stored, repeat)
    assert found is not None, "the sync stored no emerging hot spots"
    start = latest - timedelta(days=outreach.HOTSPOT_DAYS - 1)

    def stored_hot() -> object:
        with store.read() as con:
            return outreach.stored_hotspots(con, level, start, latest)

    hot_warm, hot_found = median_seconds(stored_hot, repeat)
    assert hot_found is not None, "the sync stored no hot spots"
    print(f"{name}: hot spots of the default window {start}..{latest}, warm (stored at "
          f"sync): {hot_warm * 1000:.0f} ms")  # fmt: skip
    print(
        f"{name}: emerging hot spots to {latest} ({permutations} permutations): cold "
        f"{cold:.2f} s including the grid, {cached:.2f} s excluding it; warm (stored at "
        f"sync) {warm * 1000:.0f} ms"
    )


def post_sync_step(store: Store) -> None:
    with store.write() as con:
        started = time.perf_counter()
        rows = outreach.store_outreach_tables(con, store)
        seconds = time.perf_counter() - started
    print(f"post-sync step (grids, hot spots, emerging hot spots on both levels, {rows:,} rows): "
          f"{seconds:.2f} s")  # fmt: skip


def window_figures(store: Store, repeat: int) -> None:
    victims = outreach.shootings(store, START, END)
    events = nearrepeat.incidents(victims)
    seconds, counts = median_seconds(
        lambda: nearrepeat.count_followups(events, events, 400, 14), repeat
    )
    print(
        f"windows for a year ({len(events):,} incidents, each one's follow-ups within "
        f"400 m in 14 days; {sum(c > 0 for c in counts):,} had one): {seconds:.2f} s "
        "(target <= 1 s)"
    )
    seconds, _ = median_seconds(lambda: nearrepeat.open_windows(events, END), repeat)
    print(f"open windows on one date: {seconds:.3f} s")
    seconds, _ = median_seconds(lambda: nearrepeat.knox_test(events), 1)
    print(f"Knox test for a year, 999 date permutations: {seconds:.2f} s")


if __name__ == "__main__":
    main()
