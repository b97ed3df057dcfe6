"""The dashboard's page (`dashboard.py` runs `main`).

Reads the local store only (never the API; a typed address goes to the address
service). The view and the resident's search live in widget keys mirrored to the
URL, so a copied link reopens the same view; "Presentation mode" (`?present=1`)
is a projector mode with large type and no controls. The first screen holds the
headline, the map and the CompStat table (and a search's answer card).
"""

from __future__ import annotations

import functools
import time
from dataclasses import asdict
from datetime import date

import pyarrow as pa
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from pipeline import report, trends
from pipeline.errors import PipelineError
from pipeline.export import safe_csv
from pipeline.settings import Settings
from ui import a11y, context, data, mapview, memory, search, shown, since_sync, style, words
from ui.sidebar import KIND_LABELS, PERIOD_LABELS, VIEW_KEYS, presentation_toggle, sidebar
from ui.state import (
    DEFAULT_RADIUS_M,
    LEVELS,
    Bounds,
    Search,
    View,
    carried_basis,
    from_query,
    range_problem,
    search_from_query,
    search_to_query,
    to_query,
)
from ui.text import NO_ICON, in_html, plain

NOTE_NAMES = 5  # a hostile link can carry any number of parameters: name a few
NOTE_NAME_LENGTH = 30
ERROR_LENGTH = 400
#: Session key that fixes "today" (tests; a URL cannot set it). Default: the clock.
TODAY_KEY = "today"
MAP_HEIGHT = {False: 460, True: 700}  # CSS px: page (beside the table), presentation


def main() -> None:
    started = time.perf_counter()
    try:
        render()
    except PipelineError as exc:  # e.g. a store written by an older version
        # The message may name a path or a value from a file.
        st.error(plain(exc, ERROR_LENGTH), icon=NO_ICON)
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
    with data.one_reader_per_run(ref):
        render_store(ref, found, settings)


def render_store(ref: data.StoreRef, found: data.Facts, settings: Settings) -> None:
    restore_view(found.bounds)
    apply_map_pick(found.bounds)
    header = st.container()  # title and notes, filled once the view is known
    place = find_place(ref, settings, found.bounds)
    view = sidebar(ref, found)
    st.session_state["shown_level"] = view.level
    st.query_params.from_dict({**to_query(view), **search_to_query(current_search())})
    if view.present:
        st.markdown(style.PRESENT, unsafe_allow_html=True)
    page(ref, found, view, header, place)
    a11y.name_maps(a11y.dashboard_map_label(view.level))  # the map named for screen readers
    warm_levels(ref)  # after the page is drawn
    memory.freeze_after_first_page()


def warm_levels(ref: data.StoreRef) -> None:
    """What a first change of level reads (`data.warm_levels`, every level's residents),
    read once per store version, not on every rerun (the cache look-ups alone: ~1 ms)."""
    if ref not in _warmed:
        data.warm_levels(ref)
        context.warm_populations(ref)
        _warmed.add(ref)


_warmed: set[data.StoreRef] = set()  # store versions warm_levels has read


def current_search() -> Search:
    radius = st.session_state.get(search.RADIUS_KEY)
    return Search(
        q=str(st.session_state.get(search.QUERY_KEY) or "").strip(),
        at=str(st.session_state.get(search.AT_KEY) or ""),
        radius=radius if isinstance(radius, int) else DEFAULT_RADIUS_M,
    )


def find_place(ref: data.StoreRef, settings: Settings, bounds: Bounds) -> tuple[dict | None, str]:
    """The search box (not in presentation mode) and its answer. Drawn before the
    sidebar: a new search selects its area there (see `select_place`)."""
    if st.session_state.get("present"):
        return None, ""
    search.search_box()
    place, problem = search.find(ref, settings, st.session_state.get("as_of"))
    if st.session_state.pop(search.SELECT_KEY, False) and place is not None:
        select_place(place, bounds)
    return place, problem


def select_place(place: dict, bounds: Bounds) -> None:
    """Show the found place's area: the one a name matched, or the community area
    holding a point (on its level's default basis unless one was chosen on purpose)."""
    target = search.selected_area(place)
    if target is None or target[1] not in bounds.areas.get(target[0], ()):
        return
    level, key = target
    old = st.session_state.get("level", "district")
    st.session_state["basis"] = carried_basis(old, level, st.session_state.get("basis", ""))
    st.session_state["level"] = level
    st.session_state["shown_level"] = level
    st.session_state["area"] = key
    st.session_state["last_pick"] = None


def show_empty_store(settings: Settings) -> None:
    st.title("Chicago shooting trends")
    st.info(
        f"There is no data yet in {plain(settings.store_path, 200)}. Fetch it first, then "
        "reload this page:\n\n`python -m pipeline sync`\n\n(or, from exported files, "
        "`python -m pipeline sync --victims FILES... --beats FILE --districts FILE "
        "--community-areas FILE`; see README.md).",
        icon=NO_ICON,
    )


