"""Outreach: where shootings really cluster, which places are getting worse, and which
recent shootings are still inside their retaliation-risk window. No names; block level."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from geo.emerging import CATEGORIES
from geo.hotspots import NOT_SIGNIFICANT
from pipeline.errors import PipelineError
from pipeline.export import safe_csv
from pipeline.settings import Settings
from ui import data, outreach_data, style
from ui.mapview import SerializedDeck
from ui.outreach_map import CLASS_COLOURS, EMERGING_COLOURS, TOOLTIP, deck_json
from ui.text import plain

TEAM_SCOPES = {
    "city": "Whole city",
    "district": "A district",
    "beats": "A set of beats",
    "community_area": "A community area",
}


def main() -> None:
    st.set_page_config(page_title="Outreach: hot spots and open windows", layout="wide")
    st.markdown(style.BASE, unsafe_allow_html=True)
    settings = Settings.from_env()
    opened = data.open_store(settings)
    if opened is None:
        st.title("Outreach")
        st.info("There is no data yet. Run `python -m pipeline sync` first (see README.md).")
        return
    ref, found = opened
    bounds = found.bounds
    with st.sidebar:
        st.header("Outreach view")
        as_of = st.date_input(
            "As of",
            value=bounds.latest,
            min_value=bounds.first,
            max_value=bounds.latest,
            key="o_as_of",
        )
        level = st.radio(
            "Hot spots on",
            ["beat", "hex"],
            key="o_level",
            format_func=lambda k: "police beats" if k == "beat" else "hexagons (~350 m)",
        )
        shows = st.radio("Map shows", ["hot spots", "emerging hot spots"], key="o_shows")
        st.subheader("Retaliation-risk windows")
        days = st.number_input("Shootings of the last N days", 1, 60, 14, key="o_days")
        radius = st.number_input("Radius (metres)", 50, 2000, 400, step=50, key="o_radius")
        window = st.number_input("Window length (days)", 1, 60, 14, key="o_window")
        scope, chosen = team_filter(ref, found)
    assert isinstance(as_of, date)
    start = as_of - timedelta(days=364)
    st.title("Outreach: hot spots and open windows")
    st.markdown(
        f'<p class="freshness">Data through <b>{bounds.latest:%Y-%m-%d}</b>. '
        f"Hot spots: shootings {start:%d %b %Y} to {as_of:%d %b %Y}. No names; "
        "locations at block level.</p>",
        unsafe_allow_html=True,
    )
    hot = outreach_data.hotspots(ref, level, start, as_of, "shootings")
    trend = outreach_data.emerging(ref, level, as_of, "shootings")
    open_now = outreach_data.windows(ref, as_of, int(days), int(radius), int(window))
    show_map(ref, level, shows, hot, trend, open_now, int(radius))
    show_hotspots(hot, trend, level)
    show_windows(open_now, scope, chosen, ref, as_of, int(radius))
    with st.expander("Do shootings follow shootings nearby? (Knox test, last 12 months)"):
        st.caption(
            "Pairs of shootings close in space and time, against what shuffling the "
            "dates among the same places gives (199 seeded shuffles). A ratio above 1 "
            "with a small p means near-repeat shootings happen more often than chance."
        )
        st.dataframe(outreach_data.knox(ref, start, as_of), hide_index=True, width="stretch")
    with st.expander("How these are computed"):
        st.markdown(METHODS)


METHODS = """
- **Hot spots**: Getis-Ord Gi* on shooting victims per area over the last 12 months
  (beats with shared-border neighbours, or H3 hexagons with their six neighbours), 999
  conditional permutations with a fixed seed, two-sided, then a Benjamini-Hochberg false
  discovery rate correction over all areas. Classes: hot or cold at 99, 95 or 90 %.
- **Emerging hot spots**: the same test in twelve 30-day slices; a Mann-Kendall trend of
  each area's z-scores. new: hot only in the last slice; consecutive: an unbroken run at
  the end; intensifying / persistent / diminishing: hot in at least 90 % of slices with a
  rising / no / falling trend; sporadic: on and off, hot now; historical: hot in at least
  90 % of slices but not now (on hexagons: 199 permutations per slice).
