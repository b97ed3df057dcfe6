"""Benchmark: one-page briefs on a store synced from the real snapshot.

    python -m bench.brief_bench [--repeat 3]

Figures: seconds per brief (gathering the numbers, drawing the map and the
page, writing the file) for a district, a beat and a community area, as PDF
and as PNG, in a warm process; and the whole `python -m pipeline brief`
command including Python start-up. Target (issue 6): <= 3 s per brief.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import median_seconds, sync_real_store
from pipeline.brief import make_brief
from pipeline.settings import PROJECT_ROOT
from pipeline.store import Store

AREAS = [("district", "17"), ("beat", "1713"), ("community_area", "ALBANY PARK")]
AS_OF = date(2020, 11, 29)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        sync_real_store(data)
        store = Store(data / "store.duckdb")
        make_brief(store, "district", "1", Path(tmp) / "warm.pdf", AS_OF)  # imports, fonts
        for by, key in AREAS:
            for suffix in (".pdf", ".png"):
                output = Path(tmp) / f"brief{suffix}"
                seconds, _ = median_seconds(
                    lambda: make_brief(store, by, key, output, AS_OF),  # noqa: B023 (run now)
                    args.repeat,
                )
                print(
                    f"brief {by} {key:<12} {suffix}: median {seconds:.2f} s "
                    f"over {args.repeat} (target <= 3 s)"
                )
        clock = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline",
                "brief",
                "--data-dir",
                str(data),
                "--district",
                "17",
                "--as-of",
                str(AS_OF),
                "-o",
                str(Path(tmp) / "cli.pdf"),
            ],
            check=True,
            capture_output=True,
            cwd=PROJECT_ROOT,
        )
        print(
            f"whole command `python -m pipeline brief --district 17`, start-up included: "
            f"{time.perf_counter() - clock:.2f} s"
        )


if __name__ == "__main__":
    main()
