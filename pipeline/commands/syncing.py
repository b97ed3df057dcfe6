"""`sync` and `alerts`: the only commands that load the sources, their HTTP client and
the post-sync steps."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace

from tqdm import tqdm

from pipeline import alerts
from pipeline.cli import EXIT_ERROR
from pipeline.config import LAYERS
from pipeline.errors import PipelineError
from pipeline.schema import normalize_name
from pipeline.settings import Settings
from pipeline.sync import Bar, SyncRequest, run_sync


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