def restore_view(bounds: Bounds) -> None:
    """On a session's first run, take the view from the URL (bad values fall back)."""
    if st.session_state.get("view_ready"):
        return
    params = st.query_params.to_dict()
    view, ignored = from_query(params, bounds)
    wanted, ignored_search = search_from_query(params)
    for name, value in [*asdict(view).items(), *asdict(wanted).items()]:
        st.session_state[name] = value
    st.session_state["url_notes"] = sorted({*ignored, *ignored_search})
    # A link naming a place but no area (e.g. printed on a flyer) opens on that place.
    st.session_state[search.SELECT_KEY] = bool(wanted.q) and "area" not in params
    st.session_state["shown_level"] = view.level
    st.session_state["view_ready"] = True


def apply_map_pick(bounds: Bounds) -> None:
    """A click on the map selects that area (once per click)."""
    pick = mapview.picked_area(st.session_state.get("map"))
    level = st.session_state["level"]
    if pick and pick != st.session_state.get("last_pick") and pick in bounds.areas[level]:
        st.session_state["last_pick"] = pick
        st.session_state["area"] = pick


def today() -> date:
    """Today's date: the clock's, unless a test fixed it in the session."""
    fixed = st.session_state.get(TODAY_KEY)
    return fixed if isinstance(fixed, date) else date.today()


def page(
    ref: data.StoreRef,
    found: data.Facts,
    view: View,
    header: DeltaGenerator,
    place: tuple[dict | None, str],
) -> None:
    labels = found.labels[view.level]
    where = words.area_name(view.level if view.area else None, view.area, labels.get(view.area))
    with header:
        st.title(f"{KIND_LABELS[view.kind].capitalize()}: {plain(where, 120)}")
        stale = words.stale_note(found.bounds.latest, today())
        # On a projector the staleness is a short phrase in the freshness line: the map
        # needs the room.
        age = (today() - found.bounds.latest).days
        short = f"{age} days old: later shootings are not counted." if stale else ""
        st.markdown(freshness(found, short if view.present else ""), unsafe_allow_html=True)
        for note in notes(stale if not view.present else ""):
            st.warning(note, icon=NO_ICON)
    if not view.present:
        search.answer_card(*place)
        since_sync.show(ref, view.level, (view.area,) if view.area else ())
    refused = range_problem(view)
    if refused:
        st.warning(refused, icon=NO_ICON)
        return
    current, previous = data.spans(view)
    period = report.PERIOD_WORDS[view.period]
    shown_ = shown.figures(ref, view, where)
    if shown_.table.gaps:
        st.warning(shown_.table.gaps, icon=NO_ICON)
    st.markdown(f'<p class="headline">{in_html(shown_.headline, 300)}</p>', unsafe_allow_html=True)
    what_is_counted = (
        f"{PERIOD_LABELS[view.period].split(',')[0]}: {report.span_text(current)}, "
        f"against {period.against}: {report.span_text(previous)}. Counting "
        f"**{view.measure}**, placed by {words.BASIS_WORDS[view.basis]}."
    )
    if not view.present:  # on a projector: under the map, which comes first
        st.markdown(what_is_counted)
    spans_ = (current, previous)
    ring = search.ring_of(place[0]) if place[0] and not view.present else None
    if view.present:  # the map across the screen, the table under it
        show_map(ref, view, ring)
        st.markdown(what_is_counted)
        show_compstat(shown_, view)
    else:
        left, right = st.columns([3, 2], gap="medium")
        with left:
            show_map(ref, view, ring)
        with right:
            show_compstat(shown_, view)
        downloads(ref, view, where, spans_, shown_.table.gone)
    show_details(ref, view, spans_)
    context.show_context(ref, found, view)  # five years, every area ranked, rates
    show_definitions(found, view)
    if view.present:
        presentation_toggle()  # the way back, below the fold


def freshness(found: data.Facts, stale: str = "") -> str:
    """One short line (with the `stale` note in bold, if given); the source and the
    record count are in the definitions."""
    synced = (
        f"synced {found.synced_at:%Y-%m-%d %H:%M} UTC"
        if found.synced_at is not None
        else "never synced"
    )
    return (
        f'<p class="freshness">Data through <b>{found.bounds.latest:%Y-%m-%d}</b>, '
        f"{synced}. No names; block-level locations."
        + (f" <b>{in_html(stale, 300)}</b>" if stale else "")
        + "</p>"
    )


def notes(stale: str) -> list[str]:
    """Warnings above the figures: link settings that were ignored, then `stale` data."""
    out = []
    ignored = st.session_state.get("url_notes") or []
    if ignored:
        out.append(bad_settings_note(ignored))
    if stale:
        out.append(stale)
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


def show_map(ref: data.StoreRef, view: View, ring: tuple[float, float, float] | None) -> None:
    """The map; `ring`: (lat, lon, metres) of a searched point, drawn and zoomed to."""
    if not view.present:  # a projected map needs no heading: the legend names it
        st.header(f"Map: {LEVELS[view.level].lower()}s")
    st.pydeck_chart(
        mapview.SerializedDeck(shown.map_spec(ref, view, ring)),
        on_select="rerun",
        selection_mode="single-object",
        key="map",
        height=MAP_HEIGHT[view.present],
    )
    st.markdown(shown.legend(ref, view), unsafe_allow_html=True)
    if view.present:
        return
    caption = "Click an area to select it. Hover for its numbers."
    if ring:
        caption += " The ring shows the search's radius."
    if view.level == "beat" and view.area:
        caption += " The selected beat's district is outlined in purple, its beats labelled."
    st.caption(caption)


