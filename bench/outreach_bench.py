"""Benchmark: hot spots, hexagon grid and retaliation windows on the real snapshot.

    python -m bench.outreach_bench [--repeat 3]

Figures (a store synced from ../shared/data/chicago; the year 2022, citywide):
- Gi* on the 274 beats with 999 permutations (target <= 2 s);
- the hexagon grid for a year: cover the city with ~5,600 H3 cells, place the
  year's shootings, Gi* with 999 permutations (target <= 10 s);
- windows for a year: every 2022 shooting's follow-ups within 400 m in the
  14 days after (target <= 1 s); and the Knox test with 999 permutations.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path

from bench.common import median_seconds, sync_real_store
from geo import hotspots, nearrepeat
from pipeline import outreach
from pipeline.store import Store

START, END = date(2022, 1, 1), date(2022, 12, 31)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        sync_real_store(data)
        store = Store(data / "store.duckdb")
        victims = outreach.shootings(store, START, END)
        keys, neighbours = outreach.grid(store, "beat")
        counts = outreach.area_of(victims, "beat").value_counts().reindex(keys, fill_value=0)
        seconds, table = median_seconds(lambda: hotspots.gi_star(counts, neighbours), args.repeat)
        print(
            f"Gi* on {len(keys)} beats, 999 permutations: {seconds:.2f} s "
            f"({(table['class'] != hotspots.NOT_SIGNIFICANT).sum()} significant; "
            "target <= 2 s)"
        )
        seconds, table = median_seconds(
            lambda: outreach.hotspot_table(store, "hex", START, END), args.repeat
        )
        print(
            f"hexagon grid for 2022 ({len(table):,} cells, {len(victims):,} shootings), "
            f"grid + placement + Gi*: {seconds:.2f} s (target <= 10 s)"
        )
        events = nearrepeat.incidents(victims)
        seconds, counts = median_seconds(
            lambda: nearrepeat.count_followups(events, events, 400, 14), args.repeat
        )
        print(
            f"windows for a year ({len(events):,} incidents, each one's follow-ups within "
            f"400 m in 14 days; {sum(c > 0 for c in counts):,} had one): {seconds:.2f} s "
            "(target <= 1 s)"
        )
        seconds, _ = median_seconds(lambda: nearrepeat.open_windows(events, END), args.repeat)
        print(f"open windows on one date: {seconds:.3f} s")
        seconds, _ = median_seconds(lambda: nearrepeat.knox_test(events), 1)
        print(f"Knox test for a year, 999 date permutations: {seconds:.2f} s")


if __name__ == "__main__":
    main()
