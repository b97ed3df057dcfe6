"""Outreach: which recent shootings are still inside their retaliation-risk window, where
shootings really cluster, and which places are getting worse. No names; block level.

Every control is mirrored to the URL (`ui.outreach_state`), so a supervisor can send a
link; a team area cuts the map, the tables and the windows list alike.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import pandas as pd
import streamlit as st

from pipeline import outreach
from pipeline.errors import PipelineError
from pipeline.export import safe_csv
from pipeline.settings import Settings
from ui import a11y, basemap, data, memory, outreach_data, since_sync, style
from ui import outreach_tables as tables
from ui.mapview import SerializedDeck
from ui.outreach_map import CLASS_COLOURS, EMERGING_COLOURS, TOOLTIP, chunk_preloads
from ui.outreach_state import LEVELS, NUMBERS, SCOPES, SHOWS, OutreachView, from_query, to_query
from ui.state import Bounds
from ui.text import in_html, plain

#: Cards on a phone, the table on a wider screen (no sideways scrolling in a table).
PHONE_CSS = """<style>
.window-card { border: 1px solid #999; border-radius: 6px; padding: 0.5em 0.7em;
  margin: 0 0 0.6em 0; font-size: 1rem; line-height: 1.45; overflow-wrap: anywhere; }
@media (max-width: 640px) { .st-key-o_windows_table { display: none; } }
@media (min-width: 641px) { .st-key-o_windows_cards { display: none; } }
</style>"""


def main() -> None:
    st.set_page_config(page_title="Outreach: open windows and hot spots", layout="wide")
    base_path = str(st.get_option("server.baseUrlPath") or "")
    st.markdown(style.BASE + PHONE_CSS + chunk_preloads(base_path), unsafe_allow_html=True)
    settings = Settings.from_env()
    opened = data.open_store(settings)
    if opened is None:
        st.title("Outreach")
        st.info("There is no data yet. Run `python -m pipeline sync` first (see README.md).")
        return
    ref, found = opened
    restore_view(found.bounds)
    view = sidebar(found)
    st.query_params.from_dict(to_query(view))
    page(ref, found, view, basemap.tiles_wanted(settings))


def restore_view(bounds: Bounds) -> None:
    """On a session's first run, take the view from the URL (bad values fall back)."""
    if st.session_state.get("o_ready"):
        return
    view, ignored = from_query(st.query_params.to_dict(), bounds)
    for name, value in asdict(view).items():
        st.session_state[f"o_{name}"] = list(value) if isinstance(value, tuple) else value
    st.session_state["o_notes"] = ignored
    st.session_state["o_ready"] = True


def sidebar(found: data.Facts) -> OutreachView:
    bounds = found.bounds
    with st.sidebar:
        st.header("Team area")
        scope = st.selectbox("Area", list(SCOPES), key="o_scope", format_func=lambda k: SCOPES[k])
        areas = bounds.areas
        if scope == "district":
            st.selectbox("District", list(areas["district"]), key="o_district")
        elif scope == "beats":
            st.multiselect("Beats", list(areas["beat"]), key="o_beats")
        elif scope == "community_area":
            st.selectbox(
                "Community area", list(areas["community_area"]), key="o_area", format_func=str.title
            )
        st.header("View")
        st.date_input("As of", min_value=bounds.first, max_value=bounds.latest, key="o_as_of")
        st.radio("Hot spots on", list(LEVELS), key="o_level", format_func=lambda k: LEVELS[k])
        st.radio("Map shows", list(SHOWS), key="o_shows", format_func=lambda k: SHOWS[k])
        st.subheader("Retaliation-risk windows")
        low, high, step = NUMBERS["days"]
        st.number_input("Shootings of the last N days", low, high, step=step, key="o_days")
        low, high, step = NUMBERS["radius"]
        st.number_input("Radius (metres)", low, high, step=step, key="o_radius")
        low, high, step = NUMBERS["window"]
        st.number_input("Window length (days)", low, high, step=step, key="o_window")
    return current_view()


