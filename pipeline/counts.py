"""Pre-aggregated counts, written at sync: what every count the product shows is summed from.

`daily_counts` holds, for each basis, level, area, kind and local day, the
victims and the incidents counted there. A question ("shootings in District 17
this year against last year", "counts by beat in 2025") is then a `GROUP BY`
and a sum over a few thousand rows, never a pass over every victim.

Incidents are made additive by counting each once: on its first victim's date
and in its first victim's place (first by time, then by id), among the victims
of the kind counted. A shooting whose victims fall in two beats counts as one
incident, in the beat of the first. Victims are people: each counts where and
when it happened.

A sync recounts only the days its changes touch (`note_count_changes`, then
`refresh_daily_counts`); new boundaries move every victim, so they recount all
(`rebuild_daily_counts`). tests/test_store_faults.py checks the two agree.
"""

from __future__ import annotations

import duckdb

from pipeline.aggregate import KIND_SQL, UNKNOWN_AREA
from pipeline.config import LEVELS

CITY = "city"

#: Level -> (geometry-basis column of victim_areas, recorded column of victims; NULL for
#: a level records do not carry). `city` is one area holding every record.
LEVEL_COLUMNS = {
    **{
        level.area: (level.place_column, level.recorded_column or "NULL")
        for level in LEVELS.values()
    },
    CITY: (f"'{CITY}'", f"'{CITY}'"),
}

RECORDED_COLUMNS = [level.recorded_column for level in LEVELS.values() if level.recorded_column]

DAILY_COUNT_COLUMNS: dict[str, str] = {
    "basis": "VARCHAR",  # geometry | recorded
    "level": "VARCHAR",  # district | beat | community_area | city
    "key": "VARCHAR",  # the area's key; 'unassigned' where a record has none
    "kind": "VARCHAR",  # shootings | fatal-shootings | nonfatal-shootings | homicides
    "day": "DATE",  # Chicago local date
    "victims": "INTEGER",
    "incidents": "INTEGER",  # incidents whose first victim (of this kind) is here that day
}


def rebuild_daily_counts(con: duckdb.DuckDBPyConnection) -> None:
    """Replace `daily_counts` from the victims and their places (inside the sync's write).

    One statement (`_counted_rows`): each victim's kinds and whether it is its
    incident's first victim of that kind (first by time, then id: the same victim at
    every level); one GROUPING SETS pass counts both for every level and basis, and
    each kind becomes its own rows. Measured on 8M victims (2 loaded cores): 29 s CPU,
    where a temp table of every flagged victim and one GROUP BY per level and basis
    took 67 s; expanding every victim into a row per kind, level and basis before
    counting was slower still (31 s at 1M). Also measured and dropped (8M, 5 levels):
    pre-grouping per day and area before the grouping sets (same CPU, more at 1M), and
    joining the firsts back on the rowid instead of the id (31 -> 42 s CPU).
    """
    con.execute("DELETE FROM daily_counts")
    con.execute(f"INSERT INTO daily_counts BY NAME {_counted_rows('victims', None)}")


#: The (case_number, day) of every victim whose counting a sync's write may change,
#: before and after it: written by `note_count_changes`, read by `refresh_daily_counts`.
DIRTY = "count_dirty"

#: What a victim's counts depend on: its incident, day, kinds, recorded codes and places.
_COUNTED = ["case_number", "occurred_at", "gunshot", "fatal", *RECORDED_COLUMNS]
_PLACES = [level.place_column for level in LEVELS.values()]


