"""Sync: read each dataset from its source, validate, and write it into the store.

Everything happens inside one `Store.session()`: the read with the store
read-only, then one short `apply` that writes what changed, so a failure
anywhere (network, schema drift, a bad boundary file, a kill) leaves the
previous store exactly as it was. The steps live beside this module: `sync_boundaries`,
`sync_victims`, `places` (what is derived after the write) and `synclog`.
"""

from __future__ import annotations

import gc
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import LAYERS
from pipeline.outreach import plan_step_grids, store_outreach_tables
from pipeline.places import keep_places_in_step, placement, refresh_boundaries
from pipeline.settings import Settings
from pipeline.sources import BoundarySource, VictimSource
from pipeline.sources.files import FileVictims, GeoJSONFile
from pipeline.sources.socrata import SocrataBoundary, SocrataClient, SocrataVictims
from pipeline.staging import drop_staging
from pipeline.store import Store
from pipeline.sync_boundaries import (
    plan_populations,
    read_boundaries,
    store_boundary,
    store_populations,
)
from pipeline.sync_victims import (
    PAGES_IN_FLIGHT,
    PageQueue,
    fetch_victims,
    incremental_watermark,
    plan_victims,
    stage_victims,
    store_victims,
)
from pipeline.synclog import Bar, MakeBar, SyncReport, next_sync_id, no_bar, utc_now

__all__ = ["Bar", "SyncReport", "SyncRequest", "run_sync"]


@dataclass
class SyncRequest:
    """What to sync: a path replaces Socrata for that dataset."""

    full: bool = False
    victims: Sequence[Path] = ()
    boundaries: dict[str, Path] = field(default_factory=dict)  # layer name -> GeoJSON path

    def boundaries_to_refresh(self) -> set[str]:
        """Layers read again even when stored: all on --full, else those given a path."""
        return set(LAYERS) if self.full else set(self.boundaries)


def run_sync(
    settings: Settings,
    request: SyncRequest,
    make_bar: MakeBar = no_bar,
    client: SocrataClient | None = None,
) -> list[SyncReport]:
    """Sync boundaries and victims into the store at `settings.store_path`, atomically."""
    victims_source, boundary_sources = _sources(settings, request, client)
    store = Store(settings.store_path)
    with store.session() as session, _cycle_collector_paused():
        con = session.con  # the store read-only until `session.apply()` (see pipeline/store.py)
        sync_id = next_sync_id(con)
        started, clock = utc_now(), time.perf_counter()
        since = None if request.full else incremental_watermark(con, victims_source, settings)
        # Boundary files are small: read them first. Then victims download in the
        # background while the layers are checked and stored here, so the wait on the
        # portal overlaps the geometry work. Only this thread uses `con`.
        layers = read_boundaries(con, boundary_sources, request.boundaries_to_refresh(), make_bar)
        if any(read.collection is not None for read in layers):
            session.use_private_copy()  # new boundaries move every place and count
        # Each page is typed there, then placed and staged here once the boundaries
        # are stored (only this thread uses `con`).
        pages: PageQueue = queue.Queue(maxsize=PAGES_IN_FLIGHT)
        stop = threading.Event()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fetch") as pool:
            download = pool.submit(
                fetch_victims,
                victims_source,
                since,
                make_bar,
                settings.read_attempts,
                pages,
                stop,
            )
            try:
                reports = [store_boundary(con, sync_id, read) for read in layers]
                refreshed = [r.dataset for r in reports if r.mode != "skipped"]
                if refreshed:
                    refresh_boundaries(con, sorted(refreshed))
                # Residents per area for rates, once per boundary vintage (the page never
                # estimates them): while the victims download.
                populations = plan_populations(con, settings.population_path, bool(refreshed))
                # The Outreach step's grids, weights and draws need only the beats: on a
                # full read (a long download) they are made now, not after the write.
                grids = plan_step_grids(con) if since is None or refreshed else None
                fetched = stage_victims(con, pages, download, placement(con))
            except BaseException:
                stop.set()  # the download stops instead of waiting for room
                download.cancel()
                raise
        # Checked, and what it changes worked out, with the store still read-only.
        victims = plan_victims(con, sync_id, victims_source, fetched, since, settings, make_bar)
        with session.apply():  # the one write: only what changed
            store_victims(con, sync_id, victims, started, make_bar)
            changed = victims.rows_added or victims.rows_updated or victims.rows_removed
            keep_places_in_step(
                con,
                "placed",
                boundaries_changed=bool(refreshed),
                victims_changed=bool(changed),
                read_everything=since is None,
                make_bar=make_bar,
            )
            drop_staging(con)
            store_outreach_tables(con, store, bool(changed or refreshed), grids)
            store_populations(con, populations)
            victims.seconds = time.perf_counter() - clock
        reports.append(victims)
    return reports


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for the sync. A page is tens of thousands of fresh
    row dicts that form no cycles (reference counting frees them), yet each collection
    walks them all again: measured at 0.2 s of a 60,000-row sync."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _sources(
    settings: Settings, request: SyncRequest, client: SocrataClient | None
) -> tuple[VictimSource, dict[str, BoundarySource]]:
    """File sources where paths were given, Socrata for the rest (one shared client)."""

    def socrata() -> SocrataClient:
        nonlocal client
        client = client or SocrataClient(settings)
        return client

    victims: VictimSource = (
        FileVictims(request.victims, settings.optional_file_columns)
        if request.victims
        else SocrataVictims(socrata(), settings.victims_dataset, settings.optional_portal_columns)
    )
    boundaries: dict[str, BoundarySource] = {
        layer: GeoJSONFile(request.boundaries[layer])
        if layer in request.boundaries
        else SocrataBoundary(socrata(), level.dataset)
        for layer, level in LAYERS.items()
    }
    return victims, boundaries
