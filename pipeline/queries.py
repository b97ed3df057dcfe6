"""Read-only queries against the store, returning DataFrames for the CLI and the page."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from pipeline.aggregate import area_sort_key, check_choice
from pipeline.boundaries import LAYER_OF_AREA
from pipeline.errors import StoreError, UsageError
from pipeline.store import NO_STORE_HINT, Store
from pipeline.trends import Span, coverage_gaps

COUNT_COLUMNS = ("unique_id", "case_number", "occurred_at", "gunshot", "fatal")


#: geometry: current boundaries by point-in-polygon (comparable across years);
#: recorded: the codes CPD wrote on each record at the time.
BASES = ("geometry", "recorded")


def load_victims(
    store: Store,
    start: date | None = None,
    end: date | None = None,
    basis: str = "geometry",
    columns: tuple[str, ...] = COUNT_COLUMNS,
) -> pd.DataFrame:
    """Victim rows that occurred in [start, end] (local dates, inclusive), with
    `district`, `beat` and `community_area` on the chosen `basis`."""
    check_choice("basis", basis, BASES)
    areas = (
        ", a.geo_district AS district, a.geo_beat AS beat, a.geo_community_area AS community_area"
        if basis == "geometry"
        else ", v.district, v.beat, v.community_area"
    )
    sql = (
        f"SELECT {', '.join('v.' + c for c in columns)}{areas} FROM victims v "
        "LEFT JOIN victim_areas a USING (unique_id) WHERE true"
    )
    params: list[object] = []
    if start is not None:
        sql += " AND v.occurred_at >= ?"
        params.append(pd.Timestamp(start).to_pydatetime())
    if end is not None:
        sql += " AND v.occurred_at < ?"
        params.append(pd.Timestamp(end + timedelta(days=1)).to_pydatetime())
    with store.read() as con:
        return con.execute(sql, params).df()


def latest_date(store: Store) -> date:
    """The local date of the most recent record: the default as-of date."""
    with store.read() as con:
        latest = con.execute("SELECT max(occurred_at) FROM victims").fetchall()[0][0]
    if latest is None:
        raise StoreError(f"the store at {store.path} holds no victims: {NO_STORE_HINT}")
    return pd.Timestamp(latest).date()


def resolve_area(store: Store, by: str, value: str) -> str:
    """The stored key for a user's area ('017' -> '17', '111' -> '0111', 'albany park' ->
    'ALBANY PARK'); UsageError naming the allowed keys if there is no such area."""
    text = value.strip().upper()
    if by in ("district", "beat") and text.isdigit():
        text = str(int(text)).zfill(4 if by == "beat" else 0)
    keys = sorted(area_labels(store, by), key=area_sort_key)
    if text in keys:
        return text
    close = difflib.get_close_matches(text, keys, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(keys[:30])}"
    raise UsageError(
        f"{by.replace('_', ' ')} was {value!r} but is not in the current boundaries{hint}"
    )


def coverage_warnings(store: Store, spans: list[Span]) -> list[str]:
    """Warnings for months inside `spans` with no record at all (see `trends.coverage_gaps`)."""
    with store.read() as con:
        rows = con.execute("SELECT DISTINCT strftime(occurred_at, '%Y-%m') FROM victims")
        months = {r[0] for r in rows.fetchall()}
    return coverage_gaps(months, spans)


def resolve_as_of(store: Store, asked: date | None) -> date:
    """The as-of date asked for, or the latest in the store; never past the data, where
    this year's count would be incomplete."""
    latest = latest_date(store)
    if asked is not None and asked > latest:
        raise UsageError(
            f"--as-of {asked} is after the last record in the store ({latest}): "
            f"this year's count would be incomplete; use --as-of {latest} or sync"
        )
    return asked or latest


def area_labels(store: Store, by: str) -> dict[str, str]:
    """Key -> label for the layer behind `by` ('17' -> '17TH')."""
    with store.read() as con:
        rows = con.execute(
            "SELECT key, name FROM boundaries WHERE layer = ?", [LAYER_OF_AREA[by]]
        ).fetchall()
    return dict(rows)


@dataclass
class StoreStatus:
    tables: dict[str, int]
    first_occurred: pd.Timestamp | None
    last_occurred: pd.Timestamp | None
    last_syncs: pd.DataFrame  # latest sync_log row per dataset
    quarantine_reasons: pd.DataFrame  # reasons, rows
    placement: dict[str, int]  # recorded vs geometric codes: disagreements, unassigned


def store_status(store: Store) -> StoreStatus:
    with store.read() as con:
        tables = {
            t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0])
            for t in ("victims", "quarantine", "boundaries", "sync_log")
        }
        first, last = con.execute(
            "SELECT min(occurred_at), max(occurred_at) FROM victims"
        ).fetchall()[0]
        syncs = con.execute(
            "SELECT dataset, source, mode, finished_at, rows_fetched, rows_added, rows_updated, "
            "rows_removed, rows_quarantined, watermark FROM sync_log "
            "QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY sync_id DESC) = 1 "
            "ORDER BY dataset"
        ).df()
        placement = dict(
            zip(PLACEMENT_FIGURES, con.execute(PLACEMENT_SQL).fetchall()[0], strict=True)
        )
        reasons = con.execute(
            "SELECT reasons, count(*) AS rows FROM quarantine "
            "GROUP BY reasons ORDER BY rows DESC, reasons"
        ).df()
    return StoreStatus(
        tables, first, last, syncs, reasons, {k: int(v or 0) for k, v in placement.items()}
    )


PLACEMENT_FIGURES = (
    "beat_differs",
    "district_differs",
    "community_area_differs",
    "beat_not_recorded",
    "unassigned_beat",
    "unassigned_community_area",
)
PLACEMENT_SQL = """
SELECT count(*) FILTER (v.beat IS NOT NULL AND a.geo_beat IS NOT NULL AND v.beat <> a.geo_beat),
       count(*) FILTER (v.district IS NOT NULL AND a.geo_district IS NOT NULL
                        AND v.district <> a.geo_district),
       count(*) FILTER (v.community_area IS NOT NULL AND a.geo_community_area IS NOT NULL
                        AND v.community_area <> a.geo_community_area),
       count(*) FILTER (v.beat IS NULL),
       count(*) FILTER (a.geo_beat IS NULL),
       count(*) FILTER (a.geo_community_area IS NULL)
FROM victims v LEFT JOIN victim_areas a USING (unique_id)
"""
