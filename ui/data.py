"""Cached, read-only queries for the page (their display is cached per view in `ui.shown`).

Every cached function takes a `StoreRef` (path + the identity each sync writes
into the store) first, so a sync, which writes a new identity into the store, invalidates the
cache by itself.
Arguments are small and hashable; results are DataFrames or plain values.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import shapely
import streamlit as st

from pipeline import profiles, report, trends
from pipeline.area_days import AreaDays
from pipeline.boundaries import LAYER_OF_AREA
from pipeline.compstat import NOT_COMPARABLE as NOT_COMPARABLE  # the page names it
from pipeline.compstat import compare_areas, compstat, kind_counts, map_classes
from pipeline.queries import Reader, VictimFilter
from pipeline.settings import Settings
from pipeline.shared_reader import SharedReader
from pipeline.store import Store
from ui import mapview, words
from ui.state import DEFAULT_BASIS, Bounds, View, bases_for, district_of_beat

RECENT_SHOWN = 50  # incidents listed on the page; the CSV download has them all


@dataclass(frozen=True)
class StoreRef:
    path: str
    version: str  # the store's identity (store_info): new on every sync, read from the file


def _ref_key(ref: StoreRef) -> str:
    return f"{ref.path}\n{ref.version}"


def _view_key_without(*names: str) -> Callable[[View], str]:
    """A view's cache key that ignores fields the cached result does not depend on (a
    new area leaves the map's classes as they were), so such a change is a cache hit."""
    defaults = {name: getattr(View(), name) for name in names}
    return lambda view: repr(replace(view, **defaults))


def _panel_key_without(*names: str) -> Callable[[View], str]:
    """A panel's key, ignoring `names` too: the whole city's figures are the same at
    every level (the level only chooses which areas the map shows), so a new level is a
    cache hit."""
    area_key = _view_key_without("metric", "present", *names)
    city_key = _view_key_without("metric", "present", "level", *names)
    return lambda view: area_key(view) if view.area else city_key(view)


_panel_key = _panel_key_without()

#: Cache keys as short strings: Streamlit hashes an unknown object (a dataclass) by
#: walking its reduction, several times slower than one string.
KEYS: dict[str | type[Any], Callable[[Any], Any]] = {StoreRef: _ref_key, View: repr}
MAP_TABLE_KEYS = {**KEYS, View: _view_key_without("area", "present")}
MAP_KEYS = {**KEYS, View: _view_key_without("present")}
PANEL_KEYS = {**KEYS, View: _panel_key}
#: The CompStat table has a row for every kind: a new kind is a cache hit.
COMPSTAT_KEYS = {**KEYS, View: _panel_key_without("kind")}
#: Victims' hours, ages and incidents are listed whatever is counted: a new measure is a hit.
ROWS_KEYS = {**KEYS, View: _panel_key_without("measure")}


def shared_cache(max_entries: int, hash_funcs: dict[Any, Callable[[Any], Any]] | None = None):
    """Streamlit's resource cache, for a view's results: the one object every session
    and rerun is handed, as it is. A data cache pickles a result when it stores it and
    unpickles a copy on every hit (a new view stored and read about ten: ~10 ms of a
    50 ms budget). So what such a function returns is never modified by its callers:
    frozen dataclasses, Arrow tables, strings, and frames the page only reads."""
    return st.cache_resource(
        show_spinner=False, max_entries=max_entries, hash_funcs=hash_funcs or KEYS
    )


