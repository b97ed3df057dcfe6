"""Areas' counts per day, held in memory: any span's sum is two look-ups.

The page asks one area (or the whole city) about many spans as its view changes:
this period and the one it is compared with, the same dates in each of five years,
the days behind the weekly chart; and every area of a level about this period and
the one before, for the map. One read of the rows of `daily_counts` for an area or
a whole level (`Reader.area_days`) answers all of them by running totals, where
each question was a query. The answers are the ones the queries give
(`Reader.span_counts`, `Reader.daily`): the reader asks this object instead when it
is given one.

Pure: arrays in, numbers out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import numpy as np
import pandas as pd

from pipeline.trends import Span

#: Days are held as days since this date, as the query returns them.
EPOCH = date(1970, 1, 1)
#: An entry is one number, area * _AREA + _DAY0 + day: ordered by area, then day, so
#: one area's days are a run and a search finds a span's ends in every area at once.
_AREA = 1 << 32
_DAY0 = 1 << 31  # days before EPOCH stay inside their area's run


@dataclass(frozen=True)
class AreaDays:
    """Counts per day of each kind in one or more areas of a level, on one basis, for
    one measure."""

    keys: tuple[str, ...]  # the areas held, by their index
    entries: dict[str, np.ndarray]  # kind -> (area, day) with a count, ascending
    totals: dict[str, np.ndarray]  # kind -> running total before each entry, and after the last

    @classmethod
    def from_rows(
        cls,
        kinds: Sequence[str],
        keys: Sequence[str],
        codes: np.ndarray,
        areas: np.ndarray,
        days: np.ndarray,
        counts: np.ndarray,
    ) -> AreaDays:
        """From rows (kind as its index in `kinds`, area as its index in `keys`, day
        since EPOCH, count; int64 arrays) in any order; rows of the same kind, area and
        day add up."""
        at = areas * _AREA + _DAY0 + days
        order = np.lexsort((at, codes))
        codes, at, counts = codes[order], at[order], counts[order]
        first = np.ones(len(at), dtype=bool)  # the first row of each (kind, area, day)
        first[1:] = (codes[1:] != codes[:-1]) | (at[1:] != at[:-1])
        starts = np.flatnonzero(first)
        codes, at = codes[starts], at[starts]
        counts = np.add.reduceat(counts, starts) if len(starts) else counts[:0]
        entries: dict[str, np.ndarray] = {}
        totals: dict[str, np.ndarray] = {}
        for code in np.unique(codes).tolist():
            mine = codes == code
            entries[kinds[code]] = at[mine]
            totals[kinds[code]] = np.concatenate(([0], np.cumsum(counts[mine], dtype=np.int64)))
        return cls(tuple(keys), entries, totals)

    def span_sums(self, kind: str, span: Span, areas: np.ndarray) -> np.ndarray:
        """The count of `kind` over `span` (first and last day included) in each of
        `areas` (indices in `keys`)."""
        entries = self.entries.get(kind)
        if entries is None:
            return np.zeros(len(areas), dtype=np.int64)
        base = areas * _AREA + _DAY0
        first = np.searchsorted(entries, base + _day(span.start), side="left")
        after = np.searchsorted(entries, base + _day(span.end), side="right")
        return self.totals[kind][after] - self.totals[kind][first]

    def span_sum(self, kind: str, span: Span, key: str) -> int:
        """The count of `kind` over `span` in area `key` (0 where none is held)."""
        if key not in self._index:
            return 0
        return int(self.span_sums(kind, span, np.array([self._index[key]], np.int64))[0])

    def span_counts(
        self, spans: Sequence[Span], kinds: Sequence[str], key: str | None = None
    ) -> pd.DataFrame:
        """As `Reader.span_counts`: key, kind, span (index in `spans`) and n, for each of
        `kinds`, in area `key` or (None) every area held; zero counts absent."""
        if key is None:
            areas = np.arange(len(self.keys), dtype=np.int64)
        else:
            areas = np.array([self._index[key]] if key in self._index else [], np.int64)
        parts: list[tuple[np.ndarray, str, int, np.ndarray]] = []
        for kind in kinds:
            for i, span in enumerate(spans):
                sums = self.span_sums(kind, span, areas)
                counted = sums != 0
                parts.append((areas[counted], kind, i, sums[counted]))
        keys = np.array(self.keys, dtype=object)
        return pd.DataFrame(
            {
                "key": [k for a, _, _, _ in parts for k in keys[a].tolist()],
                "kind": [kind for a, kind, _, _ in parts for _ in range(len(a))],
                "span": np.concatenate([np.full(len(a), i, np.int64) for a, _, i, _ in parts]),
                "n": np.concatenate([n for _, _, _, n in parts]).astype(np.int64),
            }
        )

    def daily(self, kind: str, spans: Sequence[Span], name: str, key: str) -> pd.Series:
        """As `Reader.daily`: the count of `kind` per day with one in area `key`, over
        the days of `spans`, as a Series indexed by date and named `name`."""
        entries = self.entries.get(kind, np.empty(0, dtype=np.int64))
        counts = np.diff(self.totals[kind]) if kind in self.totals else entries
        area = self._index.get(key, -1)  # -1: none of its days are held
        run = slice(*np.searchsorted(entries, [area * _AREA, (area + 1) * _AREA]))
        days, counts = entries[run] - (area * _AREA + _DAY0), counts[run]
        inside = np.zeros(len(days), dtype=bool)
        for span in spans:
            inside |= (days >= _day(span.start)) & (days <= _day(span.end))
        index = pd.Index([EPOCH + timedelta(days=int(d)) for d in days[inside]], name="day")
        return pd.Series(counts[inside].astype(np.int64), index=index.astype(object), name=name)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {key: i for i, key in enumerate(self.keys)}


def _day(value: date) -> int:
    return (value - EPOCH).days
