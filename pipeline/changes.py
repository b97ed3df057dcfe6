"""What each sync changed, record by record: added, updated (and which fields), removed.

A non-fatal shooting reclassified as a homicide when the victim dies, a
corrected location or date, a record withdrawn upstream: outreach teams need
to see these, and a count for a past date can move because of them. Found
from the incoming rows and the stored ones before the sync's write (the store
read-only), and written by it. The first sync into an empty store records
nothing: there is no "before".
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from pipeline.config import LEVELS

if TYPE_CHECKING:
    from pipeline.queries import Reader
    from pipeline.trends import Span

#: One row per changed record per sync. Block level only; no names exist to store.
CHANGE_COLUMNS: dict[str, str] = {
    "sync_id": "INTEGER",
    "change": "VARCHAR",  # added | updated | removed
    "record_id": "VARCHAR",  # the victim's unique_id
    "case_number": "VARCHAR",
    "occurred_at": "TIMESTAMP",
    "block": "VARCHAR",
    "beat": "VARCHAR",  # as recorded
    "district": "VARCHAR",
    "community_area": "VARCHAR",
    "gunshot": "BOOLEAN",
    "fatal": "BOOLEAN",
    "fields_changed": "VARCHAR",  # 'victimization_primary: BATTERY -> HOMICIDE; ...'
}

#: Fields whose change makes an update worth telling (the update stamp alone is not).
TRACKED = (
    "case_number",
    "occurred_at",
    "block",
    "victimization_primary",
    "incident_primary",
    "gunshot",
    "fatal",
    "district",
    "beat",
    "community_area",
    "latitude",
    "longitude",
)
_KEPT = "case_number, occurred_at, block, beat, district, community_area, gunshot, fatal"


#: The changes a sync found, held until its write (`store_changes`).
PENDING = "pending_changes"


def find_changes(con: duckdb.DuckDBPyConnection, sync_id: int, full_read: bool) -> int:
    """Work out how the `incoming` rows (a registered view) differ from the stored
    `victims`, into the temp table PENDING (the store is only read, before its write); on
    an incremental read only the `touched` ids can be removed. Returns how many changes
    were found (none on a first sync: there is no "before")."""
    columns = ", ".join(f'"{c}" {kind}' for c, kind in CHANGE_COLUMNS.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PENDING} ({columns})")
    if not con.execute("SELECT 1 FROM victims LIMIT 1").fetchall():
        return 0
    differs = " OR ".join(f"i.{f} IS DISTINCT FROM v.{f}" for f in TRACKED)
    fields = ", ".join(
        f"CASE WHEN i.{f} IS DISTINCT FROM v.{f} THEN '{f}: ' || coalesce(v.{f}::VARCHAR, '-') "
        f"|| ' -> ' || coalesce(i.{f}::VARCHAR, '-') END"
        for f in TRACKED
    )
    gone = (
        "victims v ANTI JOIN incoming USING (unique_id)"
        if full_read
        else "victims v SEMI JOIN touched USING (unique_id) ANTI JOIN incoming USING (unique_id)"
    )
    con.execute(
        f"""
        INSERT INTO {PENDING} BY NAME
        SELECT {int(sync_id)} AS sync_id, 'added' AS change, unique_id AS record_id, {_KEPT},
               NULL AS fields_changed
        FROM incoming i ANTI JOIN victims v USING (unique_id)
        UNION ALL BY NAME
        SELECT {int(sync_id)} AS sync_id, 'updated' AS change, i.unique_id AS record_id,
               i.case_number, i.occurred_at, i.block, i.beat, i.district, i.community_area,
               i.gunshot, i.fatal, concat_ws('; ', {fields}) AS fields_changed
        FROM incoming i JOIN victims v USING (unique_id) WHERE {differs}
        UNION ALL BY NAME
        SELECT {int(sync_id)} AS sync_id, 'removed' AS change, unique_id AS record_id, {_KEPT},
               NULL AS fields_changed
        FROM {gone}
        """
    )
    return int(con.execute(f"SELECT count(*) FROM {PENDING}").fetchall()[0][0])


def store_changes(con: duckdb.DuckDBPyConnection) -> None:
    """Add the changes `find_changes` found to `changes` (inside the store's write)."""
    con.execute(f"INSERT INTO changes BY NAME SELECT * FROM {PENDING}")
    con.execute(f"DROP TABLE {PENDING}")


#: How a reclassification as homicide reads in `fields_changed` (the victim died).
DIED = "fatal: false -> true"


def tally(changes: pd.DataFrame) -> dict[str, int]:
    """Counts of a `changes` listing: added, removed, reclassified (as homicide), corrected
    (any other update). Pure: DataFrame in, numbers out."""
    kind = changes["change"].astype(str)
    fields = changes["fields_changed"].fillna("").astype(str)
    died = (kind == "updated") & fields.str.contains(DIED, regex=False)
    return {
        "added": int((kind == "added").sum()),
        "removed": int((kind == "removed").sum()),
        "reclassified": int(died.sum()),
        "corrected": int(((kind == "updated") & ~died).sum()),
    }


def in_spans(changes: pd.DataFrame, spans: list[tuple[date, date]]) -> pd.DataFrame:
    """The changes to records that occurred inside any of `spans` (local dates, inclusive)."""
    day = pd.to_datetime(changes["occurred_at"]).dt.date
    inside = pd.Series(False, index=changes.index)
    for start, end in spans:
        inside |= (day >= start) & (day <= end)
    return changes[inside]


def revision_line(changes: pd.DataFrame, sync_id: int | None) -> str:
    """One sentence on how much the last sync revised the records behind some figures."""
    if sync_id is None:
        return "Revisions: this store has had one sync only; nothing to compare with."
    counts = tally(changes)
    if not sum(counts.values()):
        return f"Revisions: the last sync (#{sync_id}) changed no record in these periods."
    parts = [
        f"{counts['added']} added",
        f"{counts['removed']} removed",
        f"{counts['reclassified']} reclassified as homicide",
        f"{counts['corrected']} otherwise corrected (date, place, kind)",
    ]
    return (
        f"Revisions since the previous sync (sync #{sync_id}): in these periods "
        f"{', '.join(parts)} victim records; the figures above include them."
    )


def revisions(q: Reader, level: str | None, key: str | None, spans: list[Span]) -> str:
    """`revision_line` for the records of area `key` (its recorded code; citywide for a
    level with none) that occurred inside `spans`, from the last victims sync's changes."""
    last, syncs = q.sync_count("victims")
    recorded = level is not None and key is not None and LEVELS[level].recorded_column
    table = q.changes(level=level if recorded else None, key=key if recorded else None)
    dated = in_spans(table, [(s.start, s.end) for s in spans])
    return revision_line(dated, last if last is not None and syncs > 1 else None)