def store_ref(settings: Settings) -> StoreRef | None:
    """The store as it is now, or None when there is none. Keyed by the identity the
    file holds, not its mtime: a replaced store can keep an mtime (coarse clocks, copies).
    Reading the identity opens the file (~20 ms), so it is read again only when the
    file's inode, size or mtime moved, which every swap does."""
    path = settings.store_path
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return StoreRef(str(path), _identity(str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _identity(path: str, inode: int, size: int, mtime_ns: int) -> str:
    return Store(Path(path)).identity()


@dataclass(frozen=True)
class Facts:
    """What every view discloses: coverage, freshness, what was left out."""

    bounds: Bounds
    labels: dict[str, dict[str, str]]  # level -> key -> label
    victims: int
    synced_at: pd.Timestamp | None  # UTC
    source: str
    quarantined: int
    placement: dict[str, int] = field(default_factory=dict)  # unassigned_* only


def open_store(settings: Settings) -> tuple[StoreRef, Facts] | None:
    """The current store and what it holds, or None when there is nothing to show yet."""
    ref = store_ref(settings)
    found = facts(ref) if ref else None
    return (ref, found) if ref and found else None


@shared_cache(4)
def facts(ref: StoreRef) -> Facts | None:
    """None when the store holds no victims yet."""
    with reader(ref) as q:
        status = q.summary()  # the page shows no recorded-vs-placed figures
        labels = {level: q.area_labels(level) for level in LAYER_OF_AREA}
    if (
        not status.tables["victims"]
        or status.first_occurred is None
        or (status.last_occurred is None)
    ):
        return None
    bounds = Bounds(
        first=pd.Timestamp(status.first_occurred).date(),
        latest=pd.Timestamp(status.last_occurred).date(),
        areas={level: tuple(keys) for level, keys in labels.items()},
    )
    victims_sync = status.last_syncs[status.last_syncs["dataset"] == "victims"]
    synced_at = victims_sync["finished_at"].iloc[0] if len(victims_sync) else None
    source = victims_sync["source"].iloc[0] if len(victims_sync) else "unknown"
    return Facts(
        bounds,
        labels,
        status.tables["victims"],
        synced_at,
        report.source_label(source),
        int(status.tables["quarantine"]),
        status.placement,
    )


@dataclass(frozen=True)
class Shapes:
    """A level's simplified shapes, read once per store version and shared by every
    session and view as they are (a data cache would hand each caller a fresh copy:
    ~5 ms of unpickling the beats' polygons on every new map). Never modified."""

    areas: list[dict[str, Any]]  # key, label, GeoJSON geometry, label point [lon, lat]
    texts: list[str]  # the same geometries as the GeoJSON text the store holds


@st.cache_resource(max_entries=16, hash_funcs=KEYS)
def shapes(ref: StoreRef, level: str) -> Shapes:
    with reader(ref) as q:
        rows = q.web_shapes(LAYER_OF_AREA[level])
    points = shapely.point_on_surface(shapely.from_wkb([bytes(r[3]) for r in rows]))
    areas = [
        {
            "key": key,
            "label": label,
            "geometry": json.loads(web),
            "at": [round(p.x, 5), round(p.y, 5)],
        }
        for (key, label, web, _), p in zip(rows, points, strict=True)
    ]
    return Shapes(areas, [web for _, _, web, _ in rows])


def layer_shapes(ref: StoreRef, level: str) -> list[dict[str, Any]]:
    """Simplified shapes of a level: key, label, GeoJSON geometry, label point [lon, lat]."""
    return shapes(ref, level).areas


def warm_levels(ref: StoreRef) -> None:
    """Read now what a first change of level reads (the first render pays ~25 ms a
    level): each level's shapes, and its areas' counts per day and map classes as the
    level opens (default basis, victims, shootings), so that the change costs its view
    only."""
    for level in LAYER_OF_AREA:
        shapes(ref, level)
        area_days(ref, level, None, "victims", DEFAULT_BASIS[level])
        breaks(ref, level, "shootings", "victims")


@shared_cache(64)
def breaks(ref: StoreRef, level: str, kind: str, measure: str) -> list[float]:
    with reader(ref) as q:
        return q.map_breaks(level, kind, measure)


def spans(view: View) -> tuple[trends.Span, trends.Span]:
    assert view.as_of is not None
    return trends.period_spans(view.period, view.as_of, view.start, view.end)


@shared_cache(32, MAP_TABLE_KEYS)
def map_table(ref: StoreRef, view: View) -> pd.DataFrame:
    """One styled row per area of the view's level: counts, verdict, rate, colour."""
    current, previous = spans(view)
    with counting_reader(ref) as q:
        result = compare_areas(
            q, view.level, current, previous, view.measure, view.kind, view.basis
        )
    return map_classes(result, view.metric, breaks(ref, view.level, view.kind, view.measure))


@shared_cache(32, MAP_KEYS)
def map_json(ref: StoreRef, view: View) -> str:
    """The map's deck.gl JSON for a view. A selected beat is shown inside its district:
    the district outlined, its beats labelled, the view fitted to it."""
    context = None
    if view.level == "beat" and view.area:
        district = district_of_beat(view.area)
        context = next((s for s in layer_shapes(ref, "district") if s["key"] == district), None)
    marked = [
        {**shape, "geometry": f"{_GEOMETRY_MARK}{i}"}
        for i, shape in enumerate(layer_shapes(ref, view.level))
    ]
    spec = mapview.deck_json(
        marked, map_table(ref, view), facts_labels(ref, view.level), view.level, view.area, context
    )
    texts = geometry_texts(ref, view.level)
    return _MARKED.sub(lambda found: texts[int(found.group(1))], spec)


#: The areas' geometries are the largest part of a map's JSON and the same in every
#: view: each view's JSON is written with a mark in their place, and the GeoJSON text
#: the store holds is put back in one pass (beats: ~20 ms of json.dumps saved a view).
_GEOMETRY_MARK = "\0geometry:"
_MARKED = re.compile(r'"\\u0000geometry:(\d+)"')


def geometry_texts(ref: StoreRef, level: str) -> list[str]:
    """The simplified GeoJSON text of each shape of a level, in `layer_shapes` order."""
    return shapes(ref, level).texts


def facts_labels(ref: StoreRef, level: str) -> dict[str, str]:
    found = facts(ref)
    return found.labels[level] if found else {}


@shared_cache(32, COMPSTAT_KEYS)
def compstat_panel(
    ref: StoreRef, view: View
) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str]]:
    """The CompStat table of every kind, its counts on the other basis where the level
    has both (else None), and its warnings."""
    current, previous = spans(view)
    level, key = view.counted_in
    other = next((b for b in bases_for(view.level) if b != view.basis), None)
    with counting_reader(ref) as q:
        result = compstat(q, level, key, current, previous, view.measure, view.basis)
        other_basis = (
            kind_counts(q, level, key, current, previous, view.measure, other)
            if key and other
            else None
        )
    return result.table, other_basis, result.warnings