- **Windows**: for each shooting (incident) of the last N days, the shootings within R
  metres in the D days after it, counted up to the as-of date; listed while the window is
  open. Distances in metres (EPSG:26916).
"""


def team_filter(ref: data.StoreRef, found: data.Facts) -> tuple[str, list[str]]:
    """Which windows to export: the whole city, a district, a set of beats or an area."""
    st.subheader("Team area (for the list)")
    scope = st.selectbox(
        "Area", list(TEAM_SCOPES), key="o_scope", format_func=lambda k: TEAM_SCOPES[k]
    )
    if scope == "district":
        return scope, [
            st.selectbox("District", list(found.bounds.areas["district"]), key="o_district")
        ]
    if scope == "beats":
        return scope, st.multiselect("Beats", list(found.bounds.areas["beat"]), key="o_beats")
    if scope == "community_area":
        return scope, [
            st.selectbox("Community area", list(found.bounds.areas["community_area"]), key="o_area")
        ]
    return scope, []


def show_map(
    ref: data.StoreRef,
    level: str,
    shows: str,
    hot: pd.DataFrame,
    trend: pd.DataFrame,
    open_now: pd.DataFrame,
    radius: int,
) -> None:
    if shows == "hot spots":
        spec = deck_json(
            outreach_data.shapes(ref, level), hot, "class", CLASS_COLOURS, open_now, radius
        )
        colours = CLASS_COLOURS
    else:
        spec = deck_json(
            outreach_data.shapes(ref, level), trend, "category", EMERGING_COLOURS, open_now, radius
        )
        colours = EMERGING_COLOURS
    st.pydeck_chart(SerializedDeck(spec, TOOLTIP), height=600, key="o_map")
    items = "".join(
        f'<span class="swatch" style="background: rgb({",".join(map(str, c))})"></span>{name}'
        for name, c in colours.items()
    )
    st.markdown(
        f'<div class="legend"><b>{shows.capitalize()}:</b>{items} '
        f"<b>&#9711;</b> open window ({radius} m)</div>",
        unsafe_allow_html=True,
    )


def show_hotspots(hot: pd.DataFrame, trend: pd.DataFrame, level: str) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Significant hot and cold spots")
        significant = hot[hot["class"] != NOT_SIGNIFICANT].sort_values("z", ascending=False)
        st.caption(
            f"{len(significant)} of {len(hot)} "
            f"{'beats' if level == 'beat' else 'hexagons'} after the FDR correction."
        )
        st.dataframe(significant, hide_index=True, width="stretch")
    with right:
        st.subheader("Emerging hot spots")
        counts = trend["category"].value_counts().reindex(CATEGORIES, fill_value=0)
        st.dataframe(counts.rename("areas").to_frame(), width="stretch")
        st.dataframe(
            trend[trend["category"] != "no pattern"].sort_values("category"),
            hide_index=True,
            width="stretch",
        )


def show_windows(
    open_now: pd.DataFrame,
    scope: str,
    chosen: list[str],
    ref: data.StoreRef,
    as_of: date,
    radius: int,
) -> None:
    st.subheader("Open retaliation-risk windows")
    listed = in_team_area(open_now, scope, chosen, ref)
    st.caption(
        f"{len(listed)} shootings with a window still open on {as_of:%Y-%m-%d}; "
        f"follow-ups are other shootings within {radius} m since."
    )
    shown = listed.drop(columns=["latitude", "longitude"])
    st.dataframe(shown, hide_index=True, width="stretch")
    st.download_button(
        "Download this list (CSV)",
        safe_csv(shown),
        file_name=f"open_windows_{scope}_{as_of}.csv",
        mime="text/csv",
    )


def in_team_area(
    windows: pd.DataFrame, scope: str, chosen: list[str], ref: data.StoreRef
) -> pd.DataFrame:
    if scope == "city" or not chosen:
        return windows
    beats = outreach_data.beat_areas(ref)
    column = {"district": "district", "beats": "beat", "community_area": "community_area"}[scope]
    keep = set(beats.loc[beats[column].isin(chosen), "beat"])
    return windows[windows["beat"].isin(keep)]


try:
    main()
except PipelineError as exc:  # e.g. a store written by an older version
    st.error(plain(exc, 400))  # it may name a path or a value from a file
