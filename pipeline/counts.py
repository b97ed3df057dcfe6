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
    """Replace `daily_counts` from the victims and their places (inside the sync's write)."""
    kinds = " UNION ALL ".join(
        f"SELECT '{kind}' AS kind, * FROM base WHERE {rule}" for kind, rule in KIND_SQL.items()
    )
    areas = " UNION ALL ".join(
        f"SELECT kind, unique_id, case_number, occurred_at, '{basis}' AS basis, "
        f"'{level}' AS level, coalesce({column}, '{UNKNOWN_AREA}') AS key FROM kinds"
        for level, columns in LEVEL_COLUMNS.items()
        for basis, column in zip(("geometry", "recorded"), columns, strict=True)
    )
    recorded = ", ".join(f"v.{c}" for c in RECORDED_COLUMNS) or "NULL AS no_recorded_code"
    con.execute("DELETE FROM daily_counts")
    con.execute(
        f"""
        INSERT INTO daily_counts BY NAME
        WITH base AS (
            SELECT v.unique_id, v.case_number, v.occurred_at, v.gunshot, v.fatal,
                   {recorded}, a.* EXCLUDE (unique_id)
            FROM victims v LEFT JOIN victim_areas a USING (unique_id)
        ),
        kinds AS ({kinds}),
        placed AS ({areas}),
        ranked AS (
            SELECT *, row_number() OVER (
                PARTITION BY basis, level, kind, case_number ORDER BY occurred_at, unique_id
            ) = 1 AS first_of_incident
            FROM placed
        )
        SELECT basis, level, key, kind, CAST(occurred_at AS DATE) AS day,
               count(*) AS victims, count(*) FILTER (first_of_incident) AS incidents
        FROM ranked GROUP BY ALL
        """
    )