@shared_cache(32, PANEL_KEYS)
def weekly(ref: StoreRef, view: View) -> pd.DataFrame:
    """The view's kind per week of this period and of the one it is compared with."""
    current, previous = spans(view)
    level, key = view.counted_in
    with counting_reader(ref) as q:
        daily = q.daily(level, key, [current, previous], view.measure, view.basis, view.kind)
    return profiles.weekly_this_vs_last(daily, current, previous)


@shared_cache(32, ROWS_KEYS)
def victim_profile(ref: StoreRef, view: View) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The period's victims of the view's kind by hour and weekday, and by age and sex
    (one query: both tabs' tables)."""
    current, _ = spans(view)
    level, key = view.counted_in
    with reader(ref) as q:
        hours, ages = q.profile_counts(VictimFilter(current, view.kind, view.basis, level, key))
    return profiles.hour_by_weekday(hours), profiles.age_by_sex(ages)


@shared_cache(32, ROWS_KEYS)
def latest_incidents(ref: StoreRef, view: View) -> pd.DataFrame:
    """The latest incidents of the view's kind in its period (RECENT_SHOWN of them)."""
    current, _ = spans(view)
    level, key = view.counted_in
    with counting_reader(ref) as q:  # the held counts say when one query is enough
        recent = q.incidents(
            VictimFilter(current, view.kind, view.basis, level, key), limit=RECENT_SHOWN
        )
    return profiles.incident_table(recent)


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=ROWS_KEYS)
def all_incidents(ref: StoreRef, view: View) -> pd.DataFrame:
    """Every incident of the view's area, kind and period, for the CSV download."""
    current, _ = spans(view)
    level, key = view.counted_in
    with reader(ref) as q:
        return profiles.incident_table(
            q.incidents(VictimFilter(current, view.kind, view.basis, level, key))
        )


def coverage_warnings(ref: StoreRef, view: View) -> list[str]:
    current, previous = spans(view)
    return trends.coverage_gaps(months_with_records(ref), [previous, current])


def missing_months(ref: StoreRef, view: View) -> tuple[list[str], list[str]]:
    """Months ('YYYY-MM') with no record at all inside (this span, the comparison span)."""
    have = months_with_records(ref)
    current, previous = spans(view)
    return words.missing_months(have, current), words.missing_months(have, previous)


@shared_cache(2)
def months_with_records(ref: StoreRef) -> set[str]:
    with reader(ref) as q:
        return q.months_with_records()


@st.cache_resource(max_entries=2)
def _shared_reader(ref: StoreRef) -> SharedReader:
    """One read-only connection per store version (a sync gives a new `ref`), let go of
    when the page is idle so that a sync can write the store in place."""
    return SharedReader(Path(ref.path))


