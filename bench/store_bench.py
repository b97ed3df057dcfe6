"""Benchmark: what a sync into an existing store costs, written in place against a copy.

    python -m bench.store_bench [--victims /tmp/synthetic/victims_1m.csv.gz]
        [--work /tmp/h2/store_bench] [--changes 1000]

A store is synced once from the victims file and the boundary files of
../shared/data/chicago (kept in `--work`/base and reused). Then, each on a fresh
copy of it (the copy is not measured), one `python -m pipeline sync --victims FILE`
child process per figure:

- no-op: the same file again (a full read that changes nothing);
- incremental: the file with `--changes` rows revised, half of them moved a day
  later and half withdrawn (written once, with DuckDB, beside the store);

each in two ways: `in place` (this version: the apply writes the difference into
the live file) and `copy` (what every sync did before: a reader keeps the store
open, so the apply falls back to writing a private copy and swapping it in).

Figures per run: wall time, CPU time (user + system, all threads), how long readers
wait (the live file held for writing: its read-write attach to its detach) and bytes
the process handed to write(2) (`wchar` of /proc/self/io: the WAL, the checkpoint, the
copy, spill files), against the store's size. The machine may be shared: judge by
CPU time and bytes as much as by wall time.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from bench.common import BOUNDARY_FILE_NAMES, SHARED
from pipeline.settings import PROJECT_ROOT
from pipeline.store import SCHEMA_VERSION, stored_schema_version

STORE = "store.duckdb"
MODES = ("copy", "in place")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--victims", type=Path, default=Path("/tmp/synthetic/victims_1m.csv.gz"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/h2/store_bench"))
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measured_sync(args.child, args.data, args.victims)))
        return
    base = base_store(args.work, args.victims)
    changed = revised_file(args.work, args.victims, args.changes)
    size = (base / STORE).stat().st_size
    print(f"store: {size / 1e6:,.0f} MB from {args.victims.name}")
    for case, victims in (("no-op", args.victims), (f"{args.changes:,} rows", changed)):
        for mode in MODES:
            figures = run_child(args.work, base, mode, victims)
            print(
                f"{case:>12} sync, {mode:<8}: {figures['wall']:6.1f} s wall, "
                f"{figures['cpu']:6.1f} s CPU, {figures['written'] / 1e6:8.1f} MB written "
                f"({figures['written'] / size:.0%} of the store), readers wait "
                f"{figures['write']:.1f} s; {figures['summary']}"
            )


def base_store(work: Path, victims: Path) -> Path:
    """The store every run starts from: synced once (boundaries and victims), then kept
    while its layout is this version's."""
    base = work / "base"
    if stored_schema_version(base / STORE) != SCHEMA_VERSION:
        shutil.rmtree(base, ignore_errors=True)
        layers = [
            arg
            for layer, name in BOUNDARY_FILE_NAMES.items()
            for arg in (f"--{layer.replace('_', '-')}", str(SHARED / name))
        ]
        argv = ["sync", "--data-dir", str(base), "--victims", str(victims), *layers]
        subprocess.run([sys.executable, "-m", "pipeline", *argv], check=True, cwd=PROJECT_ROOT)
    return base


def revised_file(work: Path, victims: Path, changes: int) -> Path:
    """`victims` with `changes` rows revised (every n-th row: moved a day later with a new
    update stamp, or withdrawn), written once; every other row's text is kept as it was.
    Assumes the synthetic file's columns (`bench/synthetic.py`: `date`, `updated`)."""
    out = work / f"revised_{changes}.csv.gz"
    if out.exists():
        return out
    con = duckdb.connect()
    source = f"read_csv('{victims}', all_varchar = true, header = true)"
    total = con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]
    step = max(1, total // changes)
    later = "strftime(CAST(date AS TIMESTAMP) + INTERVAL 1 DAY, '%Y-%m-%dT%H:%M:%S.000')"
    con.execute(
        f"COPY (SELECT * EXCLUDE (n) REPLACE (CASE WHEN n % {step} = 0 THEN {later} "
        f"ELSE date END AS date, CASE WHEN n % {step} = 0 THEN '2026-11-27T00:00:00.000' "
        "ELSE updated END AS updated) FROM ("
        f"SELECT *, row_number() OVER () - 1 AS n FROM {source}) "
        f"WHERE NOT (n % {step} = 0 AND n % {2 * step} <> 0) ORDER BY n) "
        f"TO '{out}' (HEADER, COMPRESSION gzip)"
    )
    con.close()
    return out


def run_child(work: Path, base: Path, mode: str, victims: Path) -> dict:
    """One measured sync in its own process, on a fresh copy of the base store."""
    data = work / "run"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(base, data)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.store_bench",
            "--child",
            mode,
            "--data",
            str(data),
            "--victims",
            str(victims),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {mode} sync failed:\n{done.stdout}{done.stderr}")
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    figures["summary"] = next(
        (line.split(" in ")[0] for line in lines if line.startswith("victims:")), ""
    )
    return figures


def measured_sync(mode: str, data: Path, victims: Path) -> dict[str, float]:
    """Run the sync here; in `copy` mode a reader holds the store so it writes a copy."""
    from pipeline import store as store_module
    from pipeline.cli import main as cli

    argv = ["sync", "--data-dir", str(data), "--victims", str(victims)]
    held = time_the_write(store_module)
    before, clock, cpu = written(), time.perf_counter(), cpu_seconds()
    if mode == "copy":
        store_module.WRITE_WAIT_SECONDS = 0.0
        with store_module.Store(data / STORE).read():
            code = cli(argv)
    else:
        code = cli(argv)
    if code != 0:
        raise SystemExit(f"the sync failed with exit code {code}")
    return {
        "wall": time.perf_counter() - clock,
        "cpu": cpu_seconds() - cpu,
        "written": written() - before,
        "write": sum(held),
    }


def time_the_write(store_module: Any) -> list[float]:
    """Time how long the sync holds the live file for writing (readers wait that long):
    from its read-write attach to its detach. A copy is never waited for: 0."""
    held: list[float] = []
    attach, detach = store_module._attach_waiting, store_module.SyncSession._detach
    opened: list[float] = []

    def timed_attach(*args: Any, **kwargs: Any) -> bool:
        attached = bool(attach(*args, **kwargs))
        if attached and not kwargs.get("read_only", True):
            opened.append(time.perf_counter())
        return attached

    def timed_detach(self: Any) -> None:
        detach(self)
        if opened:
            held.append(time.perf_counter() - opened.pop())

    store_module._attach_waiting = timed_attach
    store_module.SyncSession._detach = timed_detach
    return held


def written() -> int:
    """Bytes this process has handed to write(2) so far, all threads (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise RuntimeError("no wchar in /proc/self/io")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