def current_view() -> OutreachView:
    """The view held in the widgets (already validated by the widgets themselves)."""
    s = st.session_state
    as_of = s.get("o_as_of")
    return OutreachView(
        as_of=as_of if isinstance(as_of, date) else None,
        level=s["o_level"],
        shows=s["o_shows"],
        days=int(s["o_days"]),
        radius=int(s["o_radius"]),
        window=int(s["o_window"]),
        scope=s["o_scope"],
        district=str(s.get("o_district") or ""),
        beats=tuple(sorted(s.get("o_beats") or ())),
        area=str(s.get("o_area") or ""),
    )


def page(ref: data.StoreRef, found: data.Facts, view: OutreachView, tiles: bool) -> None:
    as_of = view.as_of or found.bounds.latest
    start = outreach.hotspot_start(as_of)
    chosen = view.chosen()
    st.title("Outreach: open windows and hot spots")
    notes = st.session_state.get("o_notes") or []
    if notes:
        named = ", ".join(plain(n, 24) for n in notes[:5])
        st.warning(f"Some link settings were not valid and were replaced by defaults: {named}.")
    where = team_words(view, found)
    st.markdown(
        f'<p class="freshness">{in_html(where, 120)} &middot; data through '
        f"<b>{found.bounds.latest:%Y-%m-%d}</b> &middot; hot spots: shootings "
        f"{start:%d %b %Y} to {as_of:%d %b %Y}. No names; locations at block level.</p>",
        unsafe_allow_html=True,
    )
    since_sync.show(ref, view.scope if chosen else None, chosen)
    show_windows(outreach_data.team_windows(ref, view, as_of), view, as_of)
    places = outreach_data.places(ref, view.level)
    keep = tables.in_team(places, view.scope, chosen)
    names = outreach_data.names(ref, view.level, start, as_of)
    hot = outreach_data.hotspots(ref, view.level, start, as_of, "shootings")
    trend = outreach_data.emerging(ref, view.level, as_of, "shootings")
    show_map(outreach_data.map_spec(ref, view, as_of, tiles), view)
    show_hotspots(hot, trend, keep, names, view.level)
    show_knox(ref, start, as_of)
    with st.expander("How these are computed"):
        st.markdown(METHODS)
    if not st.session_state.get("o_warmed"):  # a session's first page, once it is drawn
        outreach_data.warm_other_levels(ref, view, as_of, tiles)
        st.session_state["o_warmed"] = True
    memory.freeze_after_first_page()


def show_knox(ref: data.StoreRef, start: date, as_of: date) -> None:
    """The Knox test, computed only once its expander is opened (opening reruns the page):
    a first screen that nobody reads it on does not wait for its 199 shuffles."""
    box = st.expander(
        "Do shootings follow shootings nearby? (Knox test, last 12 months)",
        key="o_knox",
        on_change="rerun",
    )
    with box:
        st.caption(
            "Pairs of shootings close in space and time, against what shuffling the "
            "dates among the same places gives (199 seeded shuffles). A ratio above 1 "
            "with a small p means near-repeat shootings happen more often than chance."
        )
        if box.open:
            st.dataframe(outreach_data.knox(ref, start, as_of), hide_index=True, width="stretch")


METHODS = """
- **Windows**: for each shooting (incident) of the last N days, the shootings within R
  metres in the D days after it, counted up to the as-of date; listed while the window is
  open. Distances in metres (EPSG:26916). The map link opens OpenStreetMap at the spot.
- **Hot spots**: Getis-Ord Gi* on shooting victims per area over the last 12 months
  (beats with shared-border neighbours, or H3 hexagons with their six neighbours), 999
  conditional permutations with a fixed seed, two-sided, then a Benjamini-Hochberg false
  discovery rate correction over all areas of the city. "Hot spot, 99 % confidence":
  the area and its neighbours have more shootings than the city's average, and at most
  1 % of such findings are expected to be chance.
- **Emerging hot spots**: the same test in twelve 30-day slices; a Mann-Kendall trend of
  each area's z-scores. new: hot only in the last slice; hot for the last months in a
  row: an unbroken run at the end; intensifying / persistent / diminishing: hot in at
  least 90 % of slices with a rising / no / falling trend; on-and-off: hot now, not
  steadily; former: hot in at least 90 % of slices but not now (hexagons: 199
  permutations per slice).
- **Team area**: the tests run on the whole city (a hot spot is hot against the city);
  the map and the tables then show the team's areas only. A hexagon belongs to the beat
  and community area holding its centre; it is named by the most common block of its
  shootings in the 12 months, or by its community area.
"""


