"""Pure aggregation: a victims DataFrame in, a new DataFrame out.

No I/O, no settings, inputs are never modified. Columns used are those of
`pipeline.schema.VICTIM_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

import pandas as pd

from pipeline.config import CITY, KIND_RULES
from pipeline.config import MEASURES as MEASURES  # re-exported: callers import it from here

# The kinds are declared in `pipeline.config` (`KIND_RULES`); the pandas filter
# (`KINDS`) and the SQL one (`KIND_SQL`, for the store's count tables) derive from it.


def _kind_filter(rule: dict[str, bool]) -> Callable[[pd.DataFrame], pd.Series]:
    def keep(victims: pd.DataFrame) -> pd.Series:
        mask = pd.Series(True, index=victims.index)
        for column, wanted in rule.items():
            mask &= victims[column].astype(bool) == wanted
        return mask

    return keep


KINDS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    kind: _kind_filter(rule) for kind, rule in KIND_RULES.items()
}
KIND_SQL: dict[str, str] = {
    kind: " AND ".join(f"{'' if wanted else 'NOT '}{column}" for column, wanted in rule.items())
    for kind, rule in KIND_RULES.items()
}

AREA_COLUMNS = CITY.areas  # the levels of the registry: district, beat, community_area

UNKNOWN_AREA = "unassigned"  # rows with no area (none recorded, or outside every polygon)


def check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"`{name}` was {value!r} but is expected to be one of {list(allowed)}")


def select_kind(victims: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The rows counted by `kind` (see `KINDS`)."""
    check_choice("kind", kind, list(KINDS))
    return victims.loc[KINDS[kind](victims).astype(bool)]


def between_dates(victims: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    """Rows whose local occurrence date is in [start, end], both inclusive; None is open."""
    keep = pd.Series(True, index=victims.index)
    if start is not None:
        keep &= victims["occurred_at"] >= pd.Timestamp(start)
    if end is not None:
        keep &= victims["occurred_at"] < pd.Timestamp(end + timedelta(days=1))
    return victims.loc[keep]


def area_sort_key(key: str) -> tuple[int, int, str]:
    """Numeric keys in numeric order ('2' before '10'), names alphabetically, unknown last."""
    if key == UNKNOWN_AREA:
        return (2, 0, key)
    return (0, int(key), key) if key.isdigit() else (1, 0, key)
