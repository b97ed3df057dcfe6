"""`brief`: the one-page meeting brief (matplotlib is loaded by `pipeline.brief` alone)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline import queries
from pipeline.cli import compare_target
from pipeline.settings import Settings
from pipeline.store import Store


def cmd_brief(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.brief import make_brief  # matplotlib: only loaded when a brief is made

    by, key, _ = compare_target(args)
    assert by is not None and key is not None
    store = Store(settings.store_path)
    output = args.output or Path(
        f"brief_{by}_{key.replace(' ', '_').lower()}_{args.as_of or queries.latest_date(store)}.pdf"
    )
    written = make_brief(store, by, key, output, args.as_of, args.measure, args.basis)
    print(f"wrote {written}")
    return 0
