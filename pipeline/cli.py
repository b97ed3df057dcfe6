"""`python -m pipeline`: sync, status, counts.

The edge where errors become one line on stderr and a non-zero exit status;
nothing below this module prints or exits.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from pipeline import aggregate, queries
from pipeline.errors import PipelineError
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
        return EXIT_ERROR
    except ValueError as exc:  # a user value outside what is allowed
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
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
    for layer in ("beats", "districts", "community-areas"):
        sync.add_argument(
            f"--{layer}",
            type=Path,
            metavar="PATH",
            help=f"{layer.replace('-', ' ')} GeoJSON instead of Socrata",
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
    counts.add_argument(
        "--basis",
        choices=["recorded"],
        default="recorded",
        help="recorded: the district/beat/area codes on each row",
    )
    counts.add_argument("--format", choices=["table", "csv", "json"], default="table")
    counts.set_defaults(run=cmd_counts)
    return parser


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date was {text!r} but must be YYYY-MM-DD") from None


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    layers = {
        "beats": args.beats,
        "districts": args.districts,
        "community_areas": args.community_areas,
    }
    request = SyncRequest(
        full=args.full,
        victims=args.victims or (),
        boundaries={k: v for k, v in layers.items() if v is not None},
    )
    reports = run_sync(settings, request, make_bar=_progress_bar)
    for report in reports:
        print(report.summary())
    total = sum(r.rows_quarantined for r in reports)
    print(
        f"store: {settings.store_path}"
        + (
            f" ({total:,} rows quarantined: `python -m pipeline status` lists the reasons)"
            if total
            else ""
        )
    )
    return 0


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
    store = Store(settings.store_path)
    victims = queries.load_victims(store, args.start, args.end)
    table = aggregate.count_by_area(
        victims, args.by, args.measure, args.kind, areas=queries.area_keys(store, args.by)
    )
    print(render(table, args.format))
    return 0


def render(table: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return table.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        return table.to_json(orient="records")
    return table.to_string(index=False)
