"""The CompStat table, assembled in one place for the CLI, the page and the brief.

`compstat()` answers "this area, this period against the comparison period,
per kind"; `compare_areas()` answers "every area of a level, one kind". Both
sum the store's pre-aggregated `daily_counts` (see `pipeline.counts`) through
one `Reader`, and return a result the callers only format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from pipeline import report
from pipeline.aggregate import KINDS, area_sort_key
from pipeline.counts import CITY
from pipeline.queries import Reader
from pipeline.trends import COMPARE_COLUMNS, Span, compare_counts, mark_incomplete


@dataclass(frozen=True)
class CompStat:
    """A comparison and everything needed to say what it is."""

    table: pd.DataFrame  # `kind` (or `area`) then COMPARE_COLUMNS
    current: Span
    previous: Span
    measure: str
    basis: str
    title: str
    warnings: list[str] = field(default_factory=list)

    @property
    def incomplete(self) -> bool:
        return bool(self.warnings)


def compstat(
    reader: Reader,
    level: str | None,
    key: str | None,
    current: Span,
    previous: Span,
    measure: str = "victims",
    basis: str = "geometry",
) -> CompStat:
    """One row per kind for one area (`level` None: the whole city)."""
    counts = reader.span_counts(
        level or CITY, [current, previous], measure, basis, key=key if level else CITY
    )
    totals = counts.groupby(["kind", "span"])["n"].sum()
    rows = [
        {"kind": kind.replace("-", "_"), **_compared(totals, kind, current, previous)}
        for kind in KINDS
    ]
    label = reader.area_labels(level).get(key or "") if level else None
    return _finish(
        pd.DataFrame(rows, columns=["kind", *COMPARE_COLUMNS]),
        reader,
        current,
        previous,
        measure,
        basis,
        report.area_title(level, key, label),
    )


def area_counts(
    reader: Reader,
    level: str,
    span: Span,
    measure: str = "victims",
    kind: str = "shootings",
    basis: str = "geometry",
) -> pd.DataFrame:
    """`area` and `count` for every area of `level` (0 where nothing happened, and
    `unassigned` when some records have no area) in one span: no comparison, no test."""
    counts = reader.span_counts(level, [span], measure, basis, kind=kind)
    totals = counts.groupby("key")["n"].sum()
    areas = sorted(set(reader.area_labels(level)) | set(totals.index), key=area_sort_key)
    return pd.DataFrame(
        {"area": areas, "count": [int(totals.get(a, 0)) for a in areas]},
    )


def compare_areas(
    reader: Reader,
    level: str,
    current: Span,
    previous: Span,
    measure: str = "victims",
    kind: str = "shootings",
    basis: str = "geometry",
) -> CompStat:
    """One row per area of `level` (every area of the current layer, with 0 where nothing
    happened, plus `unassigned` when some records have no area) for one kind."""
    counts = reader.span_counts(level, [current, previous], measure, basis, kind=kind)
    totals = counts.groupby(["key", "span"])["n"].sum()
    areas = set(reader.area_labels(level)) | set(counts["key"])
    rows = [
        {"area": area, **_compared(totals, area, current, previous)}
        for area in sorted(areas, key=area_sort_key)
    ]
    return _finish(
        pd.DataFrame(rows, columns=["area", *COMPARE_COLUMNS]),
        reader,
        current,
        previous,
        measure,
        basis,
        f"{kind.replace('-', ' ')}, every {level.replace('_', ' ')}",
    )


def _compared(totals: pd.Series, what: str, current: Span, previous: Span) -> dict[str, object]:
    """The comparison of `what`'s sums over span 0 (current) and span 1 (previous)."""
    return compare_counts(
        int(totals.get((what, 0), 0)), int(totals.get((what, 1), 0)), current.days, previous.days
    )


def _finish(
    table: pd.DataFrame,
    reader: Reader,
    current: Span,
    previous: Span,
    measure: str,
    basis: str,
    title: str,
) -> CompStat:
    """Withhold verdicts where the store has a hole inside the compared spans."""
    warnings = reader.coverage_warnings([previous, current])
    if warnings:
        table = mark_incomplete(table)
    return CompStat(table, current, previous, measure, basis, title, warnings)
