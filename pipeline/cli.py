"""`python -m pipeline`: sync, status, counts.

The edge where errors become one line on stderr and a non-zero exit status;
nothing below this module prints or exits.
"""

# The parser alone: start-up is part of every command's time, so this module imports
# only the standard library and the city's configuration. Each command lives in a
# module of `pipeline.commands`, imported when that command runs (`compare` never
# loads scipy.stats, matplotlib or the sync's HTTP client; `--help` not even pandas).

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from pipeline.config import BASES, KIND_RULES, LEVELS, MEASURES
from pipeline.errors import PipelineError, UsageError
from pipeline.settings import Settings

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
        return int(command(args.run)(args, settings) or 0)
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


Command = Callable[[argparse.Namespace, Settings], int]


def command(target: str) -> Command:
    """The function named 'module:function' under `pipeline.commands`, imported now."""
    module, _, name = target.partition(":")
    found: Command = getattr(importlib.import_module(f"pipeline.commands.{module}"), name)
    return found


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
    sync.set_defaults(run="syncing:cmd_sync")

    status = commands.add_parser("status", parents=[common], help="what the store holds")
    status.set_defaults(run="counting:cmd_status")

    counts = commands.add_parser("counts", parents=[common], help="counts per area")
    counts.add_argument("--by", required=True, choices=list(LEVELS))
    counts.add_argument("--start", type=iso_date, metavar="YYYY-MM-DD")
    counts.add_argument("--end", type=iso_date, metavar="YYYY-MM-DD", help="inclusive")
    counts.add_argument(
        "--measure",
        choices=MEASURES,
        default="victims",
        help="victims (people) or incidents (distinct case numbers)",
    )
    counts.add_argument("--kind", choices=list(KIND_RULES), default="shootings")
    add_basis(counts)
    counts.add_argument("--format", choices=["table", "csv", "json"], default="table")
    counts.set_defaults(run="counting:cmd_counts")

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
        choices=list(KIND_RULES),
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
    compare.set_defaults(run="counting:cmd_compare")

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
    brief.set_defaults(run="brief:cmd_brief")

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
    hot.add_argument("--kind", choices=list(KIND_RULES), default="shootings")
    hot.add_argument("--format", choices=["table", "csv", "json"], default="table")
    hot.set_defaults(run="outreach:cmd_hotspots")

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
    windows.set_defaults(run="outreach:cmd_windows")

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
    place.set_defaults(run="where:cmd_where")

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
    changed.set_defaults(run="counting:cmd_changes")

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
    alerting.set_defaults(run="syncing:cmd_alerts")
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
        choices=MEASURES,
        default="victims",
        help="victims (people) or incidents (distinct case numbers)",
    )


def add_basis(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--basis",
        choices=BASES,
        default="geometry",
        help="geometry (default): current boundaries, comparable across years; "
        "recorded: the codes CPD wrote on each record",
    )


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date was {text!r} but must be YYYY-MM-DD") from None


def compare_target(args: argparse.Namespace) -> tuple[str | None, str | None, bool]:
    """(area column, key, every area?) from the mutually exclusive flags; citywide has no column."""
    for by in LEVELS:
        value, every = getattr(args, by, None), getattr(args, f"all_{by}", False)
        if value is not None or every:
            return by, value, bool(every)
    return None, None, False
