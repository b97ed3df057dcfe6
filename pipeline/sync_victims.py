"""Victims in a sync: where to resume, the read (typed and placed page by page),
and the write that replaces or upserts them with their quarantine."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from geo.assign import Placement, place_victims
from pipeline.changes import record_changes
from pipeline.errors import IncompleteReadError, ShrinkError
from pipeline.schema import VICTIM_COLUMNS, DateWindow, ParsedPage, combine_pages, parse_page
from pipeline.settings import Settings
from pipeline.sources import VictimSource
from pipeline.store import VICTIM_AREA_COLUMNS, count_of, first_row
from pipeline.synclog import MakeBar, SyncReport, log_sync, utc_now


def incremental_watermark(
    con: duckdb.DuckDBPyConnection, source: VictimSource, settings: Settings
) -> str | None:
    """The watermark to resume from, or None when a full read is due.

    A full read is due when the source cannot filter by update time, when the
    store was last filled from a different source, when there is no watermark
    yet, or when the last full read is older than `settings.full_refresh_days`
    (deletions upstream only disappear on a full read).
    """
    if not source.incremental:
        return None
    last = first_row(
        con,
        "SELECT source, watermark FROM sync_log WHERE dataset = 'victims' "
        "ORDER BY sync_id DESC LIMIT 1",
    )
    if last is None or last[0] != source.description or not last[1]:
        return None
    last_full = first_row(
        con,
        "SELECT max(finished_at) FROM sync_log WHERE dataset = 'victims' AND mode = 'full' "
        "AND source = ?",
        [source.description],
    )
    cutoff = utc_now() - timedelta(days=settings.full_refresh_days)
    if last_full is None or last_full[0] is None or last_full[0] < cutoff:
        return None
    return str(last[1])


@dataclass
class Fetched:
    """A read of victims: pages already typed (see `schema.parse_page`), not yet combined."""

    pages: list[ParsedPage] = field(default_factory=list)
    places: list[pd.DataFrame] = field(default_factory=list)  # `place_victims` per page
    rows: int = 0
    watermark: str | None = None  # the largest :updated_at seen


def fetch_victims(
    source: VictimSource,
    since: str | None,
    placing: Future[Placement],
    make_bar: MakeBar,
    attempts: int = 1,
) -> Fetched:
    """Read every page, typing and placing each as it arrives so the work overlaps the
    next download. `placing` gives the boundaries once they are stored. A read that
    does not reconcile with the source's own count is started again, up to `attempts`
    times in all; then its IncompleteReadError stands and nothing is written."""
    for attempt in range(1, attempts + 1):
        try:
            return _read_once(source, since, placing, make_bar)
        except IncompleteReadError as exc:
            if attempt == attempts:
                raise IncompleteReadError(
                    f"{exc}; gave up after {attempts} whole reads. Nothing in the store "
                    "was changed."
                ) from exc
    raise AssertionError("unreachable: attempts must be at least 1")


def _read_once(
    source: VictimSource, since: str | None, placing: Future[Placement], make_bar: MakeBar
) -> Fetched:
    expected = source.count(since)
    bar = make_bar("victims", expected)
    fetched = Fetched()
    dates = DateWindow.now()
    try:
        for page in source.pages(since, expected):
            parsed = parse_page(page, dates)
            fetched.pages.append(parsed)
            fetched.places.append(place_victims(parsed.points_in_city(), placing.result()))
            fetched.rows += len(page)
            stamp = parsed.latest_update
            if stamp and (fetched.watermark is None or stamp > fetched.watermark):
                fetched.watermark = stamp
            bar.update(len(page))
    finally:
        bar.close()
    return fetched


def store_victims(
    con: duckdb.DuckDBPyConnection,
    sync_id: int,
    source: VictimSource,
    fetched: Fetched,
    since: str | None,
    started: datetime,
    settings: Settings,
) -> tuple[SyncReport, pd.DataFrame]:
    """Validate a read, then replace (full read) or upsert (incremental) it; log it.
    Return the report and the places of the victims written. ShrinkError, with the
    store untouched, when the write would take away too many stored rows."""
    validated = combine_pages(
        fetched.pages, "victims", source.optional_columns, source.declared_columns()
    )
    mode = "full" if since is None else "incremental"
    counts = _write_victims(con, sync_id, validated.victims, validated.quarantine, mode)
    check_shrink(
        stored=counts.pop("rows_before"),
        removed=counts["rows_removed"],
        kept=count_of(con, "SELECT count(*) FROM victims"),
        settings=settings,
    )
    report = SyncReport(
        "victims",
        source.description,
        mode,
        rows_fetched=fetched.rows,
        rows_quarantined=len(validated.quarantine),
        watermark=fetched.watermark or since,
        rule_counts=validated.rule_counts,
        ignored_columns=validated.ignored_columns,
        **counts,
    )
    log_sync(con, sync_id, report, started)
    places = pd.concat(fetched.places, ignore_index=True) if fetched.places else None
    return report, places.iloc[validated.kept] if places is not None else _no_places()


def check_shrink(stored: int, removed: int, kept: int, settings: Settings) -> None:
    """Refuse a write that removes (or quarantines) more than `settings.max_shrink` of
    the `stored` victims unless shrinking is allowed, and one that would leave no
    victim at all where there were some, always. Raised inside the store's write, so
    the store stays as it was."""
    if stored and not kept:
        raise ShrinkError(
            f"victims: the source gave no valid row, which would empty the store of its "
            f"{stored:,} victims; nothing was changed. `python -m pipeline status` lists "
            "what was quarantined in earlier syncs; check the source."
        )
    share = removed / stored if stored else 0.0
    if share > settings.max_shrink and not settings.allow_shrink:
        raise ShrinkError(
            f"victims: this sync would remove or quarantine {removed:,} of the {stored:,} "
            f"stored victims ({share:.1%}, more than the {settings.max_shrink:.0%} allowed); "
            "nothing was changed. If the portal really dropped them, run again with "
            "--allow-shrink."
        )


def _write_victims(
    con: duckdb.DuckDBPyConnection,
    sync_id: int,
    victims: pd.DataFrame,
    quarantine: pd.DataFrame,
    mode: str,
) -> dict[str, int]:
    """Replace (full) or upsert (incremental) victims and their quarantine; return row counts."""
    con.register("incoming", victims[list(VICTIM_COLUMNS)])
    con.register("incoming_quarantine", quarantine)
    before = count_of(con, "SELECT count(*) FROM victims")
    added = count_of(con, "SELECT count(*) FROM incoming i ANTI JOIN victims v USING (unique_id)")
    updated = count_of(
        con,
        "SELECT count(*) FROM incoming i JOIN victims v USING (unique_id) "
        "WHERE i.source_updated_at IS DISTINCT FROM v.source_updated_at",
    )
    if mode != "full":  # rows read again replace their stored versions, good or quarantined
        con.execute(
            "CREATE OR REPLACE TEMP TABLE touched AS "
            "SELECT unique_id FROM incoming UNION "
            "SELECT unique_id FROM incoming_quarantine WHERE unique_id IS NOT NULL"
        )
    record_changes(con, sync_id, full_read=mode == "full")
    if mode == "full":
        removed = count_of(con, "SELECT count(*) FROM victims ANTI JOIN incoming USING (unique_id)")
        con.execute("DELETE FROM victims")
        con.execute("DELETE FROM quarantine WHERE dataset = 'victims'")
    else:
        removed = count_of(
            con,
            "SELECT count(*) FROM victims v SEMI JOIN touched USING (unique_id) "
            "ANTI JOIN incoming USING (unique_id)",
        )
        con.execute("DELETE FROM victims WHERE unique_id IN (SELECT unique_id FROM touched)")
        con.execute(
            "DELETE FROM quarantine WHERE dataset = 'victims' "
            "AND unique_id IN (SELECT unique_id FROM touched)"
        )
    con.execute("INSERT INTO victims BY NAME SELECT * FROM incoming")
    con.execute(
        "INSERT INTO quarantine BY NAME SELECT 'victims' AS dataset, "
        f"{int(sync_id)} AS sync_id, * FROM incoming_quarantine"
    )
    con.unregister("incoming")
    con.unregister("incoming_quarantine")
    return {
        "rows_added": added,
        "rows_updated": updated,
        "rows_removed": removed,
        "rows_before": before,
    }


def _no_places() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in VICTIM_AREA_COLUMNS})
