"""Read-only queries against the store, returning DataFrames for the CLI and the page.

All SQL that reads the store lives here, behind `Reader` (one connection per
request); counts are sums over the pre-aggregated `daily_counts` table.
"""

from __future__ import annotations

import difflib
import json
import math
from collections import ChainMap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow.compute as pc

from geo.layers import BoundaryLayer
from pipeline.aggregate import (
    AREA_COLUMNS,
    KIND_SQL,
    KINDS,
    MEASURES,
    UNKNOWN_AREA,
    area_sort_key,
    check_choice,
)
from pipeline.area_days import EPOCH, AreaDays
from pipeline.boundaries import LAYER_OF_AREA
from pipeline.config import BASES, LEVELS  # BASES: re-exported
from pipeline.counts import CITY
from pipeline.errors import StoreError, UsageError
from pipeline.status import StoreStatus, store_status_of
from pipeline.store import NO_STORE_HINT, Store, count_of, first_row
from pipeline.trends import Span, coverage_gaps

#: (level, key, measure, basis) -> `AreaDays` holding that area, or with key None every
#: area of the level, or None when they are not held (`Reader.knowing_area_days`).
AreaDaysLookup = Callable[[str, str | None, str, str], AreaDays | None]

COUNT_COLUMNS = ("unique_id", "case_number", "occurred_at", "gunshot", "fatal")
#: Rows read, newest first, to find each of the newest incidents (`Reader.incidents`):
#: an incident has 1.2 victims on average and rarely more than 10.
ROWS_PER_INCIDENT = 20


