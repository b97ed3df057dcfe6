"""`python -m pipeline`: sync, status, counts.

The edge where errors become one line on stderr and a non-zero exit status;
nothing below this module prints or exits.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from pipeline import aggregate, alerts, changes, queries, report, trends
from pipeline.compstat import area_counts, compare_areas, compstat
from pipeline.config import LAYERS, LEVELS
from pipeline.errors import PipelineError, UsageError
from pipeline.export import safe_csv
from pipeline.schema import normalize_name
from pipeline.settings import Settings
from pipeline.store import Store
from pipeline.sync import Bar, SyncRequest, run_sync

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    settings = Settings.from_env(
        data_dir=args.data_dir.resolve() if args.data_dir else None,
        domain=getattr(args, "domain", None),
    )
    try:
        return int(args.run(args, settings) or 0)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_ERROR
    except ValueError as exc:  # a user value outside what is allowed
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the machine's, not ours: a full disk, a vanished folder
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted: the store is unchanged", file=sys.stderr)
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where the store lives (default: data/ in the project, or $DATA_DIR)",
    )

    sync = commands.add_parser("sync", parents=[common], help="fetch records into the store")
    sync.add_argument(
        "--full", action="store_true", help="re-read everything (rows deleted upstream disappear)"
    )
    sync.add_argument(
        "--domain",
        help="Socrata host, may include http:// "
        "(default: data.cityofchicago.org, or $SOCRATA_DOMAIN)",
    )
    sync.add_argument(
        "--victims",
        type=Path,
        nargs="+",
        action="extend",
        metavar="PATH",
        help="victims CSV/JSON files or folders instead of Socrata",
    )
    sync.add_argument(
        "--allow-shrink",
        action="store_true",
        help="accept a sync that removes or quarantines more than 5%% of the stored victims",
    )
    sync.add_argument(
        "--optional-column",
        action="append",
        default=[],
        metavar="NAME",
        help="a known source column the source may lack (repeatable); "
        "otherwise a missing column is schema drift",
    )
    for level in LEVELS.values():
        sync.add_argument(
            f"--{level.layer.replace('_', '-')}",
            type=Path,
            metavar="PATH",
            help=f"{level.title.lower()} boundaries (GeoJSON) instead of dataset {level.dataset}",
        )
    sync.set_defaults(run=cmd_sync)

    status = commands.add_parser("status", parents=[common], help="what the store holds")
    status.set_defaults(run=cmd_status)

    counts = commands.add_parser("counts", parents=[common], help="counts per area")
    counts.add_argument("--by", required=True, choices=aggregate.AREA_COLUMNS)
    counts.add_argument("--start", type=iso_date, metavar="YYYY-MM-DD")
    counts.add_argument("--end", type=iso_date, metavar="YYYY-MM-DD", help="inclusive")
    counts.add_argument(
        "--measure",
        choices=aggregate.MEASURES,
        default="victims",
        help="victims (people) or incidents (distinct case numbers)",
    )
    counts.add_argument("--kind", choices=list(aggregate.KINDS), default="shootings")
    add_basis(counts)
    counts.add_argument("--format", choices=["table", "csv", "json"], default="table")
    counts.set_defaults(run=cmd_counts)

    compare = commands.add_parser(
        "compare", parents=[common], help="CompStat table: year to date against last year"
    )
    where = add_area(compare)
    where.add_argument("--citywide", action="store_true")
    for level in LEVELS.values():
        where.add_argument(
            f"--all-{level.layer.replace('_', '-')}",
            dest=f"all_{level.area}",
            action="store_true",
            help=f"one row per {level.title.lower()}",
        )
    add_as_of_and_measure(compare)
    compare.add_argument(
        "--kind",
        choices=list(aggregate.KINDS),
        default="shootings",
        help="with --all-*: which kind to list (default: shootings)",
    )
    add_basis(compare)
    compare.add_argument("--format", choices=["table", "csv", "json"], default="table")
    compare.add_argument(
        "--rates",
        action="store_true",
        help="with --all-*: residents and rates per 100,000 in the period, plus the smoothed "
        "and city-wide rates (estimated populations outside community areas; none for beats)",
    )
    compare.add_argument(
        "--population",
        type=Path,
        metavar="FILE",
        help="census CSV (GEOID = community area number, TOT_POP) for --rates "
        "(default: $POPULATION_FILE or the 2020 census shipped in pipeline/data)",
    )
    compare.set_defaults(run=cmd_compare)

    brief = commands.add_parser(
        "brief", parents=[common], help="one-page PDF or PNG brief for a meeting"
    )
    add_area(brief)
    add_as_of_and_measure(brief)
    add_basis(brief)
    brief.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE.pdf|FILE.png",
        help="where to write (default: brief_<area>_<as-of>.pdf here)",
    )
    brief.set_defaults(run=cmd_brief)

    hot = commands.add_parser(
        "hotspots", parents=[common], help="Getis-Ord Gi* hot spots (FDR-corrected)"
    )
    hot.add_argument(
        "--level",
        choices=["beat", "hex"],
        default="beat",
        help="beats (contiguity) or ~350 m H3 hexagons (first ring)",
    )
    hot.add_argument(
        "--start", type=iso_date, metavar="YYYY-MM-DD", help="default: 365 days before --end"
    )
    hot.add_argument(
        "--end",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="inclusive (default: the latest date in the store)",
    )
    hot.add_argument("--kind", choices=list(aggregate.KINDS), default="shootings")
    hot.add_argument("--format", choices=["table", "csv", "json"], default="table")
    hot.set_defaults(run=cmd_hotspots)

    windows = commands.add_parser(
        "windows", parents=[common], help="retaliation-risk windows still open"
    )
    windows.add_argument(
        "--as-of", type=iso_date, metavar="YYYY-MM-DD", help="default: the latest date in the store"
    )
    windows.add_argument(
        "--days", type=positive_int, default=14, help="shootings of the last N days (default 14)"
    )
    windows.add_argument(
        "--radius-m",
        type=positive_int,
        default=400,
        help="follow-ups within this many metres (default 400)",
    )
    windows.add_argument(
        "--window-days",
        type=positive_int,
        default=14,
        help="length of each shooting's risk window in days (default 14)",
    )
    windows.add_argument("--format", choices=["table", "csv", "json"], default="table")
    windows.set_defaults(run=cmd_windows)

    place = commands.add_parser(
        "where",
        parents=[common],
        help="shootings near an address, in a ZIP code or neighbourhood, or at lat,lon",
    )
    place.add_argument(
        "query", metavar="QUERY", help="'3401 W Foster Ave', 'Foster and Kedzie', 60625, Pilsen"
    )
    place.add_argument(
        "--as-of", type=iso_date, metavar="YYYY-MM-DD", help="default: the latest date in the store"
    )
    place.add_argument(
        "--radius-m",
        type=positive_int,
        default=400,
        help="around an address or point: metres (default 400, about two blocks each way)",
    )
    place.add_argument("--format", choices=["table", "json"], default="table")
    place.set_defaults(run=cmd_where)

    changed = commands.add_parser(
        "changes", parents=[common], help="records added, updated or removed by the last sync(s)"
    )
    changed.add_argument(
        "--since",
        metavar="SYNC_ID|YYYY-MM-DD",
        help="syncs after this sync id, or finished on or after this date "
        "(default: the latest sync)",
    )
    scope = changed.add_mutually_exclusive_group()
    for level in LEVELS.values():
        if level.recorded_column:
            scope.add_argument(f"--{level.flag}", dest=level.area, metavar=level.title.upper())
    changed.add_argument("--format", choices=["table", "csv", "json"], default="table")
    changed.set_defaults(run=cmd_changes)

    alerting = commands.add_parser(
        "alerts",
        parents=[common],
        help="send each subscription what is new in its area (also done after every sync)",
    )
    alerting.add_argument(
        "--dry-run",
        action="store_true",
        help="print each message and its channel (the URL shown as its scheme only); send nothing",
    )
    alerting.set_defaults(run=cmd_alerts)
    return parser


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"was {text!r} but must be a whole number >= 1")
    return value


def add_area(parser: argparse.ArgumentParser) -> argparse._MutuallyExclusiveGroup:
    """--district / --beat / --community-area, exactly one (callers may add more)."""
    where = parser.add_mutually_exclusive_group(required=True)
    for level in LEVELS.values():
        where.add_argument(f"--{level.flag}", dest=level.area, metavar=level.title.upper())
    return where


def add_as_of_and_measure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="last day counted (default: the latest date in the store)",
    )
    parser.add_argument(
        "--measure",
        choices=aggregate.MEASURES,
        default="victims",
        help="victims (people) or incidents (distinct case numbers)",
    )


def add_basis(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--basis",
        choices=queries.BASES,
        default="geometry",
        help="geometry (default): current boundaries, comparable across years; "
        "recorded: the codes CPD wrote on each record",
    )


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date was {text!r} but must be YYYY-MM-DD") from None


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    layers = {layer: getattr(args, layer) for layer in LAYERS}
    request = SyncRequest(
        full=args.full,
        victims=args.victims or (),
        boundaries={k: v for k, v in layers.items() if v is not None},
    )
    extra = tuple(normalize_name(c) for c in args.optional_column)
    settings = replace(
        settings,
        allow_shrink=args.allow_shrink,
        optional_portal_columns=settings.optional_portal_columns + extra,
        optional_file_columns=settings.optional_file_columns + extra,
    )
    reports = run_sync(settings, request, make_bar=_progress_bar)
    for done in reports:
        print(done.summary())
    total = sum(r.rows_quarantined for r in reports)
    print(
        f"store: {settings.store_path}"
        + (
            f" ({total:,} rows quarantined: `python -m pipeline status` lists the reasons)"
            if total
            else ""
        )
    )
    _alert_after_sync(settings)
    return 0


def _alert_after_sync(settings: Settings) -> None:
    """Alerts after a sync that succeeded: a failure is one warning line, never a failed sync."""
    try:
        outcomes = alerts.run(settings)
    except (PipelineError, OSError, ValueError) as exc:
        print(f"warning: alerts not sent: {exc}; the sync itself succeeded", file=sys.stderr)
        return
    for line, failed in _alert_lines(outcomes):
        print(line, file=sys.stderr if failed else sys.stdout)


def cmd_alerts(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.subscriptions_path.is_file():
        print(f"no subscriptions: {settings.subscriptions_path} does not exist (README, Alerts)")
        return 0
    outcomes = alerts.run(settings, dry_run=args.dry_run)
    for line, failed in _alert_lines(outcomes):
        print(line, file=sys.stderr if failed else sys.stdout)
    return EXIT_ERROR if any(o.status == "failed" for o in outcomes) else 0


def _alert_lines(outcomes: Sequence[alerts.Outcome]) -> Iterator[tuple[str, bool]]:
    """One line per subscription (a dry run adds the message); (line, is a warning)."""
    for o in outcomes:
        to = f"{o.subscription.name} via {o.subscription.channel}"
        if o.status == "failed":
            yield (
                f"warning: alert to {to} failed ({o.reason}); it is sent again on the next "
                "sync or `python -m pipeline alerts`",
                True,
            )
        elif o.alert is None:
            yield f"alerts: nothing new for {to}", False
        elif o.status == "sent":
            yield f"alerts: sent to {to}: {o.alert.title}", False
        else:
            unset = alerts.unset(o.subscription.url)
            note = f" (not set here: {', '.join(unset)})" if unset else ""
            yield f"would send to {to}{note}:\n{o.alert.title}\n\n{o.alert.body}\n", False


def _progress_bar(description: str, total: int | None) -> Bar:
    # disable=None: drawn on a terminal, silent in logs and CI.
    return tqdm(total=total, desc=description, unit=" rows", disable=None, file=sys.stderr)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    status = queries.store_status(Store(settings.store_path))
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
    p = status.placement
    print(
        f"placement on current boundaries: {p['unassigned_beat']:,} victims in no beat, "
        f"{p['unassigned_community_area']:,} in no community area; recorded code differs "
        f"from the location's: beat {p['beat_differs']:,}, district {p['district_differs']:,}, "
        f"community area {p['community_area_differs']:,} ({p['beat_not_recorded']:,} with no "
        "recorded beat)"
    )
    print(
        "quarantined rows by reason:"
        if len(status.quarantine_reasons)
        else "quarantined rows: none"
    )
    for row in status.quarantine_reasons.itertuples():
        print(f"  {row.rows:>7,}  {row.reasons}")
    return 0


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
    by, key, every = _compare_target(args)
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


def _compare_target(args: argparse.Namespace) -> tuple[str | None, str | None, bool]:
    """(area column, key, every area?) from the mutually exclusive flags; citywide has no column."""
    for by in LEVELS:
        value, every = getattr(args, by, None), getattr(args, f"all_{by}", False)
        if value is not None or every:
            return by, value, bool(every)
    return None, None, False


def cmd_brief(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.brief import make_brief  # matplotlib: only loaded when a brief is made

    by, key, _ = _compare_target(args)
    assert by is not None and key is not None
    store = Store(settings.store_path)
    output = args.output or Path(
        f"brief_{by}_{key.replace(' ', '_').lower()}_{args.as_of or queries.latest_date(store)}.pdf"
    )
    written = make_brief(store, by, key, output, args.as_of, args.measure, args.basis)
    print(f"wrote {written}")
    return 0


def cmd_hotspots(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline import outreach

    store = Store(settings.store_path)
    end = queries.resolve_as_of(store, args.end)
    start = args.start or end - timedelta(days=364)
    if start > end:
        raise UsageError(f"--start {start} is after --end {end}")
    table = outreach.hotspot_table(store, args.level, start, end, args.kind)
    table = table.rename(columns={"area": "beat" if args.level == "beat" else "cell"})
    if args.format == "table":
        table = table[table["class"] != "not significant"]
        print(
            f"{args.kind.replace('-', ' ')} hot and cold spots, {start}..{end}, "
            f"{'beats' if args.level == 'beat' else 'H3 cells'}; Gi*, 999 permutations, "
            "FDR-corrected (not-significant areas not listed)"
        )
    print(render(table, args.format))
    return 0


def cmd_windows(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline import outreach

    store = Store(settings.store_path)
    as_of = queries.resolve_as_of(store, args.as_of)
    table = outreach.windows_table(store, as_of, args.days, args.radius_m, args.window_days)
    table = table.assign(
        occurred_at=table["occurred_at"].astype(str), window_end=table["window_end"].astype(str)
    )
    if args.format == "table":
        print(
            f"retaliation-risk windows open on {as_of}: shootings of the last {args.days} "
            f"days; follow-ups within {args.radius_m} m in the {args.window_days} days after"
        )
        table = table.drop(columns=["latitude", "longitude"])
    print(render(table, args.format))
    return 0


def cmd_where(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline import where  # geometry and geocoding: loaded only for this command
    from pipeline.geocode import Geocoder, GeocoderSettings

    geocoder = Geocoder(
        GeocoderSettings(
            url=settings.geocoder_url,
            user_agent=settings.geocoder_user_agent,
            cache=settings.data_dir / "geocode_cache.json",
        )
    )
    with Store(settings.store_path).reader() as q:
        found = where.answer(q, args.query, geocoder, args.as_of, args.radius_m)
    if args.format == "json":
        print(json.dumps(found, default=str))
    else:
        print("\n".join(where.describe(found)))
    return 0


def cmd_changes(args: argparse.Namespace, settings: Settings) -> int:
    since_sync, since_day = _since(args.since)
    by, key, _ = _compare_target(args)
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


def render(table: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return safe_csv(table).rstrip("\n")
    if fmt == "json":
        return table.to_json(orient="records")
    return table.to_string(index=False)
