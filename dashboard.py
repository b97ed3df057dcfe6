"""Chicago shooting trends: `streamlit run dashboard.py`.

Reads the local store only (never the API). The view lives in widget keys
mirrored to the URL, so a copied link reopens the same view; `?present=1`
is a projector mode with large type and no controls.
"""

from __future__ import annotations

import time
from dataclasses import asdict, fields

import pandas as pd
import streamlit as st

from geo.maplayers import CHANGE_COLOURS
from pipeline import report, stats, trends
from pipeline.aggregate import KINDS, MEASURES
from pipeline.errors import PipelineError
from pipeline.export import safe_csv
from pipeline.queries import BASES
from pipeline.settings import Settings
from ui import charts, data, mapview, style
from ui.state import (
    LEVELS,
    METRICS,
    WHOLE_CITY,
    Bounds,
    View,
    from_query,
    from_widgets,
    to_query,
)
from ui.text import in_html, plain

KIND_LABELS = {
    "shootings": "shootings (fatal and non-fatal)",
    "fatal-shootings": "fatal shootings",
    "nonfatal-shootings": "non-fatal shootings",
    "homicides": "all homicides",
}
BASIS_LABELS = {"geometry": "location on current boundaries", "recorded": "codes recorded by CPD"}
FOCUS_DISTRICT = "17"  # one click away: the North River Commission's district
VIEW_KEYS = [f.name for f in fields(View)]
NOTE_NAMES = 5  # a hostile link can carry any number of parameters: name a few
NOTE_NAME_LENGTH = 30
ERROR_LENGTH = 400


def main() -> None:
    started = time.perf_counter()
    try:
        render()
    except PipelineError as exc:  # e.g. a store written by an older version
        st.error(plain(exc, ERROR_LENGTH))  # it may name a path or a value from a file
    finally:
        # Server time of this run, read by bench/dashboard_bench.py.
        st.session_state["render_seconds"] = time.perf_counter() - started


def render() -> None:
    st.set_page_config(page_title="Chicago shooting trends", layout="wide")
    st.markdown(style.BASE, unsafe_allow_html=True)
    settings = Settings.from_env()
    opened = data.open_store(settings)
    if opened is None:
        show_empty_store(settings)
        return
    ref, found = opened
    restore_view(found.bounds)
    apply_map_pick(found.bounds)
    view = sidebar(found)
    st.query_params.from_dict(to_query(view))
    if view.present:
        st.markdown(style.PRESENT, unsafe_allow_html=True)
    page(ref, found, view)


def show_empty_store(settings: Settings) -> None:
    st.title("Chicago shooting trends")
    st.info(
        f"There is no data yet in {plain(settings.store_path, 200)}. Fetch it first, then "
        "reload this page:\n\n`python -m pipeline sync`\n\n(or, from exported files, "
        "`python -m pipeline sync --victims FILES... --beats FILE --districts FILE "
        "--community-areas FILE`; see README.md)."
    )


def restore_view(bounds: Bounds) -> None:
    """On a session's first run, take the view from the URL (bad values fall back)."""
    if st.session_state.get("view_ready"):
        return
    view, ignored = from_query(st.query_params.to_dict(), bounds)
    for name, value in asdict(view).items():
        st.session_state[name] = value
    st.session_state["url_notes"] = ignored
    st.session_state["view_ready"] = True


def apply_map_pick(bounds: Bounds) -> None:
    """A click on the map selects that area (once per click)."""
    pick = mapview.picked_area(st.session_state.get("map"))
    level = st.session_state["level"]
    if pick and pick != st.session_state.get("last_pick") and pick in bounds.areas[level]:
        st.session_state["last_pick"] = pick
        st.session_state["area"] = pick


def _reset_area() -> None:
    st.session_state["area"] = WHOLE_CITY
    st.session_state["last_pick"] = None


def _focus_district() -> None:
    st.session_state["level"] = "district"
    st.session_state["area"] = FOCUS_DISTRICT