class SharedStore(Store):
    """The store as the page reads it, for pipeline functions that take a `Store`: its
    `read()` and `reader()` hand out cursors of the page's shared connection instead of
    opening the file on every call (~20 ms each; the Outreach page made several a view)."""

    def __init__(self, ref: StoreRef):
        super().__init__(Path(ref.path))
        self.ref = ref

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with reader(self.ref) as q:
            yield q.con

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        with reader(self.ref) as q:
            yield q


@dataclass
class _RunReader:
    """The reader of one rerun (`one_reader_per_run`), taken at its first question."""

    ref: StoreRef
    stack: ExitStack
    reader: Reader | None = None

    def take(self) -> Reader:
        if self.reader is None:
            self.reader = self.stack.enter_context(_new_reader(self.ref))
        return self.reader


_run = threading.local()  # .held: the `_RunReader` of the rerun on this thread, if any


@contextmanager
def one_reader_per_run(ref: StoreRef) -> Iterator[None]:
    """Every `reader(ref)` inside this block (one rerun of the page, on its own thread)
    is the same cursor, taken at the first question (a seen view, all cache hits, takes
    none): a view asks a dozen cached questions, and a cursor each, with the shared
    connection's bookkeeping, cost ~0.5 ms apiece. Every query fetches its result at
    once, so a question asked inside another one is safe."""
    with ExitStack() as stack:
        _run.held = _RunReader(ref, stack)
        try:
            yield
        finally:
            _run.held = None


@contextmanager
def reader(ref: StoreRef, months: set[str] | None = None) -> Iterator[Reader]:
    """A `Reader` on a cursor of the store version's connection (`months`: the store's
    months with records, when known, so a comparison does not ask again); inside
    `one_reader_per_run`, the rerun's."""
    held = getattr(_run, "held", None)
    if held is not None and held.ref == ref:
        yield held.take().knowing_months(months)
        return
    with _new_reader(ref, months) as q:
        yield q


@contextmanager
def _new_reader(ref: StoreRef, months: set[str] | None = None) -> Iterator[Reader]:
    with (
        _shared_reader(ref).connection() as con,
        Reader.on_cursor(con, Store(Path(ref.path)), months) as q,
    ):
        yield q


@contextmanager
def counting_reader(ref: StoreRef) -> Iterator[Reader]:
    """A `reader` told what the page holds cached (the months with records, every level's
    labels, each area's counts per day), for the counts of a view: a comparison, five
    years or a weekly chart of one area asks no query once the area's days are read."""
    with reader(ref) as q:
        if not q.counts_held:  # a rerun's one reader is told once
            found = facts(ref)
            q.knowing_months(months_with_records(ref))
            q.knowing_area_days(functools.partial(area_days, ref))
            if found:
                q.knowing_labels(found.labels)
        yield q


#: A level is held whole (every area's counts per day, one read) when it has at most
#: this many rows of `daily_counts` (~4 MB held); a larger one is held an area at a
#: time, and the sums over all its areas come from the store. The real snapshot's
#: levels are all held; an 8M-row store holds the city's only.
HELD_LEVEL_ROWS = 250_000


@shared_cache(32)  # ~0.6 MB each for the whole city of an 8M-row store
def area_days(
    ref: StoreRef, level: str, key: str | None, measure: str, basis: str
) -> AreaDays | None:
    """The counts per day of one area of `level` or (`key` None) of every area
    (`pipeline.area_days`), read once per store version. A small level is read whole,
    so that a new area asks nothing; None for every area of a large one."""
    if daily_rows(ref, level, basis) <= HELD_LEVEL_ROWS:
        if key is not None:
            return area_days(ref, level, None, measure, basis)
    elif key is None:
        return None
    with reader(ref) as q:
        return q.area_days(level, key, measure, basis)


@shared_cache(32)
def daily_rows(ref: StoreRef, level: str, basis: str) -> int:
    with reader(ref) as q:
        return q.daily_rows(level, basis)


@st.cache_data(show_spinner="Drawing the brief...", max_entries=8, hash_funcs=KEYS)
def brief_pdf(ref: StoreRef, level: str, area: str, as_of: date, measure: str, basis: str) -> bytes:
    """The one-page meeting brief (year to date) as PDF bytes, on the page's basis."""
    from pipeline.brief import make_brief  # matplotlib: loaded only when asked for

    with tempfile.TemporaryDirectory() as tmp:
        path = make_brief(
            Store(Path(ref.path)), level, area, Path(tmp) / "brief.pdf", as_of, measure, basis
        )
        return path.read_bytes()