def note_count_changes(con: duckdb.DuckDBPyConnection, stored: str) -> None:
    """Before a sync writes the victims: note in DIRTY the (case, day) of each victim that
    is added, removed or changed in anything it is counted by, before and after.
    `stored` is the relation of the stored victims the read covers (all of them on a
    full read); the new rows are the `incoming` and `placed` views of the staging (see
    `pipeline.staging`). A join on the id, not EXCEPT: at 1M rows EXCEPT ALL spilled
    200 MB to disk and took 12 s."""
    columns = [*_COUNTED, *_PLACES]
    pick = ", ".join(f"v.{c}" for c in _COUNTED) + ", " + ", ".join(f"a.{c}" for c in _PLACES)
    differs = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in columns)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {DIRTY} AS "
        "WITH n AS ("
        f"  SELECT v.unique_id, {pick} FROM incoming v LEFT JOIN placed a USING (unique_id)"
        "), o AS ("
        f"  SELECT v.unique_id, {pick} FROM {stored} v "
        "  LEFT JOIN victim_areas a USING (unique_id)"
        "), d AS ("
        "  SELECT n.unique_id IS NOT NULL AS has_new, o.unique_id IS NOT NULL AS has_old, "
        "  n.case_number AS new_case, CAST(n.occurred_at AS DATE) AS new_day, "
        "  o.case_number AS old_case, CAST(o.occurred_at AS DATE) AS old_day "
        "  FROM n FULL JOIN o ON n.unique_id = o.unique_id "
        f"  WHERE n.unique_id IS NULL OR o.unique_id IS NULL OR {differs}"
        ") "
        "SELECT DISTINCT case_number, day FROM ("
        "  SELECT new_case AS case_number, new_day AS day FROM d WHERE has_new "
        "  UNION ALL SELECT old_case, old_day FROM d WHERE has_old)"
    )