def sidebar(found: data.Facts) -> View:
    bounds = found.bounds
    with st.sidebar:
        st.header("View")
        st.radio(
            "Geography",
            list(LEVELS),
            format_func=lambda k: LEVELS[k],
            key="level",
            on_change=_reset_area,
        )
        level = st.session_state["level"]
        labels = found.labels[level]
        st.selectbox(
            "Area",
            [WHOLE_CITY, *bounds.areas[level]],
            key="area",
            format_func=lambda k: (
                "Whole city" if not k else report.area_title(level, k, labels.get(k))
            ),
        )
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
            help="Last day counted. Default: the latest date in the data.",
        )
        st.selectbox(
            "Period",
            list(trends.PERIOD_CHOICES),
            key="period",
            format_func=lambda k: trends.PERIOD_CHOICES[k],
        )
        if st.session_state["period"] == "custom":
            as_of = st.session_state["as_of"]
            st.session_state.setdefault("start", as_of.replace(month=1, day=1))
            if st.session_state.get("start") is None:
                st.session_state["start"] = as_of.replace(month=1, day=1)
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
        with st.expander("Boundary basis"):
            st.radio(
                "Place records by",
                list(BASES),
                key="basis",
                format_func=lambda k: BASIS_LABELS[k],
            )
    return from_widgets({k: st.session_state.get(k) for k in VIEW_KEYS})


def page(ref: data.StoreRef, found: data.Facts, view: View) -> None:
    current, previous = data.spans(view)
    labels = found.labels[view.level]
    where = (
        "Chicago"
        if not view.area
        else plain(report.area_title(view.level, view.area, labels.get(view.area)), 120)
    )
    st.title(f"{KIND_LABELS[view.kind].capitalize()}: {where}")
    st.markdown(freshness(found), unsafe_allow_html=True)
    for note in notes(ref, view):
        st.warning(note)
    st.markdown(
        f"**{trends.PERIOD_CHOICES[view.period].capitalize()}**: "
        f"{current.start:%d %b %Y} to {current.end:%d %b %Y}, against "
        f"{previous.start:%d %b %Y} to {previous.end:%d %b %Y}. Counting **{view.measure}**."
    )
    panels = data.panels(ref, view)
    show_compstat(ref, panels.compstat, view, incomplete=bool(data.coverage_warnings(ref, view)))
    show_map(ref, view, data.map_table(ref, view))
    show_details(panels, view)
    show_definitions(found, view)


def freshness(found: data.Facts) -> str:
    synced = (
        f"synced {found.synced_at:%Y-%m-%d %H:%M} UTC from {in_html(found.source, 160)}"
        if found.synced_at is not None
        else "never synced"
    )
    return (
        f'<p class="freshness">Data through <b>{found.bounds.latest:%Y-%m-%d}</b>, '
        f"{synced}. {found.victims:,} victim records since {found.bounds.first:%Y}. "
        "No names are stored or shown; locations are block level.</p>"
    )


def notes(ref: data.StoreRef, view: View) -> list[str]:
    out = []
    ignored = st.session_state.get("url_notes") or []
    if ignored:
        out.append(bad_settings_note(ignored))
    out += [f"{w}. Verdicts are withheld." for w in data.coverage_warnings(ref, view)]
    return out


def bad_settings_note(ignored: list[str]) -> str:
    """A few of the ignored URL parameters by name, the page's own settings first. Any
    other name is text from the link: escaped and cut short."""
    ordered = sorted(ignored, key=lambda name: (name not in VIEW_KEYS, name))
    named = [
        name if name in VIEW_KEYS else plain(name, NOTE_NAME_LENGTH)
        for name in ordered[:NOTE_NAMES]
    ]
    more = len(ordered) - len(named)
    return (
        "Some link settings were not valid and were replaced by defaults: "
        + ", ".join(named)
        + (f" and {more} more" if more else "")
        + "."
    )


def show_map(ref: data.StoreRef, view: View, table: pd.DataFrame) -> None:
    st.subheader(f"Map: {LEVELS[view.level].lower()}s")
    deck = mapview.SerializedDeck(data.map_json(ref, view))
    st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", key="map", height=600)
    st.markdown(legend(table, view), unsafe_allow_html=True)
    st.caption("Click an area to select it. Hover for its numbers.")


def legend(table: pd.DataFrame, view: View) -> str:
    order = (
        list(dict.fromkeys(table.sort_values("rate")["category"]))
        if view.metric == "count"
        else list(CHANGE_COLOURS)
    )
    colours = dict(zip(table["category"], table["fill"], strict=True))
    items = "".join(
        f'<span class="swatch" style="background: rgb({",".join(map(str, colours[c]))})"></span>{c}'
        for c in order
        if c in colours
    )
    title = (
        "Per year at this period's pace (fixed classes)"
        if view.metric == "count"
        else "Change against last year"
    )
    return f'<div class="legend"><b>{title}:</b>{items}</div>'


