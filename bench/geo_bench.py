"""Benchmark: point-in-polygon assignment and the `compare` command.

    python -m bench.geo_bench [--points 1000000] [--repeat 5]

Figures:
- assigning N random points inside the city's bounding box to the 274 current
  beats (geo.assign.assign_points; target for 1,000,000 points: <= 2 s);
- `python -m pipeline compare --district 17` on a store synced from the real
  snapshot, as a whole command, minus interpreter + import start-up (target
  <= 0.3 s), with the start-up quoted separately.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import SHARED, sync_real_store
from geo.assign import assign_points
from geo.layers import BoundaryLayer
from pipeline.boundaries import boundary_rows
from pipeline.config import LAYERS
from pipeline.settings import CHICAGO_BBOX, PROJECT_ROOT


def real_beats() -> BoundaryLayer:
    collection = json.loads((SHARED / "police_beats_current.geojson").read_text())
    rows = boundary_rows(LAYERS["beats"], collection, "bench")
    columns = rows[["key", "name", "geometry", "properties"]]
    return BoundaryLayer.from_rows("beats", list(columns.itertuples(index=False, name=None)))


def bench_assign(n: int, repeat: int) -> None:
    beats = real_beats()
    rng = np.random.default_rng(2026)
    min_lon, min_lat, max_lon, max_lat = CHICAGO_BBOX
    uniform = rng.uniform(min_lon, max_lon, n), rng.uniform(min_lat, max_lat, n)
    # Where shootings happen: real victim points resampled, jittered by ~200 m.
    real = pd.read_csv(
        SHARED / "victims_reconstructed_2015_2022" / "victims_2015_2022_api_shape.csv.gz",
        usecols=["latitude", "longitude"],
    ).to_numpy(float)
    picks = real[rng.integers(0, len(real), n)] + rng.normal(0, 0.002, (n, 2))
    for label, (lon, lat) in (
        ("uniform in the city's box", uniform),
        ("around real victim points", (picks[:, 1], picks[:, 0])),
    ):
        times = []
        for _ in range(repeat):
            clock = time.perf_counter()
            keys = assign_points(lon, lat, beats)
            times.append(time.perf_counter() - clock)
        inside = int(np.sum(keys != None))  # noqa: E711 (object array)
        print(
            f"assign {n:,} points ({label}) to {len(beats)} beats: median "
            f"{statistics.median(times):.2f} s, best {min(times):.2f} s over {repeat} runs "
            f"({inside:,} fall in a beat; target <= 2 s)"
        )


def command_seconds(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        clock = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, cwd=PROJECT_ROOT)
        times.append(time.perf_counter() - clock)
    return statistics.median(times)


def bench_compare(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        sync_real_store(data)
        startup = command_seconds([sys.executable, "-c", "import pipeline.cli"], repeat)
        whole = command_seconds(
            [
                sys.executable,
                "-m",
                "pipeline",
                "compare",
                "--district",
                "17",
                "--data-dir",
                str(data),
            ],
            repeat,
        )
        every = command_seconds(
            [sys.executable, "-m", "pipeline", "compare", "--all-beats", "--data-dir", str(data)],
            repeat,
        )
    print(f"start-up (python + imports):            {startup:.2f} s (median of {repeat})")
    print(
        f"compare --district 17, whole command:   {whole:.2f} s -> {whole - startup:.2f} s "
        "after start-up (target <= 0.3 s)"
    )
    print(
        f"compare --all-beats, whole command:     {every:.2f} s -> {every - startup:.2f} s "
        "after start-up"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bench_assign(args.points, args.repeat)
    bench_compare(args.repeat)


if __name__ == "__main__":
    main()