class Reader:
    """One read-only connection to the store for a whole request, with named queries.

    `with store.reader() as q:` then `q.latest_date()`, `q.span_counts(...)` and so
    on: a command or a page view opens the file once, not once per question.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, store: Store, months: set[str] | None = None
    ):
        self.con = con
        self.store = store
        self._months = months  # months_with_records, when the caller already knows them
        # area_labels by level: those asked here, over those a caller told (never written)
        self._labels: ChainMap[str, dict[str, str]] = ChainMap({})
        self._area_days: AreaDaysLookup | None = None  # see knowing_area_days

    def knowing_labels(self, labels: dict[str, dict[str, str]]) -> Reader:
        """This reader, told every level's `area_labels` (a page has them cached), so a
        comparison does not ask the store again."""
        self._labels = ChainMap({}, labels)
        return self

    def knowing_area_days(self, lookup: AreaDaysLookup) -> Reader:
        """This reader, answering `span_counts` and `daily` from `lookup` (level, key or
        None for every area, measure, basis) -> `AreaDays` or None (a page holds them,
        cached, and asks the same areas about many spans) instead of a query each."""
        self._area_days = lookup
        return self

    @property
    def counts_held(self) -> bool:
        """Whether this reader answers from held counts per day (`knowing_area_days`)."""
        return self._area_days is not None

    def knowing_months(self, months: set[str] | None) -> Reader:
        """This reader, told the store's `months_with_records` when they are known."""
        if months is not None:
            self._months = months
        return self

    @classmethod
    @contextmanager
    def on_cursor(
        cls, con: duckdb.DuckDBPyConnection, store: Store, months: set[str] | None = None
    ) -> Iterator[Reader]:
        """A Reader on a new cursor of `con`, a long-lived read-only connection with the
        store attached (`Store.connect_read_only`): cursors are cheap, and each thread
        of a server needs its own (a DuckDB connection is not shared between threads)."""
        cursor = con.cursor()
        try:
            cursor.execute("USE store")  # a cursor starts in the in-memory default database
            yield cls(cursor, store, months)
        finally:
            cursor.close()

    def victims(
        self,
        start: date | None = None,
        end: date | None = None,
        basis: str = "geometry",
        columns: tuple[str, ...] = COUNT_COLUMNS,
        level: str | None = None,
        key: str | None = None,
    ) -> pd.DataFrame:
        """Victim rows that occurred in [start, end] (local dates, inclusive), with
        `district`, `beat` and `community_area` on the chosen `basis`; only those of
        area `key` of `level` when given (the filter runs in DuckDB)."""
        check_choice("basis", basis, BASES)
        areas = AREA_SQL[basis]
        sql = (
            f"SELECT {', '.join('v.' + c for c in columns)}, {areas} FROM victims v "
            "LEFT JOIN victim_areas a USING (unique_id) WHERE true"
        )
        params: list[object] = []
        if start is not None:
            sql += " AND v.occurred_at >= ?"
            params.append(pd.Timestamp(start).to_pydatetime())
        if end is not None:
            sql += " AND v.occurred_at < ?"
            params.append(pd.Timestamp(end + timedelta(days=1)).to_pydatetime())
        if level is not None and key is not None:
            check_choice("level", level, AREA_COLUMNS)
            sql += f" AND {AREA_EXPRESSIONS[basis][level]} = ?"
            params.append(key)
        return self.con.execute(sql, params).df()

    def span_counts(
        self,
        level: str,
        spans: list[Span],
        measure: str,
        basis: str,
        kind: str | None = None,
        key: str | None = None,
    ) -> pd.DataFrame:
        """Summed counts from `daily_counts`: columns `key`, `kind`, `span` (the index
        of the span in `spans`) and `n`, for one kind or all, one area or all of `level`
        (`city` for the whole city). Zero counts are absent."""
        check_choice("measure", measure, MEASURES)
        check_choice("basis", basis, BASES)
        check_choice("level", level, (*AREA_COLUMNS, CITY))
        check_recorded(level, basis)
        if kind is not None:
            check_choice("kind", kind, list(KINDS))
        known = self._area_days(level, key, measure, basis) if self._area_days else None
        if known is not None:
            return known.span_counts(spans, [kind] if kind else list(KINDS), key)
        where, params = "basis = ? AND level = ?", [basis, level]
        if kind is not None:
            where += " AND kind = ?"
            params.append(kind)
        if key is not None:
            where += " AND key = ?"
            params.append(key)
        # One pass over the table for every span: a sum per span, over the days from the
        # first span's start to the last one's end (one range the scan can use; an OR of
        # the spans is not pushed into it: five years' spans took 4 ms, not 1.4).
        sums = ", ".join(f"sum({measure}) FILTER (day BETWEEN ? AND ?)::BIGINT" for _ in spans)
        bounds = [d for span in spans for d in (span.start, span.end)]
        first, last = min(span.start for span in spans), max(span.end for span in spans)
        rows = self.con.execute(
            f"SELECT key, kind, {sums} FROM daily_counts WHERE {where} "
            "AND day BETWEEN ? AND ? GROUP BY key, kind",
            [*bounds, *params, first, last],
        ).fetchall()
        return pd.DataFrame(
            [(key, kind, i, n) for key, kind, *ns in rows for i, n in enumerate(ns) if n],
            columns=["key", "kind", "span", "n"],
        )

    def span_counts_within(
        self,
        level: str,
        key: str,
        by: str,
        spans: list[Span],
        measure: str,
        basis: str,
        kind: str,
    ) -> pd.DataFrame:
        """Counts of one kind inside area `key` of `level`, split by the area of level `by`
        holding each record (a community area's shootings per beat): columns `key` (the
        `by` area, 'unassigned' where none), `span` (index in `spans`) and `n`; zero
        counts absent. Only records inside the area count, so a beat partly inside counts
        only its part. An incident counts once, on its first victim of the kind, as in
        `daily_counts`, so the parts sum to the area's own count. `daily_counts` has no
        level-by-level split, so this reads the victims (in DuckDB)."""
        check_choice("measure", measure, MEASURES)
        check_choice("basis", basis, BASES)
        for name in (level, by):
            check_choice("level", name, AREA_COLUMNS)
            check_recorded(name, basis)
        inside, part = AREA_EXPRESSIONS[basis][level], AREA_EXPRESSIONS[basis][by]
        counted = (
            f"SELECT CAST(v.occurred_at AS DATE) AS day, {inside} AS inside, {part} AS part, "
            "row_number() OVER (PARTITION BY v.case_number ORDER BY v.occurred_at, v.unique_id)"
            " = 1 AS first FROM victims v LEFT JOIN victim_areas a USING (unique_id) "
            f"WHERE {KIND_SQL[_kind(kind)]} AND v.case_number IN (SELECT case_number "
            "FROM victims WHERE occurred_at >= ? AND occurred_at < ?)"
        )
        # Only cases with a victim inside the spans can count; each keeps all its victims,
        # so its first is still its first (8M rows: seconds -> a fraction of one).
        lo, hi = min(sp.start for sp in spans), max(sp.end for sp in spans) + timedelta(days=1)
        n = "count(*)" if measure == "victims" else "count(*) FILTER (first)"
        selects = []
        values: list[object] = [pd.Timestamp(d).to_pydatetime() for d in (lo, hi)]
        for i, span in enumerate(spans):
            selects.append(
                f"SELECT coalesce(part, '{UNKNOWN_AREA}') AS key, {i} AS span, {n}::BIGINT AS n "
                "FROM counted WHERE inside = ? AND day BETWEEN ? AND ? GROUP BY 1 HAVING n > 0"
            )
            values += [key, span.start, span.end]
        return self.con.execute(
            f"WITH counted AS ({counted}) {' UNION ALL '.join(selects)}", values
        ).df()

    def daily(
        self,
        level: str | None,
        key: str | None,
        spans: list[Span],
        measure: str,
        basis: str,
        kind: str,
    ) -> pd.Series:
        """Counts per local day (a Series indexed by date, zero days absent) of one kind
        in one area (`level` None: the city), over the days of `spans`."""
        check_recorded(level, basis)
        area = (level, key) if level and key else (CITY, CITY)
        known = self._area_days(*area, measure, basis) if self._area_days else None
        if known is not None:
            return known.daily(_kind(kind), spans, _measure(measure), area[1])
        # The days from the first span's start to the last one's end bound the scan (an
        # OR of spans is not pushed into it), the spans then pick their days.
        rows = self.con.execute(
            f"SELECT day, sum({_measure(measure)})::BIGINT AS n FROM daily_counts "
            "WHERE basis = ? AND level = ? AND key = ? AND kind = ? AND day BETWEEN ? AND ? "
            "AND (" + " OR ".join("day BETWEEN ? AND ?" for _ in spans) + ") "
            "GROUP BY day ORDER BY day",
            [basis, level or CITY, key if level else CITY, _kind(kind)]
            + [min(span.start for span in spans), max(span.end for span in spans)]
            + [d for span in spans for d in (span.start, span.end)],
        ).fetchall()
        days = pd.Index([day for day, _ in rows], name="day", dtype=object)
        return pd.Series([n for _, n in rows], index=days, name=measure, dtype="int64")

    def area_days(self, level: str, key: str | None, measure: str, basis: str) -> AreaDays:
        """Every day's count of each kind in one area (`city` for the whole city) or,
        with `key` None, in every area of `level`, for `AreaDays` to answer any span."""
        check_choice("level", level, (*AREA_COLUMNS, CITY))
        check_choice("basis", basis, BASES)
        check_recorded(level, basis)
        where, params = "basis = ? AND level = ?", [basis, level]
        if key is not None:
            where += " AND key = ?"
            params.append(key)
        # Rows as stored (one per kind, area and day), kinds as their index: no grouping,
        # and for one area no text to fetch (an 8M-row store's district: 10.6 -> 5.7 ms).
        # Every area's rows carry their key, numbered by Arrow's dictionary encoding.
        area_key = "key" if key is None else "NULL"
        rows = self.con.sql(
            f"SELECT list_position(?, kind) - 1 AS kind, {area_key} AS key, "
            f"(day - DATE '{EPOCH}')::BIGINT AS day, {_measure(measure)}::BIGINT AS n "
            f"FROM daily_counts WHERE {where}",
            params=[list(KINDS), *params],
        ).to_arrow_table()
        kinds, days, counts = (rows[c].to_numpy().astype(np.int64) for c in ("kind", "day", "n"))
        if key is not None:
            return AreaDays.from_rows(list(KINDS), [key], kinds, np.zeros_like(kinds), days, counts)
        areas = pc.dictionary_encode(rows["key"].combine_chunks())
        numbers = areas.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        return AreaDays.from_rows(
            list(KINDS), areas.dictionary.to_pylist(), kinds, numbers, days, counts
        )

    def daily_rows(self, level: str, basis: str) -> int:
        """Rows of `daily_counts` of one level and basis: what holding them all costs.
        (DuckDB skips the row groups of other levels: ~1 ms on an 8M-row store, where
        counting every level's rows in one query took 0.2 s.)"""
        return count_of(
            self.con,
            "SELECT count(*) FROM daily_counts WHERE level = ? AND basis = ?",
            [level, basis],
        )

    def profile_counts(self, where: VictimFilter) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Victims per ISO weekday (1 = Monday) and 3-hour band (0..7): weekday, band, n;
        and per age band and sex as published: age_band, sex, n. Both in one pass over
        the rows (grouping sets), the page's two side tables."""
        sql, params = where.sql()
        rows = self.con.execute(
            "SELECT grouping(weekday) = 1 AS by_age, isodow(v.occurred_at) AS weekday, "
            "hour(v.occurred_at) // 3 AS band, v.age_band, v.sex, count(*) AS n "
            f"{sql} GROUP BY GROUPING SETS ((weekday, band), (v.age_band, v.sex))",
            params,
        ).fetchall()
        hours = [(weekday, band, n) for by_age, weekday, band, _, _, n in rows if not by_age]
        ages = [(age, sex, n) for by_age, _, _, age, sex, n in rows if by_age]
        return (
            pd.DataFrame(hours, columns=["weekday", "band", "n"], dtype="int64"),
            pd.DataFrame(ages, columns=["age_band", "sex", "n"]),
        )

    def point_counts(self, where: VictimFilter) -> pd.DataFrame:
        """Victims per distinct point (EPSG:4326 degrees; NaN where missing): latitude,
        longitude, n. What a grid of cells counts, without reading whole rows."""
        sql, params = where.sql()
        return self.con.execute(
            f"SELECT v.latitude, v.longitude, count(*) AS n {sql} GROUP BY ALL", params
        ).df()

    def incidents(self, where: VictimFilter, limit: int | None = None) -> pd.DataFrame:
        """Incidents newest first, one row per case number, at block level: occurred_at
        (the latest victim's time), block, beat, community_area (the first victim's, on
        the filter's basis), victims, killed, case_number. The first `limit` only, when
        given; grouping, ordering and limit run in DuckDB. Places come from the rows the
        filter read (its `victim_areas` join on the geometry basis), never from a second
        look-up by id: on 8M rows that look-up alone scans every id (~0.3 s)."""
        if limit is None:
            return self._incidents(where)
        if self._victims_at_most(where, limit * ROWS_PER_INCIDENT):
            # No more rows than the newest ones the two steps below would read: one
            # grouping of them all, limited in DuckDB, is the same answer in one query.
            return self._incidents(where, limit=limit)
        newest = self._incidents(where, self._newest_cases(where, int(limit)))
        if len(newest) == limit or newest["victims"].sum() < limit * ROWS_PER_INCIDENT:
            # All asked for; or fewer, with fewer victims than the newest rows read: those
            # rows were then every row of the filter, so these are all its incidents.
            return newest
        # Fewer cases than asked in a full read of rows: a few cases with very many
        # victims; the full grouping is the answer.
        return self._incidents(where, limit=limit)

    def _victims_at_most(self, where: VictimFilter, most: int) -> bool:
        """Whether the filter reads at most `most` victims, as the held counts per day
        say (`knowing_area_days`); False when they are not held."""
        if self._area_days is None:
            return False
        area = (where.level, where.key) if where.level and where.key else (CITY, CITY)
        known = self._area_days(*area, "victims", where.basis)
        return known is not None and known.span_sum(_kind(where.kind), where.span, area[1]) <= most

    def _newest_cases(self, where: VictimFilter, limit: int) -> tuple[str, list[object]]:
        """SQL (and its parameters) for the case numbers of the `limit` newest incidents:
        the first `limit` distinct cases of the rows newest first, from a top-N of rows
        (DuckDB keeps a small heap) rather than grouping every row of the span (8M rows,
        a whole year: ~0.2 s). Exact: a case's first row in that order is its latest."""
        sql, params = where.sql()
        rows = (
            f"SELECT v.case_number, v.occurred_at {sql} "
            f"ORDER BY v.occurred_at DESC, v.case_number LIMIT {limit * ROWS_PER_INCIDENT}"
        )
        return (
            f"SELECT case_number FROM ({rows}) GROUP BY case_number "
            f"ORDER BY max(occurred_at) DESC, case_number LIMIT {limit}",
            params,
        )

    def _incidents(
        self,
        where: VictimFilter,
        cases: tuple[str, list[object]] | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """`incidents` of every case of the filter, or only of those `cases` selects; the
        first `limit` of them when given."""
        sql, params = where.sql(with_places=True)
        if cases is not None:
            sql += f" AND v.case_number IN ({cases[0]})"
            params = [*params, *cases[1]]
        first = "(v.occurred_at, v.unique_id)"
        return self.con.execute(
            "SELECT max(v.occurred_at) AS occurred_at, "
            f"arg_min(v.block, {first}) AS block, "
            f"arg_min({_row_area(where.basis, 'beat')}, {first}) AS beat, "
            f"arg_min({_row_area(where.basis, 'community_area')}, {first}) AS community_area, "
            "count(*) AS victims, count(*) FILTER (v.fatal) AS killed, "
            f"v.case_number {sql} GROUP BY v.case_number "
            "ORDER BY occurred_at DESC, v.case_number"
            + (f" LIMIT {int(limit)}" if limit is not None else ""),
            params,
        ).df()

    def boundary_layer(self, layer: str) -> BoundaryLayer:
        """A stored layer as geometries and arrays (EPSG:4326), for `geo/`."""
        return load_layer(self.con, layer)

    def secondary_names(self, level: str) -> dict[str, str]:
        """Key -> the feature's secondary name where it has one (neighbourhoods' sec_neigh)."""
        rows = self.con.execute(
            "SELECT key, json_extract_string(properties, '$.sec_neigh') FROM boundaries "
            "WHERE layer = ?",
            [LAYER_OF_AREA[level]],
        ).fetchall()
        return {str(k): str(v) for k, v in rows if v}

    def victims_near(
        self, lat: float, lon: float, radius_m: float, start: date, end: date, kind: str
    ) -> pd.DataFrame:
        """Victims of `kind` in [start, end] in the box around a circle of `radius_m`
        (the caller measures the distances): unique_id, case_number, occurred_at,
        latitude, longitude."""
        dlat = radius_m / 111_320
        dlon = radius_m / (111_320 * math.cos(math.radians(lat)))
        return self.con.execute(
            "SELECT unique_id, case_number, occurred_at, latitude, longitude FROM victims "
            "WHERE latitude BETWEEN ? AND ? AND longitude BETWEEN ? AND ? "
            f"AND occurred_at >= ? AND occurred_at < ? AND {KIND_SQL[_kind(kind)]}",
            [
                lat - dlat,
                lat + dlat,
                lon - dlon,
                lon + dlon,
                pd.Timestamp(start).to_pydatetime(),
                pd.Timestamp(end + timedelta(days=1)).to_pydatetime(),
            ],
        ).df()

    def web_shapes(self, layer: str) -> list[tuple[str, str, str, bytes]]:
        """key, label, simplified GeoJSON geometry (for maps) and WKB geometry of a layer."""
        rows = self.con.execute(
            "SELECT key, name, web_geometry, geometry FROM boundaries WHERE layer = ? ORDER BY key",
            [layer],
        ).fetchall()
        return [(str(k), str(n), str(w), bytes(g)) for k, n, w, g in rows]

    def map_breaks(self, level: str, kind: str, measure: str) -> list[float]:
        """The fixed count classes computed at sync (upper bounds, yearly counts)."""
        row = first_row(
            self.con,
            "SELECT breaks FROM map_breaks WHERE level = ? AND kind = ? AND measure = ?",
            [level, kind, measure],
        )
        return [float(b) for b in json.loads(row[0])] if row else []

    def area_population(self, census_sha256: str) -> pd.DataFrame:
        """Residents per area of every rated level (level, key, residents, estimated), as
        the sync computed them from the census file of this SHA-256; empty if it did not."""
        return self.con.execute(
            "SELECT level, key, residents, estimated FROM area_population "
            "WHERE census_sha256 = ? ORDER BY level, key",
            [census_sha256],
        ).df()

    def changes(
        self,
        since_sync: int | None = None,
        since_day: date | None = None,
        level: str | None = None,
        key: str | None = None,
    ) -> pd.DataFrame:
        """Records added, updated or removed by syncs after `since_sync` (or finished on
        or after `since_day`, UTC); by default by the latest victims sync alone. Only
        those recorded in area `key` of `level` when given."""
        params: list[object] = []
        if since_sync is not None:
            where = "c.sync_id > ?"
            params.append(since_sync)
        elif since_day is not None:
            where = (
                "c.sync_id IN (SELECT sync_id FROM sync_log WHERE dataset = 'victims' "
                "AND finished_at >= ?)"
            )
            params.append(pd.Timestamp(since_day).to_pydatetime())
        else:
            where = "c.sync_id = (SELECT max(sync_id) FROM sync_log WHERE dataset = 'victims')"
        if level is not None and key is not None:
            column = LEVELS[level].recorded_column
            if column is None:
                raise UsageError(f"changes are listed by recorded areas; {level} has none")
            where += f" AND c.{column} = ?"
            params.append(key)
        return self.con.execute(
            "SELECT c.sync_id, c.change, c.record_id, c.case_number, c.occurred_at, c.block, "
            "c.beat, c.district, c.community_area, c.fields_changed FROM changes c "
            f"WHERE {where} ORDER BY c.sync_id, c.occurred_at DESC, c.record_id",
            params,
        ).df()

    def sync_count(self, dataset: str = "victims") -> tuple[int | None, int]:
        """The latest sync id of `dataset` (None before the first) and how many there were."""
        row = first_row(
            self.con, "SELECT max(sync_id), count(*) FROM sync_log WHERE dataset = ?", [dataset]
        )
        return (row[0], int(row[1])) if row else (None, 0)

    def latest_sync(self, dataset: str = "victims") -> int:
        """The id of the latest sync of `dataset`; StoreError when there was none."""
        row = first_row(self.con, "SELECT max(sync_id) FROM sync_log WHERE dataset = ?", [dataset])
        if row is None or row[0] is None:
            raise StoreError(f"the store holds no {dataset} sync: {NO_STORE_HINT}")
        return int(row[0])

    def latest_sync_finished(self, dataset: str = "victims") -> datetime | None:
        """When the latest sync of `dataset` finished (UTC), None before the first: the
        one figure of `status()` a page footer needs, without its scans of every row."""
        row = first_row(
            self.con,
            "SELECT arg_max(finished_at, sync_id) FROM sync_log WHERE dataset = ?",
            [dataset],
        )
        return row[0] if row else None

    def additions_and_deaths(self, after_sync: int, died: str) -> pd.DataFrame:
        """Records added, and records updated with `died` among their changed fields, by
        syncs after `after_sync`, of records still stored: what alerts announce."""
        return self.con.execute(
            "SELECT c.sync_id, c.change, c.record_id, c.case_number, c.occurred_at, c.block, "
            "c.beat, c.district, c.community_area, c.gunshot, c.fatal FROM changes c "
            "SEMI JOIN victims v ON v.unique_id = c.record_id WHERE c.sync_id > ? AND "
            "(c.change = 'added' OR (c.change = 'updated' AND c.fatal AND c.fields_changed "
            "LIKE ?)) ORDER BY c.occurred_at DESC, c.record_id",
            [after_sync, f"%{died}%"],
        ).df()

    def recorded_areas_of_cases(self, case_numbers: list[str]) -> pd.DataFrame:
        """Each case's recorded district, beat and community area: its first victim's."""
        return self.con.execute(
            "SELECT case_number, arg_min(district, (occurred_at, unique_id)) AS district, "
            "arg_min(beat, (occurred_at, unique_id)) AS beat, "
            "arg_min(community_area, (occurred_at, unique_id)) AS community_area "
            "FROM victims WHERE list_contains(?, case_number) GROUP BY case_number",
            [case_numbers],
        ).df()

    def date_range(self) -> tuple[date, date]:
        """Local dates of the first and the latest record."""
        row = first_row(self.con, "SELECT min(occurred_at), max(occurred_at) FROM victims")
        if row is None or row[0] is None:
            raise StoreError(f"the store at {self.store.path} holds no victims: {NO_STORE_HINT}")
        return pd.Timestamp(row[0]).date(), pd.Timestamp(row[1]).date()

    def latest_date(self) -> date:
        """The local date of the most recent record: the default as-of date."""
        latest = first_row(self.con, "SELECT max(occurred_at) FROM victims")
        if latest is None or latest[0] is None:
            raise StoreError(f"the store at {self.store.path} holds no victims: {NO_STORE_HINT}")
        return pd.Timestamp(latest[0]).date()

    def resolve_as_of(self, asked: date | None) -> date:
        """The as-of date asked for, or the latest in the store; never past the data, where
        this year's count would be incomplete."""
        latest = self.latest_date()
        if asked is not None and asked > latest:
            raise UsageError(
                f"--as-of {asked} is after the last record in the store ({latest}): "
                f"this year's count would be incomplete; use --as-of {latest} or sync"
            )
        return asked or latest

    def area_labels(self, by: str) -> dict[str, str]:
        """Key -> label for the layer behind `by` ('17' -> '17TH'); asked once per reader."""
        if by not in self._labels:
            rows = self.con.execute(
                "SELECT key, name FROM boundaries WHERE layer = ?", [LAYER_OF_AREA[by]]
            ).fetchall()
            self._labels[by] = dict(rows)
        return dict(self._labels[by])

    def resolve_area(self, by: str, value: str) -> str:
        """The stored key for a user's area ('017' -> '17', '111' -> '0111', 'albany park'
        -> 'ALBANY PARK'); UsageError naming the allowed keys if there is no such area."""
        text = value.strip().upper()
        if by in ("district", "beat") and text.isdigit():
            text = str(int(text)).zfill(4 if by == "beat" else 0)
        keys = sorted(self.area_labels(by), key=area_sort_key)
        if text in keys:
            return text
        close = difflib.get_close_matches(text, keys, n=3)
        hint = (
            f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(keys[:30])}"
        )
        raise UsageError(
            f"{by.replace('_', ' ')} was {value!r} but is not in the current boundaries{hint}"
        )

    def months_with_records(self) -> set[str]:
        """Months ('YYYY-MM') with at least one record, from the citywide daily counts
        (every record is a shooting or a homicide, so each is counted there): a few
        thousand rows whatever the size of the store. Asked once per reader."""
        if self._months is None:
            rows = self.con.execute(
                "SELECT DISTINCT strftime(day, '%Y-%m') FROM daily_counts "
                "WHERE level = ? AND basis = 'geometry'",
                [CITY],
            ).fetchall()
            self._months = {r[0] for r in rows}
        return self._months

    def coverage_warnings(self, spans: list[Span]) -> list[str]:
        """Warnings for months inside `spans` with no record at all (`trends.coverage_gaps`)."""
        return coverage_gaps(self.months_with_records(), spans)

    def status(self) -> StoreStatus:
        return store_status_of(self.con)

    def summary(self) -> StoreStatus:
        """`status()` without the recorded-vs-placed comparisons, which join every victim
        to its place (~3 s on 8M rows): `placement` holds only the unassigned counts, read
        from `victim_areas` alone. What a page's footer needs on first render."""
        return store_status_of(self.con, compare_bases=False)


