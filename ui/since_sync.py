""" "Since the last sync": what the latest sync added, reclassified or removed in an area.

Read from the store's `changes` table (through `Reader.changes`), cut to the
recorded codes of the area, shown as plain text: every value comes from the data
and is escaped (`ui.text.plain`) or shown in a table cell, never as Markdown.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline.changes import DIED, tally
from pipeline.config import LEVELS
from ui.data import StoreRef, reader
from ui.text import plain

#: The recorded column that cuts the list for each team scope / page level.
RECORDED = {
    "district": "district",
    "beats": "beat",
    "beat": "beat",
    "community_area": "community_area",
}
LISTED = 20  # lines shown; the count says how many in all


@st.cache_data(show_spinner=False, max_entries=8)
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
    counts = tally(changes)
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
    mine = in_area(last_sync_changes(ref), scope, keys)
    where = "in your area" if keys else "in the city"
    st.markdown(plain(headline(mine, where), 300))
    if len(mine):
        with st.expander(f"What changed ({len(mine)})"):
            st.caption("Areas as recorded by the police on each record.")
            st.dataframe(listing(mine.head(LISTED)), hide_index=True, width="stretch")
