"""One area's counts per day, held in memory: any span's sum is two look-ups.

The page asks one area (or the whole city) about many spans as its view changes:
this period and the one it is compared with, the same dates in each of five years,
the days behind the weekly chart. One read of the area's rows of `daily_counts`
(`Reader.area_days`) answers all of them by running totals, where each question was
a query. The answers are the ones the queries give (`Reader.span_counts`,
`Reader.daily`): the reader asks this object instead when it is given one.

Pure: arrays in, numbers out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from pipeline.trends import Span

#: Days are held as days since this date, as the query returns them.
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class AreaDays:
    """Counts per day of each kind in one area, on one basis, for one measure."""

    days: dict[str, np.ndarray]  # kind -> days with a count, ascending (days since EPOCH)
    totals: dict[str, np.ndarray]  # kind -> running total before each day, and after the last

    @classmethod
    def from_rows(
        cls, kinds: Sequence[str], codes: np.ndarray, days: np.ndarray, counts: np.ndarray
    ) -> AreaDays:
        """From rows (kind as its index in `kinds`, day since EPOCH, count) in any order;
        rows of the same kind and day add up."""
        order = np.lexsort((days, codes))
        codes, days, counts = codes[order], days[order], counts[order]
        first = np.ones(len(days), dtype=bool)  # the first row of each (kind, day)
        first[1:] = (codes[1:] != codes[:-1]) | (days[1:] != days[:-1])
        starts = np.flatnonzero(first)
        codes, days = codes[starts], days[starts]
        counts = np.add.reduceat(counts, starts) if len(starts) else counts[:0]
        found: dict[str, np.ndarray] = {}
        totals: dict[str, np.ndarray] = {}
        for code in np.unique(codes).tolist():
            mine = codes == code
            found[kinds[code]] = days[mine].astype(np.int64)
            totals[kinds[code]] = np.concatenate(([0], np.cumsum(counts[mine], dtype=np.int64)))
        return cls(found, totals)

    def span_sum(self, kind: str, span: Span) -> int:
        """The count of `kind` over `span` (first and last day included)."""
        days = self.days.get(kind)
        if days is None:
            return 0
        first = np.searchsorted(days, _day(span.start), side="left")
        after = np.searchsorted(days, _day(span.end), side="right")
        return int(self.totals[kind][after] - self.totals[kind][first])

    def span_counts(self, key: str, spans: Sequence[Span], kinds: Sequence[str]) -> pd.DataFrame:
        """As `Reader.span_counts` for this one area: key, kind, span (index in `spans`)
        and n, for each of `kinds`; zero counts absent."""
        rows = [
            (key, kind, i, n)
            for kind in kinds
            for i, span in enumerate(spans)
            if (n := self.span_sum(kind, span))
        ]
        return pd.DataFrame(rows, columns=["key", "kind", "span", "n"])

    def daily(self, kind: str, spans: Sequence[Span], name: str) -> pd.Series:
        """As `Reader.daily`: the count of `kind` per day with one, over the days of
        `spans`, as a Series indexed by date and named `name`."""
        days = self.days.get(kind, np.empty(0, dtype=np.int64))
        inside = np.zeros(len(days), dtype=bool)
        for span in spans:
            inside |= (days >= _day(span.start)) & (days <= _day(span.end))
        counts = np.diff(self.totals[kind])[inside] if kind in self.totals else days[inside]
        index = pd.Index([EPOCH + timedelta(days=int(d)) for d in days[inside]], name="day")
        return pd.Series(counts.astype(np.int64), index=index.astype(object), name=name)


def _day(value: date) -> int:
    return (value - EPOCH).days