@dataclass(frozen=True)
class VictimFilter:
    """Which victims a row-level query reads: one kind, in one area (or the city), in
    one span, with areas on one basis. Becomes a FROM and WHERE clause, so DuckDB does
    the filtering and the page never holds the whole table."""

    span: Span
    kind: str
    basis: str = "geometry"
    level: str | None = None
    key: str | None = None

    def sql(self, with_places: bool = False) -> tuple[str, list[object]]:
        """FROM and WHERE over `victims v` (its recorded codes as published). The date
        bounds are on the bare `occurred_at` column, so DuckDB skips row groups outside
        the span (the sync writes victims in time order). On the geometry basis an area
        is matched through `victim_areas`, for the rows that pass the other filters
        only; `with_places` joins it as `a` instead, so its columns can be selected."""
        check_choice("basis", self.basis, BASES)
        joined = with_places and self.basis == "geometry"
        bounds: list[object] = [
            pd.Timestamp(self.span.start).to_pydatetime(),
            pd.Timestamp(self.span.end + timedelta(days=1)).to_pydatetime(),
        ]
        area = self.level is not None and self.key is not None
        source, params = "FROM victims v", []
        if joined:  # inner when an area filters the rows, else every victim is kept
            source += (
                f" {'' if area else 'LEFT '}JOIN victim_areas a "
                f"ON a.unique_id = v.unique_id AND {_within('a')}"
            )
            params += bounds
        sql = f"{source} WHERE {_within('v')} AND {KIND_SQL[_kind(self.kind)]}"
        params += bounds
        if self.level is not None and self.key is not None:
            check_choice("level", self.level, AREA_COLUMNS)
            check_recorded(self.level, self.basis)
            condition, values = self._area_condition(self.level, joined, bounds)
            sql += condition
            params += values
        return sql, params

    def _area_condition(
        self, level: str, joined: bool, bounds: list[object]
    ) -> tuple[str, list[object]]:
        """The filter to the area `key` of `level`, on the filter's basis."""
        found = LEVELS[level]
        if joined:
            return f" AND a.{found.place_column} = ?", [self.key]
        if self.basis == "geometry":
            return (
                " AND v.unique_id IN (SELECT unique_id FROM victim_areas "
                f"WHERE {found.place_column} = ? AND {_within()})",
                [self.key, *bounds],
            )
        return f" AND v.{found.recorded_column} = ?", [self.key]


