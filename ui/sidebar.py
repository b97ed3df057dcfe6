"""The page's sidebar: the view's controls, kept in widget keys (`ui.state.View`).

Option lists and their labels are built once per store and level (`area_options`),
not on every rerun: the beat list has 274 entries.
"""

from __future__ import annotations

from dataclasses import fields

import streamlit as st

from pipeline import report, trends
from pipeline.aggregate import KINDS, MEASURES
from ui import data, style, words
from ui.state import (
    LEVELS,
    METRICS,
    WHOLE_CITY,
    Bounds,
    View,
    bases_for,
    carried_area,
    carried_basis,
    from_widgets,
)

KIND_LABELS = {
    "shootings": "shootings (fatal and non-fatal)",
    "fatal-shootings": "fatal shootings",
    "nonfatal-shootings": "non-fatal shootings",
    "homicides": "all homicides",
}
BASIS_LABELS = {
    "recorded": "codes recorded by CPD (as CompStat)",
    "geometry": "location on current boundaries",
}
PERIOD_LABELS = {  # the select box is narrow: a caption under it names the comparison
    "ytd": "Year to date",
    "28d": "Last 28 days, a year apart",
    "28d-prev": "Last 28 days, back to back",
    "12m": "Last 12 months",
    "custom": "Custom range",
}
FOCUS_DISTRICT = "17"  # one click away: the North River Commission's district
VIEW_KEYS = [f.name for f in fields(View)]


def _level_changed(bounds: Bounds) -> None:
    """Keep the selection meaningful across levels (a district's beats, a beat's
    district) and the basis allowed (see `ui.state.carried_area`, `carried_basis`)."""
    old = st.session_state.get("shown_level", "district")
    new = st.session_state["level"]
    st.session_state["area"] = carried_area(old, new, st.session_state.get("area", ""), bounds)
    st.session_state["basis"] = carried_basis(old, new, st.session_state.get("basis", ""))
    st.session_state["shown_level"] = new
    st.session_state["last_pick"] = None


def _focus_district() -> None:
    if st.session_state.get("level") != "district":
        st.session_state["basis"] = carried_basis(
            st.session_state.get("level", "district"), "district", st.session_state["basis"]
        )
    st.session_state["level"] = "district"
    st.session_state["shown_level"] = "district"
    st.session_state["area"] = FOCUS_DISTRICT


def sidebar(ref: data.StoreRef, found: data.Facts) -> View:
    bounds = found.bounds
    with st.sidebar:
        st.header("View")
        if not st.session_state.get("present"):  # in presentation mode: at the page's end
            presentation_toggle()
        st.radio(
            "Geography",
            list(LEVELS),
            format_func=lambda k: LEVELS[k],
            key="level",
            on_change=_level_changed,
            args=(bounds,),
        )
        options, names = area_options(ref, st.session_state["level"])
        st.selectbox("Area (type to search)", options, key="area", format_func=names.__getitem__)
        if FOCUS_DISTRICT in bounds.areas["district"]:
            st.button(
                f"District {FOCUS_DISTRICT}",
                on_click=_focus_district,
                help="Jump to the 17th District",
            )
        st.date_input(
            "As of",
            key="as_of",
            min_value=bounds.first,
            max_value=bounds.latest,
            help="Last day counted. Default: the latest date in the data. Type a date and "
            "press Enter, or pick one.",
        )
        st.selectbox(
            "Period",
            list(trends.PERIOD_CHOICES),
            key="period",
            format_func=lambda k: PERIOD_LABELS[k],
        )
        st.caption(f"Compared with {report.PERIOD_WORDS[st.session_state['period']].against}.")
        if st.session_state["period"] == "custom":
            as_of = st.session_state["as_of"]
            if st.session_state.get("start") is None:  # just switched to custom: this year
                st.session_state["start"] = max(bounds.first, as_of.replace(month=1, day=1))
            if st.session_state.get("end") is None:
                st.session_state["end"] = as_of
            st.date_input("From", key="start", min_value=bounds.first, max_value=bounds.latest)
            st.date_input("To", key="end", min_value=bounds.first, max_value=bounds.latest)
        st.radio(
            "Count",
            list(MEASURES),
            key="measure",
            horizontal=True,
            format_func=lambda k: "victims (people)" if k == "victims" else "incidents",
        )
        st.selectbox("What", list(KINDS), key="kind", format_func=lambda k: KIND_LABELS[k])
        st.radio("Map shows", list(METRICS), key="metric", format_func=lambda k: METRICS[k])
        basis_control(st.session_state["level"])
        style.ENTER_APPLIES_DATES(key="enter_applies_dates", height=0)
    return from_widgets({k: st.session_state.get(k) for k in VIEW_KEYS})


def presentation_toggle() -> None:
    st.toggle(
        "Presentation mode",
        key="present",
        help="For a projector: the map across the screen, large type, no controls.",
    )


def basis_control(level: str) -> None:
    """Which area a record counts in. ZIP codes and neighbourhoods have no recorded code:
    the control shows the one basis they have, disabled, and says why."""
    allowed = sorted(bases_for(level), key=list(BASIS_LABELS).index)  # CPD's codes first
    if st.session_state.get("basis") not in allowed:
        st.session_state["basis"] = allowed[0]
    with st.expander(f"Boundary basis: {BASIS_LABELS[st.session_state['basis']]}"):
        st.radio(
            "Place records by",
            list(allowed),
            key="basis",
            format_func=lambda k: BASIS_LABELS[k],
            disabled=len(allowed) == 1,
        )
        if len(allowed) == 1:
            st.caption(
                f"{LEVELS[level]}s: by location only; records carry no {LEVELS[level]} code."
            )
        else:
            st.caption(
                "CPD's CompStat sheets and the press count the district and beat CPD "
                "recorded on each record; the current map places each record by where it "
                "happened, comparable across years."
            )


@data.shared_cache(16)
def area_options(ref: data.StoreRef, level: str) -> tuple[list[str], dict[str, str]]:
    """The area box's keys (the whole city first, then as people look for them) and the
    name shown for each: built once per store and level, not on every rerun."""
    found = data.facts(ref)
    if found is None:
        return [WHOLE_CITY], {WHOLE_CITY: "Whole city"}
    labels = found.labels[level]
    keys = words.sorted_areas(level, found.bounds.areas[level], labels)
    names = {key: words.area_name(level, key, labels.get(key)) for key in keys}
    return [WHOLE_CITY, *keys], {WHOLE_CITY: "Whole city", **names}
