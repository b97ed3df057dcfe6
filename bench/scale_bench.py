"""Benchmark: the CLI (and optionally the dashboard) on a large synthetic victims file.

    python -m bench.synthetic --rows 1000000 --out /tmp/synthetic/victims_1m.csv.gz
    python -m bench.scale_bench --victims /tmp/synthetic/victims_1m.csv.gz \\
        [--data-dir /tmp/scale/data] [--clean | --reuse-store] [--repeat 3] [--dashboard]
        [--sync-only]

Each figure is one whole process started with the project's Python, so it
includes interpreter start-up and imports; wall time is measured around the
process, peak RSS by `/usr/bin/time -v` (or, without it, the child's own
rusage from `os.wait4`):

- sync: `python -m pipeline sync --full --victims FILE --beats ... --districts ...
  --community-areas ...` (one flag per layer of pipeline.config's registry, with
  the boundary files in ../shared/data/chicago/) into a
  fresh data dir (an existing, non-empty one is refused unless --clean or
  --reuse-store is given);
- compare: `python -m pipeline compare --district 17`;
- counts: `python -m pipeline counts --by beat`;
- hotspots: `python -m pipeline hotspots`;
- brief: `python -m pipeline brief --district 17 -o <data dir>/../brief.pdf`.

The queries run `--repeat` times: the median wall time and the largest peak RSS
are shown. With --dashboard, a child process runs dashboard.py through
Streamlit's AppTest on the same store (DATA_DIR), as bench/dashboard_bench.py
does: server time is the wall time around each `AppTest.run()`, for the cold
first render (empty caches, imports included) and a few interactions that each
open a view not seen before, plus one return to a view already seen.

Targets (issue 12, for 8,000,000 rows): sync <= 60 s and <= 2 GB peak RSS;
compare, counts and hotspots <= 2 s; brief <= 3 s; dashboard cold first render
<= 3 s and every interaction <= 150 ms. Logs of every run are kept next to the
data dir (<data dir>/../logs/).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pipeline.settings import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared" / "data" / "chicago"
#: Boundary files by dataset id; a layer not named here is looked up as
#: ../shared/data/chicago/*_<dataset id>.geojson.
BOUNDARY_FILES = {
    "aerh-rz74": SHARED / "police_beats_current.geojson",
    "fthy-xz3r": SHARED / "police_districts_current.geojson",
    "cauq-8yn6": SHARED / "community_areas.geojson",
}
GNU_TIME = Path("/usr/bin/time")
JSON_MARK = "SCALE_BENCH_JSON "
GB = 1e9

#: figure -> (seconds, peak RSS bytes or None), issue 12's targets at 8M rows.
TARGETS: dict[str, tuple[float, float | None]] = {
    "sync --full": (60.0, 2 * GB),
    "compare --district 17": (2.0, None),
    "counts --by beat": (2.0, None),
    "hotspots": (2.0, None),
    "brief --district 17": (3.0, None),
}
DASHBOARD_COLD_S = 3.0
DASHBOARD_INTERACTION_S = 0.150


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, peak RSS in bytes (None if unknown), exit code."""

    seconds: float
    peak_rss: float | None
    returncode: int
    stdout: str
    stderr: str


