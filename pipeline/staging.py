"""A read of victims staged page by page in a DuckDB temp table, then settled in SQL.

Each page is typed and checked by `schema.parse_page` and placed by
`geo.assign.place_victims` as it arrives; `staged_frame` turns it into rows of
`staged` (position in the read, typed columns, the rules the row broke, its raw
JSON if it broke any, its places) and the page is dropped. Memory is then one
page, whatever the size of the read. After the last page the rules that need the
whole read are applied in SQL: duplicate ids (`settle_duplicates`, the same rule
as `schema.combine_pages`: the latest update wins, then the later row) and the
split into `incoming` (good rows), `incoming_quarantine` and `placed` views that
the store's write reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from pipeline.schema import (
    RULE_SUPERSEDED,
    VICTIM_COLUMNS,
    ParsedPage,
    Readability,
    known_columns,
    reasons_of,
)

STAGED = "staged"

#: The order of a first load's victims and their places (`sync_victims._apply_write`,
#: `places.store_places`): by time, so DuckDB's zonemaps serve date filters.
LOAD_ORDER = "occurred_at, unique_id"

#: Raw JSON of the rows at these positions of the read (for a late-found duplicate).
RawLookup = Callable[[np.ndarray], list[str]]


@dataclass
class ReadTally:
    """What the checks of the whole read need, summed over its pages."""

    rows: int = 0
    columns: set[str] = field(default_factory=set)
    readability: dict[str, Readability] = field(default_factory=dict)
    #: Rows per broken rule, in the rules' order; duplicates are added by `settle_duplicates`.
    rule_counts: dict[str, int] = field(default_factory=dict)
    #: The largest `:updated_at` exactly as the source wrote it.
    watermark: str | None = None

    def add(self, page: ParsedPage) -> None:
        self.rows += len(page.raw)
        self.columns |= page.raw.columns
        for column, seen in page.readability.items():
            self.readability[column] = self.readability.get(column, Readability()) + seen
        for rule, mask in page.broken.items():
            self.rule_counts[rule] = self.rule_counts.get(rule, 0) + int(mask.sum())
        stamp = page.latest_update
        if stamp and (self.watermark is None or stamp > self.watermark):
            self.watermark = stamp

    def broken_rules(self) -> dict[str, int]:
        return {rule: n for rule, n in self.rule_counts.items() if n}

    def ignored_columns(self) -> list[str]:
        return sorted(self.columns - known_columns(self.columns))


def staged_frame(page: ParsedPage, places: pd.DataFrame, start: int) -> pd.DataFrame:
    """One page as rows of `staged`: the page's rows numbered from `start`. Pure."""
    reasons = reasons_of(page.broken)
    bad = np.flatnonzero(reasons.notna().to_numpy())
    raw = pd.Series(pd.NA, index=page.typed.index, dtype="string")
    if len(bad):
        texts = [json.dumps(r, default=str) for r in page.raw.rows(bad)]
        raw.iloc[bad] = texts
    frame = page.typed[list(VICTIM_COLUMNS)].assign(reasons=reasons, raw=raw)
    for column in places.columns.drop("unique_id"):
        frame[column] = places[column].array  # as is: no round trip through Python strings
    frame.insert(0, "pos", np.arange(start, start + len(frame), dtype=np.int64))
    return frame


def create_staging(con: duckdb.DuckDBPyConnection, place_columns: list[str]) -> None:
    columns = {
        "pos": "BIGINT",
        **VICTIM_COLUMNS,
        "reasons": "VARCHAR",
        "raw": "VARCHAR",
        **dict.fromkeys(place_columns, "VARCHAR"),
    }
    spec = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGED} ({spec})")


def stage(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> None:
    con.register("page", frame)
    con.execute(f"INSERT INTO {STAGED} BY NAME SELECT * FROM page")
    con.unregister("page")


def settle_duplicates(con: duckdb.DuckDBPyConnection, raw_rows: RawLookup) -> int:
    """Quarantine every staged row whose id comes again with a later update (or the same
    update, later in the read); fill in the raw JSON of those that broke no other rule
    from `raw_rows`. Return how many rows were superseded."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE superseded AS SELECT pos FROM ("
        "  SELECT pos, row_number() OVER (PARTITION BY unique_id "
        "    ORDER BY source_updated_at DESC NULLS LAST, pos DESC) AS newest"
        f"  FROM {STAGED} WHERE unique_id IN ("
        f"    SELECT unique_id FROM {STAGED} WHERE unique_id IS NOT NULL "
        "    GROUP BY unique_id HAVING count(*) > 1)"
        ") WHERE newest > 1"
    )
    missing = np.array(
        [
            pos
            for (pos,) in con.execute(
                f"SELECT pos FROM {STAGED} SEMI JOIN superseded USING (pos) "
                "WHERE raw IS NULL ORDER BY pos"
            ).fetchall()
        ],
        dtype=np.int64,
    )
    if len(missing):
        con.register("late_raw", pd.DataFrame({"pos": missing, "raw": raw_rows(missing)}))
        con.execute(
            f"UPDATE {STAGED} SET raw = late_raw.raw FROM late_raw "
            f"WHERE {STAGED}.pos = late_raw.pos"
        )
        con.unregister("late_raw")
    con.execute(
        f"UPDATE {STAGED} SET reasons = concat_ws('; ', reasons, ?) "
        "WHERE pos IN (SELECT pos FROM superseded)",
        [RULE_SUPERSEDED],
    )
    superseded = con.execute("SELECT count(*) FROM superseded").fetchall()[0][0]
    con.execute("DROP TABLE superseded")
    return int(superseded)


def split_staged(con: duckdb.DuckDBPyConnection, place_columns: list[str]) -> None:
    """Views over the settled read: `incoming` (good rows, store columns),
    `incoming_quarantine` (unique_id, reasons, raw; in read order) and `placed`
    (good rows' unique_id, places, and occurred_at to order them by LOAD_ORDER)."""
    victims = ", ".join(f'"{c}"' for c in VICTIM_COLUMNS)
    places = ", ".join(f'"{c}"' for c in ["unique_id", *place_columns, "occurred_at"])
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW incoming AS "
        f"SELECT {victims} FROM {STAGED} WHERE reasons IS NULL"
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW incoming_quarantine AS "
        f"SELECT unique_id, reasons, raw FROM {STAGED} WHERE reasons IS NOT NULL ORDER BY pos"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW placed AS SELECT {places} FROM {STAGED} WHERE reasons IS NULL"
    )


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    for view in ("incoming", "incoming_quarantine", "placed"):
        con.execute(f"DROP VIEW IF EXISTS {view}")
    con.execute(f"DROP TABLE IF EXISTS {STAGED}")
