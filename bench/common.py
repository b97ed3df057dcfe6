"""What the benchmarks share: the real snapshot's place, a store synced from it, timing."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.settings import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared" / "data" / "chicago"


def sync_real_store(data: Path, sample_only: bool = False) -> None:
    """`python -m pipeline sync` of the real snapshot (both victims files, or only the
    3,184-row API sample) into `data`."""
    victims = [SHARED / "victims_api_sample_2024_2026"]
    if not sample_only:
        victims.append(SHARED / "victims_reconstructed_2015_2022")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "sync",
            "--data-dir",
            str(data),
            "--victims",
            *map(str, victims),
            *(
                arg
                for layer, name in BOUNDARY_FILE_NAMES.items()
                for arg in (f"--{layer.replace('_', '-')}", str(SHARED / name))
            ),
        ],
        check=True,
        capture_output=True,
        cwd=PROJECT_ROOT,
    )


#: The boundary snapshot of each layer of the registry, as the README's command names them.
BOUNDARY_FILE_NAMES = {
    "beats": "police_beats_current.geojson",
    "districts": "police_districts_current.geojson",
    "community_areas": "community_areas.geojson",
    "zip_codes": "zip_codes_gdcf-axmw.geojson",
    "neighborhoods": "neighborhoods_bbvz-uum9.geojson",
}


def median_seconds(work: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of `repeat` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        clock = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - clock)
    return statistics.median(times), result