def refresh_daily_counts(con: duckdb.DuckDBPyConnection) -> None:
    """Bring `daily_counts` up to date after a sync's write, recounting only the days
    its changes touch (DIRTY; all of them without it): each day of a changed victim,
    before and after, and every day of the incidents they belong to, since an incident
    counts on its first victim's day and a change can move which victim is first. The
    days are recounted whole, from every victim of every incident seen on them."""
    if not has_temp_table(con, DIRTY):
        rebuild_daily_counts(con)
        return
    con.execute(
        "CREATE OR REPLACE TEMP TABLE count_days AS "
        f"SELECT day FROM {DIRTY} UNION "
        f"SELECT CAST(v.occurred_at AS DATE) FROM victims v SEMI JOIN {DIRTY} d "
        "ON v.case_number IS NOT DISTINCT FROM d.case_number"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE count_scope AS "
        f"SELECT {', '.join('v.' + c for c in ['unique_id', *_COUNTED])} FROM victims v "
        "SEMI JOIN ("
        "  SELECT DISTINCT case_number FROM victims "
        "  WHERE CAST(occurred_at AS DATE) IN (SELECT day FROM count_days)"
        ") c ON v.case_number IS NOT DISTINCT FROM c.case_number"
    )
    con.execute("DELETE FROM daily_counts WHERE day IN (SELECT day FROM count_days)")
    con.execute(f"INSERT INTO daily_counts BY NAME {_counted_rows('count_scope', 'count_days')}")
    for table in (DIRTY, "count_days", "count_scope"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _counted_rows(victims: str, days: str | None) -> str:
    """The SELECT of the `daily_counts` rows of relation `victims` (whole incidents),
    keeping only the days in table `days` when given. One statement, nothing
    materialised in between: `_flagged` (one window), every (basis, level) counted in
    one GROUPING SETS pass over it, then each kind unpivoted into its own rows. Was a
    temp table of every victim and one GROUP BY per (basis, level) over it: the largest
    memory of an 8M-row sync."""
    sets = _grouping_sets()
    # The city is one set (day alone) for both its bases: `_set_of` names both.
    grouped = ", ".join(dict.fromkeys(f"(day{', ' + c if c else ''})" for _, _, c in sets))
    n_kinds = len(KIND_SQL)
    sums = ", ".join(
        f"count(*) FILTER (k{i}) AS v{i}, count(*) FILTER (f{i}) AS n{i}" for i in range(n_kinds)
    )
    kinds = ", ".join(f"({i + 1}, '{kind}')" for i, kind in enumerate(KIND_SQL))
    victims_of = ", ".join(f"v{i}" for i in range(n_kinds))
    incidents_of = ", ".join(f"n{i}" for i in range(n_kinds))
    per_area = (
        f"SELECT day, {_set_of(sets)}, {sums} FROM ({_flagged(victims, days)}) "
        f"GROUP BY GROUPING SETS ({grouped})"
    )
    return (
        "SELECT * FROM ("
        "  SELECT basis, level, key, k.kind, day, "
        f"  [{victims_of}][k.i] AS victims, [{incidents_of}][k.i] AS incidents "
        f"  FROM (SELECT unnest(bases) AS basis, * EXCLUDE (bases) FROM ({per_area})) "
        f"  CROSS JOIN (VALUES {kinds}) k(i, kind)"
        ") WHERE victims > 0"
    )


def _grouping_sets() -> list[tuple[str, str, str | None]]:
    """(basis, level, column) of every count: each level's column on each basis it has
    (None: the city, one area holding every record, on both bases)."""
    sets: list[tuple[str, str, str | None]] = []
    for level, columns in LEVEL_COLUMNS.items():
        for basis, column in zip(("geometry", "recorded"), columns, strict=True):
            if column == "NULL":  # a level records carry no code for has no recorded basis
                continue
            sets.append((basis, level, None if level == CITY else column))
    return sets


def _set_of(sets: list[tuple[str, str, str | None]]) -> str:
    """Bases (a list), level and key of a GROUPING SETS row, told apart by which column it is
    grouped by (`GROUPING(c) = 0`); the empty set (day alone) is the city on both bases."""
    basis = " ".join(f"WHEN GROUPING({c}) = 0 THEN ['{b}']" for b, _, c in sets if c)
    level = " ".join(f"WHEN GROUPING({c}) = 0 THEN '{lv}'" for _, lv, c in sets if c)
    key = " ".join(
        f"WHEN GROUPING({c}) = 0 THEN coalesce({c}, '{UNKNOWN_AREA}')" for _, _, c in sets if c
    )
    city = sorted(b for b, lv, c in sets if c is None)
    return (
        f"CASE {basis} ELSE {city!r} END AS bases, "
        f"CASE {level} ELSE '{CITY}' END AS level, CASE {key} ELSE '{CITY}' END AS key"
    )


def _flagged(victims: str, days: str | None) -> str:
    """Each victim of relation `victims` with its day, recorded codes and places, and
    per kind `k<i>` (it is of that kind) and `f<i>` (it is its incident's first of it)."""
    kinds = list(KIND_SQL.values())
    is_kind = ", ".join(f"({rule}) AS k{i}" for i, rule in enumerate(kinds))
    is_first = ", ".join(f"coalesce(f.f{i}, false) AS f{i}" for i in range(len(kinds)))
    recorded = ", ".join(f"v.{c}" for c in RECORDED_COLUMNS) or "NULL AS no_recorded_code"
    # The firsts see every victim of an incident; only then are other days left out.
    only_days = f"WHERE day IN (SELECT day FROM {days})" if days else ""
    return (
        "SELECT * FROM ("
        f"  SELECT CAST(v.occurred_at AS DATE) AS day, {recorded}, a.* EXCLUDE (unique_id), "
        f"  {is_kind}, {is_first} FROM {victims} v "
        "  LEFT JOIN victim_areas a USING (unique_id) "
        f"  LEFT JOIN ({_firsts(victims)}) f USING (unique_id)"
        f") {only_days}"
    )


def _firsts(victims: str) -> str:
    """The ids of the victims of relation `victims` that are their incident's first of a
    kind, with `f<i>` per kind. One window for every kind (one sort, not one per kind)
    over the few columns it needs: sorting the victims with their places as well spilled
    to disk at 8M rows (28 s CPU against 17 s for this and the join back)."""
    kinds = list(KIND_SQL.values())
    # A victim is its incident's first of a kind if it is of that kind and none before it is.
    flags = ", ".join(
        f"({rule}) AND count(*) FILTER ({rule}) OVER incident = 1 AS f{i}"
        for i, rule in enumerate(kinds)
    )
    incident = (
        "WINDOW incident AS (PARTITION BY case_number ORDER BY occurred_at, unique_id "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    )
    any_first = " OR ".join(f"f{i}" for i in range(len(kinds)))
    return f"SELECT * FROM (SELECT unique_id, {flags} FROM {victims} {incident}) WHERE {any_first}"


def has_temp_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether this connection has a temporary table `name`."""
    return bool(
        con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE temporary AND table_name = ?", [name]
        ).fetchall()
    )
