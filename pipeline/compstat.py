"""The CompStat table, assembled in one place for the CLI, the page and the brief.

`compstat()` answers "this area, this period against the comparison period,
per kind"; `compare_areas()` answers "every area of a level, one kind". Both
sum the store's pre-aggregated `daily_counts` (see `pipeline.counts`) through
one `Reader`, and return a result the callers only format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from geo.maplayers import (
    CHANGE_COLOURS,
    count_categories,
    count_legend,
    fill_colours,
    yearly_rates,
)
from pipeline import report, stats
from pipeline.aggregate import KINDS, area_sort_key
from pipeline.counts import CITY
from pipeline.queries import Reader
from pipeline.trends import INCOMPLETE, Span, compare_many, mark_incomplete

#: The map's class where a hole in the store leaves a change with no verdict.
NOT_COMPARABLE = "not comparable (months missing)"


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
    now, before = _kind_totals(reader, level, key, current, previous, measure, basis)
    table = compare_many(now, before, current.days, previous.days)
    table.insert(0, "kind", [kind.replace("-", "_") for kind in KINDS])
    label = reader.area_labels(level).get(key or "") if level else None
    return _finish(
        table, reader, current, previous, measure, basis, report.area_title(level, key, label)
    )


def kind_counts(
    reader: Reader,
    level: str | None,
    key: str | None,
    current: Span,
    previous: Span,
    measure: str = "victims",
    basis: str = "geometry",
) -> pd.DataFrame:
    """`compstat`'s counts alone, one row per kind: kind, current, previous (no test: what
    the page says of the other basis)."""
    now, before = _kind_totals(reader, level, key, current, previous, measure, basis)
    kinds = [kind.replace("-", "_") for kind in KINDS]
    return pd.DataFrame({"kind": kinds, "current": now, "previous": before})


def _kind_totals(
    reader: Reader,
    level: str | None,
    key: str | None,
    current: Span,
    previous: Span,
    measure: str,
    basis: str,
) -> tuple[list[int], list[int]]:
    """Each kind's count (in KINDS order) in `current` and in `previous`."""
    counts = reader.span_counts(
        level or CITY, [current, previous], measure, basis, key=key if level else CITY
    )
    totals = _sums(counts, "kind")
    return (
        [totals.get((kind, 0), 0) for kind in KINDS],
        [totals.get((kind, 1), 0) for kind in KINDS],
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
    totals = _sums(counts, "key")
    areas = sorted(set(reader.area_labels(level)) | set(counts["key"].tolist()), key=area_sort_key)
    return pd.DataFrame({"area": areas, "count": [totals.get((a, 0), 0) for a in areas]})


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
    totals = _sums(counts, "key")
    areas = sorted(set(reader.area_labels(level)) | set(counts["key"].tolist()), key=area_sort_key)
    table = compare_many(
        [totals.get((area, 0), 0) for area in areas],
        [totals.get((area, 1), 0) for area in areas],
        current.days,
        previous.days,
    )
    table.insert(0, "area", areas)
    return _finish(
        table,
        reader,
        current,
        previous,
        measure,
        basis,
        f"{kind.replace('-', ' ')}, every {level.replace('_', ' ')}",
    )


def map_classes(result: CompStat, metric: str, breaks: list[float]) -> pd.DataFrame:
    """A `compare_areas` table with what the map shows: `rate` (yearly pace),
    `category` (count class, or change class on `metric` 'change') and `fill` [r, g, b].
    Where the store has a hole in the compared spans, a change is not comparable."""
    table = result.table.copy()
    table["rate"] = yearly_rates(table["current"].to_numpy(), result.current.days)
    if metric == "count":
        table["category"] = count_categories(table["rate"], breaks)
        table["fill"] = fill_colours(table["category"].tolist(), dict(count_legend(breaks)))
        return table
    categories = [
        NOT_COMPARABLE if v == INCOMPLETE else stats.change_category(c, p, v)
        for c, p, v in zip(*_lists(table, "current", "previous", "verdict"), strict=True)
    ]
    table["category"] = categories
    table["fill"] = fill_colours(categories, CHANGE_COLOURS)
    return table


def _sums(counts: pd.DataFrame, by: str) -> dict[tuple[str, int], int]:
    """(`by` value, span index) -> summed n, from `Reader.span_counts` rows."""
    sums: dict[tuple[str, int], int] = {}
    for what, span, n in zip(*_lists(counts, by, "span", "n"), strict=True):
        sums[what, span] = sums.get((what, span), 0) + int(n)
    return sums


def _lists(table: pd.DataFrame, *columns: str) -> list[list]:
    """`columns` of `table` as Python lists: iterating a column of text (Arrow-backed in
    pandas 3) boxes each value at ~1 us; a list is made in one call."""
    return [table[name].tolist() for name in columns]


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