def team_words(view: OutreachView, found: data.Facts) -> str:
    chosen = view.chosen()
    if not chosen:
        return "Whole city"
    if view.scope == "district":
        return f"District {chosen[0]}"
    if view.scope == "beats":
        return f"Beat{'s' if len(chosen) > 1 else ''} {', '.join(chosen)}"
    return chosen[0].title()


def show_windows(open_now: pd.DataFrame, view: OutreachView, as_of: date) -> None:
    st.header("Open retaliation-risk windows")
    rows = tables.window_rows(open_now)
    st.caption(
        f"{len(rows)} shootings with a window still open on {as_of:%Y-%m-%d}, soonest "
        f"closing first; follow-ups are other shootings within {view.radius} m since."
    )
    with st.container(key="o_windows_table"):
        st.dataframe(
            rows,
            hide_index=True,
            width="stretch",
            column_config={"map": st.column_config.LinkColumn("map", display_text="map")},
        )
    with st.container(key="o_windows_cards"):
        st.markdown(tables.window_cards(rows), unsafe_allow_html=True)
    st.download_button(
        "Download this list (CSV)",
        safe_csv(rows),
        file_name=f"open_windows_{view.scope}_{as_of}.csv",
        mime="text/csv",
    )


def show_map(spec: str, view: OutreachView) -> None:
    if view.shows == "hot":
        colours, wording = CLASS_COLOURS, {c: tables.class_words(c) for c in CLASS_COLOURS}
    else:
        colours, wording = EMERGING_COLOURS, tables.EMERGING_WORDS
    st.pydeck_chart(SerializedDeck(spec, TOOLTIP), height=560, key="o_map")
    a11y.name_maps(map_label(view))
    items = "".join(
        f'<span class="item"><span class="swatch" style="background: '
        f'rgb({",".join(map(str, c))})"></span>{in_html(wording.get(name, name))}</span>'
        for name, c in colours.items()
    )
    st.markdown(
        f'<div class="legend"><b>{SHOWS[view.shows].capitalize()}:</b> {items} '
        f'<span class="item"><b>&#9711;</b> open window ({view.radius} m)</span></div>',
        unsafe_allow_html=True,
    )
    st.caption("Hover an area or a circle for its numbers. The team area is outlined in purple.")


def map_label(view: OutreachView) -> str:
    """The map's accessible name: what it shows, and the tables that say it in text."""
    return (
        f"Map of {SHOWS[view.shows]} by {LEVELS[view.level]}, with open retaliation-risk "
        "windows as circles. The same places as text: the tables “Open retaliation-risk "
        "windows” above, “Significant hot and cold spots” and “Emerging hot spots” below."
    )


def show_hotspots(
    hot: pd.DataFrame, trend: pd.DataFrame, keep: set[str], names: dict[str, str], level: str
) -> None:
    unit = "beats" if level == "beat" else "hexagons"
    left, right = st.columns(2)
    with left:
        st.header("Significant hot and cold spots")
        rows = tables.hotspot_rows(hot, names, keep)
        st.caption(f"{len(rows)} of {len(keep)} {unit} here are significant (FDR-corrected).")
        st.dataframe(rows, hide_index=True, width="stretch")
    with right:
        st.header("Emerging hot spots")
        rows = tables.emerging_rows(trend, names, keep)
        st.caption(f"{len(rows)} of {len(keep)} {unit} here show a pattern over 12 months.")
        st.dataframe(rows, hide_index=True, width="stretch")
        with st.expander("How many areas in each pattern"):
            st.dataframe(tables.emerging_counts(trend, keep), hide_index=True, width="stretch")


try:
    main()
except PipelineError as exc:  # e.g. a store written by an older version
    st.error(plain(exc, 400))  # it may name a path or a value from a file
