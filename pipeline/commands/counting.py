"""`status`, `counts`, `compare` and `changes`: questions answered from the store's
count tables; they format what `pipeline.compstat` and the reader return."""

from __future__ import annotations

import argparse
import sys
from datetime import date

import pandas as pd

from pipeline import changes, queries, report, trends
from pipeline.cli import compare_target
from pipeline.commands.output import render
from pipeline.compstat import area_counts, compare_areas, compstat
from pipeline.config import LEVELS, Level
from pipeline.errors import UsageError
from pipeline.settings import Settings
from pipeline.status import store_status
from pipeline.store import Store


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    status = store_status(Store(settings.store_path))
    print(f"store: {settings.store_path}")
    for table, n in status.tables.items():
        print(f"  {table:<11} {n:>9,} rows")
    if status.first_occurred is not None:
        print(
            f"victims occurred {status.first_occurred:%Y-%m-%d %H:%M} .. "
            f"{status.last_occurred:%Y-%m-%d %H:%M} (Chicago local time)"
        )
    print("last sync per dataset (UTC):")
    for row in status.last_syncs.itertuples():
        print(
            f"  {row.dataset:<16} {row.finished_at:%Y-%m-%d %H:%M} {row.mode:<11} "
            f"from {row.source}: {row.rows_fetched:,} fetched, {row.rows_added:,} added, "
            f"{row.rows_updated:,} updated, {row.rows_removed:,} removed, "
            f"{row.rows_quarantined:,} quarantined"
            + (f", watermark {row.watermark!s}" if row.watermark else "")
        )
    print(placement_line(status.placement))
    print(
        "quarantined rows by reason:"
        if len(status.quarantine_reasons)
        else "quarantined rows: none"
    )
    for row in status.quarantine_reasons.itertuples():
        print(f"  {row.rows:>7,}  {row.reasons}")
    return 0


def placement_line(p: dict[str, int]) -> str:
    """The status line on placement, naming every layer of the registry: layers placed by
    their own polygons first (beats lead), then those derived from them (districts)."""
    levels = sorted(LEVELS.values(), key=lambda level: level.derived_from is not None)
    unassigned = [
        f"{p[f'unassigned_{level.area}']:,} {'victims ' if not i else ''}in no {_said(level)}"
        for i, level in enumerate(levels)
    ]
    differs = [
        f"{_said(level)} {p[f'{level.area}_differs']:,}"
        for level in levels
        if level.recorded_column
    ]
    return (
        f"placement on current boundaries: {', '.join(unassigned)}; recorded code differs "
        f"from the location's: {', '.join(differs)} ({p['beat_not_recorded']:,} with no "
        "recorded beat)"
    )


def _said(level: Level) -> str:
    return level.area.replace("_", " ")


def cmd_counts(args: argparse.Namespace, settings: Settings) -> int:
    if args.start and args.end and args.start > args.end:
        raise ValueError(f"--start {args.start} is after --end {args.end}")
    with Store(settings.store_path).reader() as q:
        first, latest = q.date_range()
        span = trends.Span(args.start or first, args.end or latest)
        table = area_counts(q, args.by, span, args.measure, args.kind, args.basis)
    print(render(table.rename(columns={"area": args.by}), args.format))
    return 0


def cmd_compare(args: argparse.Namespace, settings: Settings) -> int:
    by, key, every = compare_target(args)
    with Store(settings.store_path).reader() as q:
        current, previous = trends.year_to_date(q.resolve_as_of(args.as_of))
        if every and by:
            result = compare_areas(q, by, current, previous, args.measure, args.kind, args.basis)
            table = _with_rates(args, settings, q, by, result.table)
            table.insert(1, "kind", args.kind.replace("-", "_"))
            first = "area"
        else:
            if by and key:
                key = q.resolve_area(by, key)
            result = compstat(q, by, key, current, previous, args.measure, args.basis)
            table = result.table.copy()
            table.insert(0, "area", key or "citywide")
            first = "kind"
        revised = changes.revisions(q, by, key, [current, previous])
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    table = table.assign(
        as_of=current.end.isoformat(),
        current_start=current.start.isoformat(),
        previous_start=previous.start.isoformat(),
        previous_end=previous.end.isoformat(),
    )
    if args.format != "table":
        print(render(table, args.format))
        print(revised, file=sys.stderr)  # machine formats stay parseable
        return 0
    header = report.comparison_header(result.title, current, previous, args.measure, args.basis)
    print("\n".join([*header, "", _comparison_text(table, first), "", revised]))
    print("\n".join(["", *report.DEFINITIONS, *_rate_definitions(table)]))
    return 0


def _with_rates(
    args: argparse.Namespace, settings: Settings, q: queries.Reader, by: str, table: pd.DataFrame
) -> pd.DataFrame:
    """`table` with residents and rates (rounded) when `--rates` asks for them."""
    if not args.rates:
        return table.copy()
    from pipeline import rates  # geopandas and tobler: loaded only when asked for

    population = rates.population_by_area(q, by, args.population or settings.population_path)
    if population is None:
        print(f"note: {rates.NO_RATE[by]}", file=sys.stderr)
    out = rates.with_rates(table, population)
    if population is not None:
        out = out.round({c: 1 for c in RATE_COLUMNS}).round({"residents": 0})
        out["population"] = "estimated" if population.estimated else "census 2020"
    return out


RATE_COLUMNS = ("rate", "rate_previous", "rate_smoothed", "city_rate")


def _comparison_text(table: pd.DataFrame, first: str) -> str:
    """The CompStat table; with `--rates`, the rates beside it."""
    rows = report.comparison_rows(table, first)
    for column in ("residents", *RATE_COLUMNS, "population"):
        if column in table:
            shape = "{:,.0f}" if column == "residents" else "{}"
            rows[column.replace("_", " ")] = [
                "" if pd.isna(v) else shape.format(v) for v in table[column]
            ]
    return rows.to_string(index=False)


def _rate_definitions(table: pd.DataFrame) -> list[str]:
    if "rate" not in table:
        return []
    from pipeline import rates

    return [rates.RATE_DEFINITION, "rate smoothed: empirical Bayes (esda), toward the city's rate."]


def cmd_changes(args: argparse.Namespace, settings: Settings) -> int:
    since_sync, since_day = _since(args.since)
    by, key, _ = compare_target(args)
    with Store(settings.store_path).reader() as q:
        if by and key:
            key = q.resolve_area(by, key)
        table = q.changes(since_sync, since_day, by, key)
    if args.format == "table" and table.empty:
        print("no records were added, updated or removed")
        return 0
    print(render(table, args.format))
    return 0


def _since(text: str | None) -> tuple[int | None, date | None]:
    if text is None:
        return None, None
    if text.strip().isdigit():
        return int(text), None
    try:
        return None, date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--since was {text!r} but must be a sync id or YYYY-MM-DD") from None
