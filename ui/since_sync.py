""" "Since the last sync": what the latest sync added, reclassified or removed in an area.

Read from the store's `changes` table (through `Reader.changes`), cut to the
recorded codes of the area, shown as plain text: every value comes from the data
and is escaped (`ui.text.plain`) or shown in a table cell, never as Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

from pipeline.changes import DIED, tally
from pipeline.config import LEVELS
from ui.data import KEYS, StoreRef, reader
from ui.text import plain

#: The recorded column that cuts the list for each team scope / page level.
RECORDED = {
    "district": "district",
    "beats": "beat",
    "beat": "beat",
    "community_area": "community_area",
}
LISTED = 20  # lines shown; the count says how many in all


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=KEYS)
def last_sync_changes(ref: StoreRef) -> pd.DataFrame:
    """Every change the latest victims sync recorded (a few rows to a few thousand)."""
    with reader(ref) as q:
        return q.changes()


def in_area(changes: pd.DataFrame, scope: str | None, keys: tuple[str, ...]) -> pd.DataFrame:
    """The changes of records whose recorded district/beat/community area is in `keys`;
    all of them for the whole city, or for a level with no recorded code."""
    column = RECORDED.get(scope or "")
    if column is None or not keys:
        return changes
    return changes[changes[column].astype("string").isin(keys)]


def headline(changes: pd.DataFrame, where: str) -> str:
    """'Since the last sync: 3 new shootings in your area, 1 reclassified as homicide.'"""
    return headline_of(tally(changes), where)


def headline_of(counts: dict[str, int], where: str) -> str:
    """`headline` from a `tally` of the changes."""
    if not sum(counts.values()):
        return f"Since the last sync: nothing new or changed {where}."
    parts = [f"{counts['added']} new shooting{'s' if counts['added'] != 1 else ''} {where}"]
    if counts["reclassified"]:
        parts.append(f"{counts['reclassified']} reclassified as homicide")
    if counts["corrected"]:
        parts.append(f"{counts['corrected']} corrected")
    if counts["removed"]:
        parts.append(f"{counts['removed']} removed by the source")
    return "Since the last sync: " + ", ".join(parts) + "."


def listing(changes: pd.DataFrame) -> pd.DataFrame:
    """The changes as a small table for people: what, when, where, which fields."""
    died = changes["fields_changed"].fillna("").astype(str).str.contains(DIED, regex=False)
    what = changes["change"].map({"added": "new", "removed": "removed", "updated": "corrected"})
    return pd.DataFrame(
        {
            "what": what.mask(died, "reclassified as homicide"),
            "case": changes["case_number"],
            "date and time": pd.to_datetime(changes["occurred_at"]).dt.strftime("%Y-%m-%d %H:%M"),
            "block": changes["block"],
            "beat": changes["beat"],
            "community area": changes["community_area"].astype("string").str.title(),
            "fields changed": changes["fields_changed"].fillna(""),
        }
    ).reset_index(drop=True)


def show(ref: StoreRef, scope: str | None, keys: tuple[str, ...]) -> None:
    """The headline and (in an expander) the list, for an area of the page's choice."""
    if scope in LEVELS and LEVELS[scope].recorded_column is None:
        scope, keys = None, ()  # no recorded code to cut by: the whole city
    line, changed, listed = shown(ref, scope, keys)
    st.markdown(line)
    if changed:
        with st.expander(f"What changed ({changed})"):
            st.caption("Areas as recorded by the police on each record.")
            st.dataframe(listed, hide_index=True, width="stretch")


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=KEYS)
def shown(ref: StoreRef, scope: str | None, keys: tuple[str, ...]) -> tuple[str, int, pa.Table]:
    """What `show` draws for an area: the escaped headline, how many changes, and the
    first LISTED as an Arrow table. Cut from `prepared`, so a new area costs a few
    array operations, not a pass of pandas over every change of a full sync."""
    every = prepared(ref)
    column = RECORDED.get(scope or "")
    if column is None or not keys:
        rows = np.arange(len(every.tallies))
    else:
        groups = positions(ref, column)
        rows = np.sort(np.concatenate([groups.get(k, np.empty(0, np.int64)) for k in keys]))
    counts = np.bincount(every.tallies[rows], minlength=len(TALLIES) + 1)
    where = "in your area" if keys else "in the city"
    line = headline_of({name: int(n) for name, n in zip(TALLIES, counts, strict=False)}, where)
    return plain(line, 300), len(rows), every.listed.take(rows[:LISTED])


#: The `tally` names, in the order of `Prepared.tallies`' codes.
TALLIES = ("added", "removed", "reclassified", "corrected")


@dataclass(frozen=True)
class Prepared:
    """Every change of the latest sync, row for row: its `listing` and its `tally` code."""

    listed: pa.Table
    tallies: np.ndarray  # index into TALLIES


@st.cache_data(show_spinner=False, max_entries=4, hash_funcs=KEYS)
def prepared(ref: StoreRef) -> Prepared:
    changes = last_sync_changes(ref)
    listed = pa.Table.from_pandas(listing(changes), preserve_index=False)
    return Prepared(listed, _tally_codes(changes))


def _tally_codes(changes: pd.DataFrame) -> np.ndarray:
    """Each change's `tally` name as its index in TALLIES, by `tally`'s rules, row by row
    (len(TALLIES) for a change `tally` does not count)."""
    kind = changes["change"].astype(str).to_numpy()
    died = changes["fields_changed"].fillna("").astype(str).str.contains(DIED, regex=False)
    updated = kind == "updated"
    return np.select(
        [kind == "added", kind == "removed", updated & died.to_numpy(), updated],
        [0, 1, 2, 3],
        default=len(TALLIES),
    )


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=KEYS)
def positions(ref: StoreRef, column: str) -> dict[str, np.ndarray]:
    """Row positions of the changes of each recorded area (`column`: district, beat, ...)."""
    values = last_sync_changes(ref)[column].astype("string")
    return {
        str(key): np.asarray(rows, dtype=np.int64)
        for key, rows in values.groupby(values, dropna=True).indices.items()
    }