def show_compstat(ref: data.StoreRef, compstat: pd.DataFrame, view: View, incomplete: bool) -> None:
    st.subheader("This period against last year")
    shown = compstat if not incomplete else trends.mark_incomplete(compstat)
    table = pd.DataFrame(
        {
            "what": shown["kind"].str.replace("_", " "),
            "this period": shown["current"],
            "last year": shown["previous"],
            "change": [
                f"{c - p:+d} ({stats.describe_pct(c, p)})"
                for c, p in zip(shown["current"], shown["previous"], strict=True)
            ],
            "verdict": shown["verdict"],
        }
    )
    st.table(table.set_index("what"))  # static HTML: wraps on a phone, large when projected
    sentence = headline(shown, view)
    if sentence:
        st.markdown(sentence)
    brief_button(ref, view)
    st.download_button(
        "Download this table (CSV)",
        safe_csv(shown),
        file_name=f"compstat_{view.level}_{view.area or 'city'}_{view.as_of}.csv",
        mime="text/csv",
    )


def brief_button(ref: data.StoreRef, view: View) -> None:
    """A printable one-page brief for the selected area (drawn only when asked for)."""
    if not view.area or view.as_of is None:
        st.caption("Pick an area for a printable one-page brief.")
        return
    wanted = (view.level, view.area, view.as_of, view.measure)
    if st.button(
        "Prepare a one-page brief (PDF)",
        key="brief",
        help=f"Year to date through {view.as_of}, for a meeting handout",
    ):
        st.session_state["brief_for"] = wanted
    if st.session_state.get("brief_for") == wanted:
        st.download_button(
            "Download the brief (PDF)",
            data.brief_pdf(ref, *wanted),
            file_name=f"brief_{view.level}_{view.area.replace(' ', '_').lower()}_{view.as_of}.pdf",
            mime="application/pdf",
        )


def headline(compstat: pd.DataFrame, view: View) -> str:
    """The selected kind's change in one plain sentence (none when the data has a hole)."""
    row = compstat.set_index("kind").loc[view.kind.replace("-", "_")].to_dict()
    if row["verdict"] == trends.INCOMPLETE:
        return ""
    what = KIND_LABELS[view.kind].split(" (")[0]
    return report.summary_sentence(row, what, trends.PERIOD_CHOICES[view.period])


def show_details(panels: data.Panels, view: View) -> None:
    weekly, hours, people, recent = st.tabs(
        ["Weekly trend", "Hour and weekday", "Age and sex", "Recent incidents"]
    )
    with weekly:
        long, spec = charts.weekly_chart(panels.weekly, view.measure)
        st.vega_lite_chart(long, spec, height=300, width="stretch")
        with st.expander("The numbers behind the chart"):
            st.dataframe(panels.weekly, width="stretch")
    with hours:
        st.caption("Victims in this period by weekday and local hour.")
        st.dataframe(panels.hours, width="stretch")
    with people:
        st.caption("Victims in this period by age band and sex (as published; many are 'unknown').")
        st.dataframe(panels.age_sex, width="stretch")
    with recent:
        st.caption("Latest incidents in this period, newest first, at block level.")
        st.dataframe(panels.recent, hide_index=True, width="stretch")
        st.download_button(
            "Download these incidents (CSV)",
            safe_csv(panels.recent),
            file_name=f"incidents_{view.level}_{view.area or 'city'}.csv",
            mime="text/csv",
        )


def show_definitions(found: data.Facts, view: View) -> None:
    with st.expander("Definitions and what is left out"):
        st.markdown(
            "\n".join(
                f"- {line}"
                for line in [
                    *report.DEFINITIONS,
                    f"Boundary basis: {report.BASIS_NOTES[view.basis]}.",
                    "Verdict: 'likely increase/decrease' means a change this large would happen by "
                    "chance less than 1 time in 20 if the underlying rate had not changed; 'within "
                    "normal variation' means it could easily be chance.",
                    f"Left out: {found.quarantined:,} records that failed validation (see "
                    "`python -m pipeline status`). "
                    f"{found.placement.get('unassigned_beat', 0):,} records fall in no current "
                    "beat: they count as 'unassigned' and in citywide totals.",
                ]
            )
        )


if __name__ == "__main__":
    main()
