"""`hotspots` and `windows`: the outreach numbers (geometry, permutations).

`hotspots` reads the Gi* table the sync stored when the window asked for is the one
it computed (the default: the 365 days to the latest day), so the common question
loads neither esda nor libpysal. Another window counts per cell in the store (the
beats' daily counts; victims per distinct point for H3 cells), never whole rows.
"""

from __future__ import annotations

import argparse

import pandas as pd

from geo import hexgrid, hotspots
from pipeline import outreach, queries
from pipeline.commands.output import render
from pipeline.errors import UsageError
from pipeline.queries import Reader, VictimFilter
from pipeline.settings import Settings
from pipeline.store import Store
from pipeline.trends import Span


def cmd_hotspots(args: argparse.Namespace, settings: Settings) -> int:
    with Store(settings.store_path).reader() as q:
        end = q.resolve_as_of(args.end)
        start = args.start or outreach.hotspot_start(end)
        if start > end:
            raise UsageError(f"--start {start} is after --end {end}")
        table = hotspot_table(q, args.level, Span(start, end), args.kind)
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


def hotspot_table(q: Reader, level: str, span: Span, kind: str) -> pd.DataFrame:
    """Gi* for every area of the level's grid: area, count, z, p, p_fdr, class; as the
    sync stored it for exactly this window, else computed from counts per cell."""
    stored = outreach.stored_hotspots(q.con, level, span.start, span.end, kind)
    if stored is not None:
        return stored.astype({"count": "int64"})  # as `gi_star` types it
    grid = outreach.grid_of(q.con, level)
    return hotspots.gi_star(grid_counts(q, grid, span, kind), grid.neighbours, weights=grid.weights)


def grid_counts(q: Reader, grid: outreach.Grid, span: Span, kind: str) -> pd.Series:
    """Victims of `kind` in `span` per area of `grid` (geometry basis), zeros included
    and nothing outside the grid: beats summed from the daily counts; H3 cells from
    the victims per distinct point, each point's cell found once."""
    if grid.level == "beat":
        found = q.span_counts("beat", [span], "victims", "geometry", kind)
        per_area = found.groupby("key")["n"].sum()
    else:
        points = q.point_counts(VictimFilter(span, kind))
        cells = hexgrid.cells_of(points["latitude"].to_numpy(), points["longitude"].to_numpy())
        per_area = points["n"].groupby(cells).sum()  # points in no cell (None) drop out
    return per_area.reindex(grid.keys, fill_value=0).astype("int64")


def cmd_windows(args: argparse.Namespace, settings: Settings) -> int:
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
