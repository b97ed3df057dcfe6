"""Benchmark: one-page briefs, in a warm process and as the whole command.

    python -m bench.brief_bench [--repeat 3] [--data-dir DIR]

Without --data-dir, a store is synced from the real snapshot into a temp dir and
the briefs are as of 2020-11-29; with it, an existing store is read (never
written: e.g. the 8M-row store of `bench.scale_bench`) as of its latest day.

Figures: seconds per brief (gathering the numbers, drawing the map and the
page, writing the file) for a district, a beat and a community area, as PDF and
as PNG, in a warm process; District 17's PDF split into its phases (gather,
draw, save); and the whole `python -m pipeline brief --district 17` command
including Python start-up and imports, as wall time and as CPU time (user +
sys of the child: on a loaded machine wall time mostly measures the queue).
Target (issue 12, at 8M rows): <= 3 s for the whole command.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import median_seconds, sync_real_store
from pipeline import brief
from pipeline.brief import content, drawing
from pipeline.settings import PROJECT_ROOT
from pipeline.store import Store

AREAS = [("district", "17"), ("beat", "1713"), ("community_area", "ALBANY PARK")]
REAL_AS_OF = date(2020, 11, 29)
TARGET_S = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, help="an existing store to read (not written)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data, as_of = args.data_dir, None
        if data is None:
            data, as_of = Path(tmp) / "data", REAL_AS_OF
            sync_real_store(data)
        store = Store(data / "store.duckdb")
        brief.make_brief(store, "district", "17", Path(tmp) / "warm.pdf", as_of)  # imports
        warm_briefs(store, Path(tmp), as_of, args.repeat)
        phases(store, Path(tmp) / "phases.pdf", as_of, args.repeat)
        whole_command(data, Path(tmp) / "cli.pdf", as_of, args.repeat)


def warm_briefs(store: Store, tmp: Path, as_of: date | None, repeat: int) -> None:
    for by, key in AREAS:
        for suffix in (".pdf", ".png"):
            output = tmp / f"brief{suffix}"
            seconds, _ = median_seconds(
                lambda: brief.make_brief(store, by, key, output, as_of),  # noqa: B023 (run now)
                repeat,
            )
            print(f"brief {by} {key:<12} {suffix}: median {seconds:.2f} s over {repeat}")


def phases(store: Store, output: Path, as_of: date | None, repeat: int) -> None:
    """District 17's PDF: median CPU seconds of gathering, drawing and saving."""
    spent: dict[str, list[float]] = {"gather": [], "draw": [], "save": []}
    for _ in range(repeat):
        clock = time.process_time()
        with store.reader() as q:
            data = content.gather(q, "district", "17", q.resolve_as_of(as_of), "victims")
        spent["gather"].append(time.process_time() - clock)
        clock = time.process_time()
        figure = drawing.draw(data)
        spent["draw"].append(time.process_time() - clock)
        clock = time.process_time()
        drawing.save(figure, output)
        spent["save"].append(time.process_time() - clock)
    print(
        "district 17 PDF, CPU s (median): "
        + ", ".join(f"{name} {statistics.median(s):.2f}" for name, s in spent.items())
    )


def whole_command(data: Path, output: Path, as_of: date | None, repeat: int) -> None:
    argv = [sys.executable, "-m", "pipeline", "brief", "--data-dir", str(data)]
    argv += ["--district", "17", "-o", str(output)]
    argv += ["--as-of", str(as_of)] if as_of else []
    walls, cpus, errors = [], [], output.with_suffix(".err")
    for _ in range(repeat):
        with open(errors, "wb") as stderr:
            clock = time.perf_counter()
            child = subprocess.Popen(
                argv, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=stderr
            )
            _, status, usage = os.wait4(child.pid, 0)  # the child's own CPU time
            walls.append(time.perf_counter() - clock)
        cpus.append(usage.ru_utime + usage.ru_stime)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"brief failed: {errors.read_text()}")
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(
        f"whole command `python -m pipeline brief --district 17`, start-up included: "
        f"median wall {wall:.2f} s, CPU {cpu:.2f} s over {repeat} "
        f"(target <= {TARGET_S:.0f} s: {'met' if wall <= TARGET_S else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
