"""Benchmark: full sync of ~60,000 victims from a local SODA server vs a bare fetch loop.

    python -m bench.sync_bench [--copies 19] [--repeat 9]

The real API sample (../shared/data/chicago/victims_api_sample_2024_2026,
3,184 rows) is replicated with new ids and served as Socrata JSON. Figures:

- bare loop: `requests` fetching and JSON-parsing the same pages the sync
  asks for (the count, then pages of the same size: the floor, no validation,
  no store);
- full sync: `run_sync` into an empty store (victims and every boundary layer);
- no-op incremental: a second sync when nothing changed upstream.

The weekly full refresh (victims re-read in full, boundaries kept) is timed
against a bare loop over the victims pages alone. The first full sync also
checks and simplifies the boundary layers, places every victim in its beat
and community area and computes the map classes: those derived tables are
part of a sync, so they are part of its time.

Targets (issue 12): full sync <= 1.5x the bare loop; no-op <= 1 s. Each full sync's
Outreach post-sync step (`pipeline.outreach.store_outreach_tables`: hot spots and
emerging hot spots on beats and hexagons) is timed inside it and reported apart; on a
full read its grids, weights and draws are made before the write, while the pages
download (`outreach.plan_step_grids`), so they are in the sync's time but not the step's.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import multiprocessing
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from pipeline import sync
from pipeline.paging import even_page_size
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.sync import SyncReport, SyncRequest, run_sync
from tests.soda_server import SodaServer

SHARED = PROJECT_ROOT.parent / "shared" / "data" / "chicago"
VICTIMS = "gumc-mgzr"
LAYERS = {
    "aerh-rz74": "police_beats_current.geojson",
    "fthy-xz3r": "police_districts_current.geojson",
    "cauq-8yn6": "community_areas.geojson",
    "gdcf-axmw": "zip_codes_gdcf-axmw.geojson",
    "bbvz-uum9": "neighborhoods_bbvz-uum9.geojson",
}


def replicated_rows(copies: int) -> list[dict[str, Any]]:
    """The real sample `copies` times over, each copy with its own ids, as the API serves it."""
    sample: list[dict[str, str]] = []
    for path in sorted((SHARED / "victims_api_sample_2024_2026").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            sample.extend(csv.DictReader(handle))
    rows = []
    for copy in range(copies):
        for i, row in enumerate(sample):
            served: dict[str, Any] = {k: v or None for k, v in row.items() if k != "updated"}
            served[":id"] = f"row-{copy:02d}-{i:05d}"
            served[":updated_at"] = row["updated"] + "Z"
            served["cpd_id"] = f"{row['cpd_id']}-c{copy}"
            served["case_number"] = f"{row['case_number']}-c{copy}"
            rows.append(served)
    return rows


@contextmanager
def server_process(copies: int) -> Iterator[tuple[str, int]]:
    """The local SODA server in its own process, as a real server would be: it must not
    share this process's interpreter lock (or its collector's work) with the client
    being measured. The rows are built there; yields the URL and the number of rows."""
    parent, child = multiprocessing.Pipe()
    context = multiprocessing.get_context("fork")
    process = context.Process(target=_serve, args=(copies, child), daemon=True)
    process.start()
    try:
        url, served = parent.recv()
        yield str(url), int(served)
    finally:
        process.terminate()
        process.join(timeout=10)


def _serve(copies: int, pipe: Any) -> None:
    rows = replicated_rows(copies)
    geojson = {d: json.loads((SHARED / f).read_text()) for d, f in LAYERS.items()}
    with SodaServer(rows={VICTIMS: rows}, geojson=geojson) as server:
        pipe.send((server.url, len(rows)))
        threading.Event().wait()  # until terminated


def bare_loop(url: str, page_size: int, boundaries: bool = True) -> int:
    """Fetch and parse every page the sync fetches (the count, keyset pages of the same
    size, the count again; each boundary layer until an empty page); return rows seen."""
    session = requests.Session()
    resource = f"{url}/resource/{VICTIMS}.json"
    count = {"$select": "count(*) AS n"}
    expected = int(session.get(resource, params=count, timeout=60).json()[0]["n"])
    page_size = even_page_size(expected, page_size)
    seen, last_id = 0, None
    while True:
        params = {"$limit": str(page_size), "$order": ":id", "$$exclude_system_fields": "false"}
        if last_id is not None:
            params["$where"] = f":id > '{last_id}'"
        page = session.get(resource, timeout=60, params=params).json()
        seen += len(page)
        if page:
            last_id = page[-1][":id"]
        if not page or (len(page) < page_size and seen >= expected):
            break
    session.get(resource, params=count, timeout=60).json()
    for dataset in LAYERS if boundaries else ():
        for offset in ("0", str(page_size)):
            session.get(
                f"{url}/resource/{dataset}.geojson",
                timeout=60,
                params={"$limit": str(page_size), "$offset": offset, "$order": ":id"},
            ).json()
    return seen


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    clock = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - clock, result


@contextmanager
def outreach_step_timed() -> Iterator[list[float]]:
    """Seconds of each Outreach post-sync step run inside the syncs of the block."""
    seconds: list[float] = []
    step = sync.store_outreach_tables

    def timed_step(*args: Any, **kwargs: Any) -> int:
        clock = time.perf_counter()
        try:
            return step(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - clock)

    sync.store_outreach_tables = timed_step
    try:
        yield seconds
    finally:
        sync.store_outreach_tables = step


def victims_report(reports: list[SyncReport]) -> SyncReport:
    return next(r for r in reports if r.dataset == "victims")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=19, help="sample copies (19 -> 60,496 rows)")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # sodapy warns about the missing app token

    bare, full, noop, bare_victims, refresh, step = [], [], [], [], [], []
    with server_process(args.copies) as (url, served), tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):
            settings = replace(
                Settings.from_env(env={}), domain=url, data_dir=Path(tmp) / f"run{run}"
            )
            seconds, seen = timed(bare_loop, url, settings.page_size)
            assert seen == served
            bare.append(seconds)
            with outreach_step_timed() as step_seconds:
                seconds, reports = timed(run_sync, settings, SyncRequest())
            assert victims_report(reports).rows_added == served
            full.append(seconds)
            step.extend(step_seconds)
            seconds, reports = timed(run_sync, settings, SyncRequest())
            report = victims_report(reports)
            assert report.mode == "incremental" and report.rows_added == 0
            noop.append(seconds)
            # The weekly full refresh: victims re-read in full, boundaries kept.
            seconds, _ = timed(bare_loop, url, settings.page_size, False)
            bare_victims.append(seconds)
            seconds, reports = timed(
                run_sync, replace(settings, full_refresh_days=-1), SyncRequest()
            )
            assert victims_report(reports).mode == "full"
            refresh.append(seconds)
    size = even_page_size(served, Settings.from_env(env={}).page_size)
    print(
        f"rows served: {served:,} victims in pages of {size:,} + {len(LAYERS)} boundary layers; "
        f"{args.repeat} runs, each sync timed right after its bare loop"
    )
    print(f"bare requests loop (fetch + parse):    {median(bare)}")
    print(f"full sync into an empty store:         {median(full)}   {ratio(full, bare)}")
    print(f"  of which the Outreach post-sync step: {median(step)}")
    print(
        f"no-op incremental sync:                {median(noop)}   (target <= 1 s; "
        f"re-read {report.rows_fetched} rows at the watermark)"
    )
    print(f"bare loop, victims pages only:         {median(bare_victims)}")
    weekly = ratio(refresh, bare_victims)
    print(f"weekly full refresh (boundaries kept): {median(refresh)}   {weekly}")


def median(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):5.2f} s"


def ratio(synced: list[float], bare: list[float]) -> str:
    """Median of the paired ratios (each sync against the bare loop run just before it,
    so a slow minute on a shared machine slows both), with their range."""
    ratios = [s / b for s, b in zip(synced, bare, strict=True)]
    return (
        f"ratio {statistics.median(ratios):.2f}x (runs {min(ratios):.2f}-{max(ratios):.2f}; "
        "target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