def project_python() -> str:
    venv = PROJECT_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def run_once(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Run:
    """Run `argv` from the project root; stdout/stderr go to `log`.out/.err."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out, err, timing = (log.with_suffix(s) for s in (".out", ".err", ".time"))
    use_time = GNU_TIME.exists()
    command = [str(GNU_TIME), "-v", "-o", str(timing), *argv] if use_time else argv
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        clock = time.perf_counter()
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=PROJECT_ROOT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - clock
    child.returncode = os.waitstatus_to_exitcode(status)
    peak: float | None = usage.ru_maxrss * 1024.0  # kilobytes on Linux
    if use_time:
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing.read_text())
        peak = int(found.group(1)) * 1024.0 if found else None
    return Run(seconds, peak, child.returncode, out.read_text(), err.read_text())


def run_checked(argv: list[str], log: Path, retry_wait: float, **kwargs: Any) -> Run:
    """`run_once`, retried once after `retry_wait` s if it fails (the tree may be mid-edit)."""
    done = run_once(argv, log, **kwargs)
    if done.returncode != 0 and retry_wait >= 0:
        print(f"  failed (exit {done.returncode}): {tail(done.stderr)}", flush=True)
        print(f"  retrying once in {retry_wait:.0f} s", flush=True)
        time.sleep(retry_wait)
        done = run_once(argv, log, **kwargs)
    return done


def tail(text: str, lines: int = 3) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def boundary_flags() -> list[str]:
    """`--beats FILE --districts FILE ...`: one flag per layer of the registry, so
    no layer is fetched from the (unreachable) portal."""
    from pipeline.config import LAYERS

    flags = []
    for layer, level in LAYERS.items():
        found = BOUNDARY_FILES.get(level.dataset) or next(
            iter(sorted(SHARED.glob(f"*_{level.dataset}.geojson"))), None
        )
        if found is None:
            raise SystemExit(f"no boundary file for layer {layer!r} ({level.dataset}) in {SHARED}")
        flags += [f"--{layer.replace('_', '-')}", str(found)]
    return flags


def pipeline_argv(command: str, data: Path, *extra: str) -> list[str]:
    return [project_python(), "-m", "pipeline", command, "--data-dir", str(data), *extra]


def measure_cli(
    victims: Path,
    data: Path,
    logs: Path,
    repeat: int,
    reuse: bool,
    retry_wait: float,
    sync_only: bool = False,
) -> dict[str, Run | None]:
    """Sync (unless `reuse`) and the four queries (unless `sync_only`); the median run of
    each, None if it failed."""
    results: dict[str, Run | None] = {}
    if not reuse:
        print(f"sync --full of {victims} into {data} ...", flush=True)
        argv = pipeline_argv("sync", data, "--full", "--victims", str(victims), *boundary_flags())
        done = run_checked(argv, logs / "sync", retry_wait)
        report(done)
        print("  " + "\n  ".join(done.stdout.strip().splitlines()[-6:]), flush=True)
        results["sync --full"] = done if done.returncode == 0 else None
        if done.returncode != 0 or sync_only:
            return results
    brief = data.parent / "brief.pdf"
    queries = {
        "compare --district 17": pipeline_argv("compare", data, "--district", "17"),
        "counts --by beat": pipeline_argv("counts", data, "--by", "beat"),
        "hotspots": pipeline_argv("hotspots", data),
        "brief --district 17": pipeline_argv("brief", data, "--district", "17", "-o", str(brief)),
    }
    for name, argv in queries.items():
        print(f"{name} x{repeat} ...", flush=True)
        runs = []
        for k in range(repeat):
            done = run_checked(argv, logs / f"{name.split()[0]}_{k}", retry_wait)
            report(done)
            if done.returncode != 0:
                break
            runs.append(done)
        results[name] = median_run(runs) if len(runs) == repeat else None
    return results


def median_run(runs: list[Run]) -> Run:
    """The median wall time with the largest peak RSS of `runs`."""
    peaks = [r.peak_rss for r in runs if r.peak_rss is not None]
    middle = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    return Run(
        statistics.median(r.seconds for r in runs),
        max(peaks) if peaks else None,
        0,
        middle.stdout,
        middle.stderr,
    )


def report(done: Run) -> None:
    rss = "?" if done.peak_rss is None else f"{done.peak_rss / 1e6:,.0f} MB"
    state = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
    print(f"  {done.seconds:7.2f} s, peak RSS {rss}, {state}", flush=True)
    if done.returncode != 0:
        print(f"  {tail(done.stderr, 8)}", flush=True)


# --- the dashboard, in a child process -------------------------------------------------


def dashboard_figures(data: Path) -> dict[str, Any]:
    """Server time (wall around `AppTest.run()`) of a cold render and of interactions."""
    os.environ["DATA_DIR"] = str(data)
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=900)
    figures: dict[str, Any] = {"cold": timed(app), "interactions": []}
    latest = app.date_input(key="as_of").value
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("district 17", lambda: app.selectbox(key="area").set_value("17")),
        ("district 11", lambda: app.selectbox(key="area").set_value("11")),
    ]
    if isinstance(latest, date):
        for days in (7, 35):
            steps.append((f"as-of {days} days earlier", as_of_setter(app, latest, days)))
    steps += [
        ("period: last 28 days", lambda: app.selectbox(key="period").set_value("28d")),
        ("measure: incidents", lambda: app.radio(key="measure").set_value("incidents")),
        ("kind: homicides", lambda: app.selectbox(key="kind").set_value("homicides")),
        ("level: beat", lambda: app.radio(key="level").set_value("beat")),
        ("beat 1713", lambda: app.selectbox(key="area").set_value("1713")),
        ("level: community area", lambda: app.radio(key="level").set_value("community_area")),
        ("back to beat level (seen)", lambda: app.radio(key="level").set_value("beat")),
    ]
    for label, change in steps:
        try:
            change()
            seconds: float | str = timed(app)
        except Exception as exc:  # a widget renamed or removed: report, go on
            seconds = f"{type(exc).__name__}: {exc}"[:200]
        figures["interactions"].append((label, seconds))
    return figures


def as_of_setter(app: Any, latest: date, days: int) -> Callable[[], Any]:
    return lambda: app.date_input(key="as_of").set_value(latest - timedelta(days=days))


def timed(app: Any) -> float:
    clock = time.perf_counter()
    app.run()
    seconds = time.perf_counter() - clock
    if app.exception:
        raise RuntimeError(f"the page raised: {app.exception[0].value}"[:400])
    return seconds


def measure_dashboard(data: Path, logs: Path, retry_wait: float) -> tuple[Run, dict[str, Any]]:
    print("dashboard (AppTest, cold render + interactions) ...", flush=True)
    argv = [project_python(), "-m", "bench.scale_bench", "--dashboard-child", "--data-dir"]
    done = run_checked([*argv, str(data)], logs / "dashboard", retry_wait)
    report(done)
    marked = [x for x in done.stdout.splitlines() if x.startswith(JSON_MARK)]
    return done, json.loads(marked[-1][len(JSON_MARK) :]) if marked else {}


# --- the table ------------------------------------------------------------------------


def verdict(seconds: float, target_s: float, peak: float | None, target_rss: float | None) -> str:
    met = seconds <= target_s and (target_rss is None or (peak is not None and peak <= target_rss))
    return "yes" if met else "NO"


def print_table(
    victims: Path, cli: dict[str, Run | None], dash: tuple[Run, dict[str, Any]] | None
) -> None:
    size = victims.stat().st_size / 1e6
    print(f"\n{victims} ({size:,.0f} MB); targets are issue 12's for 8,000,000 rows")
    print(f"{'figure':<34} {'wall':>9} {'peak RSS':>10}   {'target':<18} met")
    for name, done in cli.items():
        target_s, target_rss = TARGETS[name]
        target = f"<= {target_s:g} s" + (f", {target_rss / GB:g} GB" if target_rss else "")
        if done is None:
            print(f"{name:<34} {'failed':>9} {'':>10}   {target:<18} NO")
            continue
        rss = "?" if done.peak_rss is None else f"{done.peak_rss / 1e6:,.0f} MB"
        met = verdict(done.seconds, target_s, done.peak_rss, target_rss)
        print(f"{name:<34} {done.seconds:>7.2f} s {rss:>10}   {target:<18} {met}")
    if dash is None:
        return
    run, figures = dash
    rss = "?" if run.peak_rss is None else f"{run.peak_rss / 1e6:,.0f} MB"
    print(f"{'dashboard process (all below)':<34} {run.seconds:>7.2f} s {rss:>10}")
    if not figures:
        print(f"{'dashboard':<34} {'failed':>9}   {tail(run.stderr, 4)}")
        return
    cold = figures["cold"]
    met = verdict(cold, DASHBOARD_COLD_S, None, None)
    print(f"{'  cold first render':<34} {cold:>7.2f} s {'':>10}   {'<= 3 s':<18} {met}")
    for label, seconds in figures["interactions"]:
        if isinstance(seconds, str):
            print(f"  {label:<32} {'n/a':>9} {'':>10}   {'<= 150 ms':<18} ({seconds})")
            continue
        met = verdict(seconds, DASHBOARD_INTERACTION_S, None, None)
        print(f"  {label:<32} {1000 * seconds:>6.0f} ms {'':>10}   {'<= 150 ms':<18} {met}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--victims", type=Path, help="synthetic victims file (bench.synthetic)")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/scale/data"))
    store = parser.add_mutually_exclusive_group()
    store.add_argument("--clean", action="store_true", help="delete --data-dir first")
    store.add_argument(
        "--reuse-store", action="store_true", help="skip the sync: query the store already there"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each query (median)")
    parser.add_argument("--sync-only", action="store_true", help="time the sync, not the queries")
    parser.add_argument("--dashboard", action="store_true", help="also time the dashboard")
    parser.add_argument(
        "--retry-wait", type=float, default=60.0, help="seconds before retrying a failed run once"
    )
    parser.add_argument("--dashboard-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data: Path = args.data_dir.resolve()
    if args.dashboard_child:
        print(JSON_MARK + json.dumps(dashboard_figures(data)), flush=True)
        return 0
    if args.victims is None or not args.victims.is_file():
        parser.error(f"--victims was {args.victims} but must be an existing file")
    if args.repeat < 1:
        parser.error(f"--repeat was {args.repeat} but must be >= 1")
    if args.clean and data.exists():
        shutil.rmtree(data)
    if not args.reuse_store and data.exists() and any(data.iterdir()):
        parser.error(f"--data-dir {data} is not empty: pass --clean or --reuse-store")
    logs = data.parent / "logs"
    if args.sync_only and args.reuse_store:
        parser.error("--sync-only and --reuse-store leave nothing to time: pass one of them")
    cli = measure_cli(
        args.victims.resolve(),
        data,
        logs,
        args.repeat,
        args.reuse_store,
        args.retry_wait,
        args.sync_only,
    )
    dash = None
    if args.dashboard and all(cli.values()):
        dash = measure_dashboard(data, logs, args.retry_wait)
    print_table(args.victims, cli, dash)
    return 0 if all(cli.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