def show_compstat(figures: shown.Figures, view: View) -> None:
    """The CompStat table (headers name both spans) and the basis line."""
    period = report.PERIOD_WORDS[view.period]
    st.header(f"{period.now.capitalize()} against {period.against}")
    # The index (what is counted) is shown. Said outright: left to Streamlit, an Arrow
    # table is converted to pandas on every rerun only to find out (~3 ms a table).
    st.table(figures.table.compstat, hide_index=False)
    if figures.table.basis_line:
        st.markdown(plain(figures.table.basis_line, 900))


def downloads(
    ref: data.StoreRef,
    view: View,
    where: str,
    spans: tuple[trends.Span, trends.Span],
    gone: tuple[bool, bool],
) -> None:
    """The brief and the table's CSV, under the first screen."""
    brief_button(ref, view)
    export = functools.partial(  # the CSV is built on a click, not on every rerun
        report.export_table,
        area=view.area,
        area_name=where,
        level=view.level,
        period=view.period,
        current=spans[0],
        previous=spans[1],
        measure=view.measure,
        basis=view.basis,
        missing=gone,
    )
    st.download_button(
        "Download this table (CSV)",
        lambda: safe_csv(export(data.compstat_panel(ref, view)[0])),
        file_name=f"compstat_{_file_part(view)}_{spans[0].start}_{spans[0].end}.csv",
        mime="text/csv",
        key="table_csv",
    )


def _file_part(view: View) -> str:
    """'district_17', 'community_area_albany_park', 'city': safe in a file name."""
    if not view.area:
        return "city"
    key = "".join(c if c.isalnum() else "_" for c in view.area.lower())
    return f"{view.level}_{key}"


def brief_button(ref: data.StoreRef, view: View) -> None:
    """A printable one-page brief for the selected area (drawn only when asked for)."""
    if not view.area or view.as_of is None:
        st.caption("Pick an area for a printable one-page brief.")
        return
    wanted = (view.level, view.area, view.as_of, view.measure, view.basis)
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


#: The detail tabs, in order. Only the open one is built: the others' queries (the
#: victims' hours, ages and incidents: ~12 ms of a new view) wait until it is opened.
DETAIL_TABS = ("Weekly trend", "Hour and weekday", "Age and sex", "Incidents")


def show_details(ref: data.StoreRef, view: View, spans: tuple[trends.Span, trends.Span]) -> None:
    weekly, hours, people, recent = st.tabs(list(DETAIL_TABS), key="details", on_change="rerun")
    if weekly.open:
        with weekly:
            show_weekly(shown.trend_shown(ref, view))
        return
    if hours.open:
        with hours:
            st.caption("Victims in this period by weekday and local hour.")
            st.dataframe(shown.profile_shown(ref, view).hours, width="stretch")
    elif people.open:
        with people:
            st.caption(
                "Victims in this period by age band and sex (as published; many are 'unknown')."
            )
            st.dataframe(shown.profile_shown(ref, view).age_sex, width="stretch")
    elif recent.open:
        with recent:
            show_incidents(ref, shown.incidents_shown(ref, view), view, spans)


def show_weekly(trend: shown.TrendShown) -> None:
    st.vega_lite_chart(trend.weekly_long, trend.weekly_spec, height=300, width="stretch")
    if trend.weeks_left_out:
        st.caption("Weeks in months with no records at all are left out of the lines.")
    with st.expander("The numbers behind the chart"):
        st.dataframe(trend.weekly_named, width="stretch")


def show_incidents(
    ref: data.StoreRef,
    recent: pa.Table,
    view: View,
    spans: tuple[trends.Span, trends.Span],
) -> None:
    st.caption(
        f"The latest {recent.num_rows} incidents of this period, newest first, "
        "at block level. The download has every incident of the period."
    )
    st.dataframe(recent, hide_index=True, width="stretch")
    if view.present:
        return
    st.download_button(
        "Download every incident of the period (CSV)",
        lambda: safe_csv(data.all_incidents(ref, view)),
        file_name=f"incidents_{_file_part(view)}_{view.kind}_{spans[0].start}_{spans[0].end}.csv",
        mime="text/csv",
        key="incidents_csv",
    )


def show_definitions(found: data.Facts, view: View) -> None:
    with st.expander("Definitions and what is left out"):
        source = (
            f"Source: {found.victims:,} victim records since {found.bounds.first:%Y}, "
            f"synced from {found.source}."
        )
        if not view.present:  # no local file names on a projector
            st.markdown(plain(source, 300))
        st.markdown(
            "\n".join(
                f"- {line}"
                for line in [
                    *report.DEFINITIONS,
                    "Periods: year to date and custom ranges are compared with the same dates "
                    "a year earlier; the last 28 days with the same 28 days a year earlier "
                    "(or, if chosen, the 28 days before); the last 12 months with the 12 "
                    "months before.",
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