def _within(alias: str = "") -> str:
    """The span's bounds on `occurred_at` (of table `alias`). `victim_areas` has the
    victims' time too: bounded by it, DuckDB skips its row groups outside the span
    instead of probing every id of the table (8M rows: ~0.6 s)."""
    column = f"{alias}.occurred_at" if alias else "occurred_at"
    return f"{column} >= ? AND {column} < ?"


def _row_area(basis: str, level: str) -> str:
    """SQL for a victim row's area at `level` in `Reader.incidents`: its recorded code
    (`v`) or its place (`victim_areas a`, joined by `VictimFilter.sql(with_places=True)`)."""
    if basis == "geometry":
        return f"a.{LEVELS[level].place_column}"
    recorded = LEVELS[level].recorded_column
    return f"v.{recorded}" if recorded else "NULL"


def load_layer(con: duckdb.DuckDBPyConnection, name: str) -> BoundaryLayer:
    """The stored layer `name` (beats, districts, ...) as geometries and arrays
    (EPSG:4326), for `geo/`, which takes no connection; empty if never synced."""
    rows = con.execute(
        "SELECT key, name, geometry, properties FROM boundaries WHERE layer = ?", [name]
    ).fetchall()
    return BoundaryLayer.from_rows(name, rows)


def check_recorded(level: str | None, basis: str) -> None:
    """UsageError for the recorded basis on a level that records carry no code for."""
    found = LEVELS.get(level or "")
    if basis == "recorded" and found is not None and found.recorded_column is None:
        raise UsageError(
            f"records carry no recorded {found.title}: {found.title}s are placed by "
            "their location only; use --basis geometry"
        )


