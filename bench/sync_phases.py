"""Benchmark: wall and CPU time of each phase of one full sync, measured in-process.

    python -m bench.sync_phases --victims /tmp/synthetic/victims_1m.csv.gz --data-dir /tmp/x

Syncs FILE and the boundary files of ../shared/data/chicago/ (as bench/scale_bench.py
does) into a fresh store under --data-dir, then prints one line per phase of the sync
(`synclog.phase`) and of a few steps inside them (STEPS, wrapped here): wall seconds,
process CPU seconds (all threads, DuckDB's included) and the process's peak RSS so far
when it ends.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import resource
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.scale_bench import boundary_flags
from pipeline.settings import Settings
from pipeline.sync import SyncRequest, run_sync
from pipeline.synclog import Bar

#: (module, function) of the steps timed on their own, as they are looked up at run time.
STEPS = [
    ("pipeline.sync_victims", "_plan_write"),
    ("pipeline.places", "store_places"),
    ("pipeline.places", "rebuild_daily_counts"),
    ("pipeline.places", "refresh_map_breaks"),
    ("pipeline.sync", "store_outreach_tables"),
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class PhaseClock:
    """A `MakeBar` that records each bar's wall and CPU seconds, in opening order."""

    times: list[tuple[str, float, float, float]] = field(default_factory=list)

    def __call__(self, description: str, total: int | None) -> Bar:
        return _TimedBar(self, description)

    def wrap_steps(self) -> None:
        """Time each of STEPS as if it were a phase (indented: it runs inside one)."""
        for module_name, name in STEPS:
            module = importlib.import_module(module_name)
            setattr(module, name, self._timed(getattr(module, name), f"  {name}"))

    def _timed(self, function: Any, description: str) -> Any:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            bar = _TimedBar(self, description)
            try:
                return function(*args, **kwargs)
            finally:
                bar.close()

        return timed


class _TimedBar:
    def __init__(self, clock: PhaseClock, description: str):
        self.clock, self.description = clock, description
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        self.clock.times.append((self.description, wall, cpu, peak_rss_mb()))


def boundary_paths() -> dict[str, Path]:
    """The layer -> file map of `scale_bench.boundary_flags` (`--zip-codes PATH` ...)."""
    flags = boundary_flags()
    return {
        flag[2:].replace("-", "_"): Path(path)
        for flag, path in zip(flags[::2], flags[1::2], strict=True)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--victims", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    shutil.rmtree(args.data_dir, ignore_errors=True)
    settings = Settings.from_env(data_dir=args.data_dir)
    clock = PhaseClock()
    clock.wrap_steps()
    request = SyncRequest(full=True, victims=[args.victims], boundaries=boundary_paths())
    wall, cpu = time.perf_counter(), time.process_time()
    run_sync(settings, request, make_bar=clock)
    for description, seconds, cpu_seconds, peak in clock.times:
        print(f"{description:45s} {seconds:7.1f} s wall {cpu_seconds:7.1f} s CPU {peak:7,.0f} MB")
    peak_mb = peak_rss_mb()
    print(
        f"{'sync (whole)':45s} {time.perf_counter() - wall:7.1f} s wall "
        f"{time.process_time() - cpu:7.1f} s CPU, peak RSS {peak_mb:,.0f} MB"
    )


if __name__ == "__main__":
    main()