def _kind(kind: str) -> str:
    check_choice("kind", kind, list(KINDS))
    return kind


def _measure(measure: str) -> str:
    check_choice("measure", measure, MEASURES)
    return measure


#: Each level's area on each basis, as SQL over `victims v` and `victim_areas a` (NULL on
#: the recorded basis for a level records do not carry).
AREA_EXPRESSIONS = {
    "geometry": {area: f"a.{level.place_column}" for area, level in LEVELS.items()},
    "recorded": {
        area: f"v.{level.recorded_column}" if level.recorded_column else "NULL"
        for area, level in LEVELS.items()
    },
}
AREA_SQL = {
    basis: ", ".join(f"{sql} AS {level}" for level, sql in columns.items())
    for basis, columns in AREA_EXPRESSIONS.items()
}


# One-question helpers for callers that ask one thing; each opens the store once.


def load_victims(
    store: Store,
    start: date | None = None,
    end: date | None = None,
    basis: str = "geometry",
    columns: tuple[str, ...] = COUNT_COLUMNS,
) -> pd.DataFrame:
    with store.reader() as q:
        return q.victims(start, end, basis, columns)


def latest_date(store: Store) -> date:
    with store.reader() as q:
        return q.latest_date()


def resolve_as_of(store: Store, asked: date | None) -> date:
    with store.reader() as q:
        return q.resolve_as_of(asked)
