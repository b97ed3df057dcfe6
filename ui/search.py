"""The resident's search box and answer card: "is it getting better where I live?"

One text box answered by `pipeline.where` (the same numbers as `python -m pipeline
where`), a "use my location" button (the browser's geolocation through the
`streamlit-js-eval` component), and a card on the first screen with one plain
sentence. The words typed come from a person or a link: they are only ever shown
escaped (`ui.text.plain`). Addresses go to the address service and are kept in
memory only (the geocoder's disk cache is keyed by a hash).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import streamlit as st

from pipeline import stats
from pipeline.errors import PipelineError, SourceError
from pipeline.settings import Settings
from ui import data
from ui.state import DEFAULT_RADIUS_M
from ui.text import NO_ICON, plain

#: Session keys: the text box, the point an address was found at, the radius, and a
#: failure kept so a rerun does not ask an unreachable service again.
QUERY_KEY, AT_KEY, RADIUS_KEY = "q", "at", "radius"
FAILED_KEY, LOCATING_KEY, LOCATED_KEY = "search_failed", "locating", "located"
#: Set by a new search or location: the page then selects the place's area (once).
SELECT_KEY = "select_place"
RADIUS_CHOICES = (200, 400, 800)  # one, two and four blocks each way
#: Chicago's grid: eight blocks to the mile, about 200 m a block.
BLOCK_M = 201
#: The page asks the address service fewer times than the CLI: a person is waiting.
PAGE_ATTEMPTS, PAGE_TIMEOUT_S = 2, 4.0
REFUSED = (
    "Your browser did not share your location, so it cannot be used. Type an address, "
    "a ZIP code or a neighbourhood name instead."
)
LEVEL_WORDS = {
    "community_area": "community area",
    "neighborhood": "neighbourhood",
    "zip_code": "ZIP code",
    "district": "police district",
}


# -- words (pure) ---------------------------------------------------------------------------


def radius_words(metres: float) -> str:
    """'two blocks' for 400 m: Chicago's blocks, not metres."""
    blocks = round(metres / BLOCK_M)
    names = {1: "one block", 2: "two blocks", 3: "three blocks", 4: "four blocks"}
    return names.get(blocks, f"{metres:.0f} m")


def verdict_words(verdict: str) -> str:
    """A verdict as the end of a sentence: 'a likely increase', 'too few to judge'."""
    if verdict in (stats.LIKELY_INCREASE, stats.LIKELY_DECREASE):
        return f"a {verdict}"
    return verdict


def short_date(day: date) -> str:
    """'26 Nov', without a leading zero."""
    return f"{day.day} {day:%b}"


def near_sentence(found: dict[str, Any], place: str) -> str:
    """Shootings within the radius of a point, this year against last year by the same
    date: 'Shootings within two blocks of 3401 W Foster Ave: 3 this year, 5 last year
    by 26 Nov; too few to judge.'"""
    near = found["nearby"]
    shot = near["victims"]
    by = short_date(date.fromisoformat(str(found["as_of"])))
    return (
        f"Shootings within {radius_words(near['radius_m'])} of {place}: {shot['current']} "
        f"this year, {shot['previous']} last year by {by}; {verdict_words(shot['verdict'])}."
    )


def area_sentence(row: dict[str, Any], name: str, by: date) -> str:
    """One area's shootings this year against last: 'Albany Park: 37 this year against 14
    last year by 26 Nov; a likely increase.'"""
    return (
        f"{name}: {row['current']} this year against {row['previous']} last year by "
        f"{short_date(by)}; {verdict_words(row['verdict'])}."
    )


def answer_sentences(found: dict[str, Any], typed: str) -> list[str]:
    """The card's sentences: near a point, or for each area a name matched. The first
    names the place in the words typed."""
    by = date.fromisoformat(str(found["as_of"]))
    if "nearby" in found:
        return [near_sentence(found, typed)]
    rows = found["compare"]
    if len(rows) == 1:
        return [area_sentence(rows[0], typed, by)]
    labels = {r["key"]: r["label"] for r in found["areas"]["community_areas"]}
    return [
        area_sentence(r, f"{typed}, {labels.get(r['area'], r['area'].title())} part", by)
        for r in rows
    ]


def reference_line(found: dict[str, Any]) -> str:
    """Where the place lies, for reference: police district and beat, community area."""
    areas = found["areas"]
    if "nearby" in found:
        parts = [
            f"Police district {areas['district']}" if areas.get("district") else "",
            f"beat {areas['beat']}" if areas.get("beat") else "",
            f"{areas['community_area'].title()} community area"
            if areas.get("community_area")
            else "",
        ]
        return ", ".join(p for p in parts if p) + "."
    districts = [f"{d['key']} ({d['share']:.0%})" for d in areas["districts"]]
    communities = [f"{c['label']} ({c['share']:.0%})" for c in areas["community_areas"]]
    return f"Police district {', '.join(districts)}; community area {', '.join(communities)}."


def matched_words(found: dict[str, Any], typed: str) -> str:
    """What a name typed was taken to mean: 'Pilsen: counted as the Lower West Side
    community area.' ('' for a point)."""
    if "nearby" in found:
        return ""
    labels = {c["key"]: c["label"] for c in found["areas"]["community_areas"]}
    named = [
        f"the {labels.get(m['key'], str(m['key']).title())} "
        f"{LEVEL_WORDS.get(m['level'], m['level'].replace('_', ' '))}"
        if m["level"] == "community_area"
        else f"the {LEVEL_WORDS.get(m['level'], m['level'])} {str(m['key']).title()}"
        for m in found["areas"]["matched"]
    ]
    return f"{typed.strip()}: counted as {' and '.join(named)}."


def selected_area(found: dict[str, Any]) -> tuple[str, str] | None:
    """The (level, key) the page selects for a found place: the area a name matched, or
    the community area holding a point."""
    if "nearby" in found:
        key = found["areas"].get("community_area")
        return ("community_area", str(key)) if key else None
    matched = found["areas"]["matched"]
    return (matched[0]["level"], str(matched[0]["key"])) if matched else None


def ring_of(found: dict[str, Any]) -> tuple[float, float, float] | None:
    """(lat, lon, radius m) of a point answer, for the map's ring."""
    if "nearby" not in found:
        return None
    match = found["match"]
    return float(match["lat"]), float(match["lon"]), float(found["nearby"]["radius_m"])


# -- lookup (cached) ----------------------------------------------------------------------


@st.cache_data(show_spinner="Looking up the place...", max_entries=64)
def lookup(
    ref: data.StoreRef, query: str, as_of: date | None, radius_m: int, service: tuple[str, str]
) -> dict[str, Any]:
    """`pipeline.where.answer` for the page (raises PipelineError as the CLI would).
    `service`: the address service's URL and user agent. Failures are not cached."""
    from pipeline import where  # geometry and fuzzy matching: loaded on the first search
    from pipeline.geocode import Geocoder, GeocoderSettings

    geocoder = Geocoder(
        GeocoderSettings(
            url=service[0],
            user_agent=service[1],
            timeout_s=PAGE_TIMEOUT_S,
            attempts=PAGE_ATTEMPTS,
            cache=Path(ref.path).parent / "geocode_cache.json",
        )
    )
    with data.reader(ref) as q:
        return where.answer(q, query, geocoder, as_of, radius_m)


def find(
    ref: data.StoreRef, settings: Settings, as_of: date | None
) -> tuple[dict[str, Any] | None, str]:
    """The answer to the search in session state, or None and why not ('' when nothing
    was searched). A point already found (`at`) is not sent to the address service again."""
    typed = str(st.session_state.get(QUERY_KEY) or "").strip()
    if not typed:
        return None, ""
    query = st.session_state.get(AT_KEY) or typed
    radius = int(st.session_state.get(RADIUS_KEY) or DEFAULT_RADIUS_M)
    failed = st.session_state.get(FAILED_KEY)
    if failed and failed[0] == (query, radius, as_of):
        return None, failed[1]
    try:
        found = lookup(
            ref, query, as_of, radius, (settings.geocoder_url, settings.geocoder_user_agent)
        )
    except SourceError as exc:  # the address service: its one plain message
        return _failed((query, radius, as_of), str(exc))
    except PipelineError as exc:  # no such place, outside Chicago, empty
        return _failed((query, radius, as_of), str(exc))
    match = found["match"]
    if match["kind"] in ("address", "intersection") and not st.session_state.get(AT_KEY):
        st.session_state[AT_KEY] = f"{match['lat']:.6f},{match['lon']:.6f}"
    return found, ""


def _failed(key: tuple[Any, ...], message: str) -> tuple[None, str]:
    st.session_state[FAILED_KEY] = (key, message)
    return None, message


# -- the box and the card (Streamlit) ------------------------------------------------------


def searched() -> None:
    """The text box changed: a new search (a point found for the old words is dropped)."""
    st.session_state[AT_KEY] = ""
    st.session_state[LOCATED_KEY] = False
    st.session_state[FAILED_KEY] = None
    st.session_state[SELECT_KEY] = True


def locate() -> None:
    st.session_state[LOCATING_KEY] = True


def search_box() -> None:
    """The text box and "use my location" side by side (stacked on a phone). Drawn
    before the sidebar, so a place found here can still select the sidebar's area."""
    box, button = st.columns([5, 2], vertical_alignment="bottom")
    with button:
        st.button("Use my location", on_click=locate, key="use_location", width="stretch")
        if st.session_state.get(LOCATING_KEY):
            _read_location()
    with box:
        st.text_input(
            "Your address, ZIP code or neighbourhood",
            key=QUERY_KEY,
            on_change=searched,
            max_chars=64,
            placeholder="Your address, ZIP code or neighbourhood, then Enter "
            "(e.g. 3401 W Foster Ave, 60625, Pilsen)",
            label_visibility="collapsed",
        )


def _read_location() -> None:
    """Ask the browser where it is (it asks the person first); say so when refused."""
    from streamlit_js_eval import get_geolocation

    reply = get_geolocation(component_key="geolocation")
    if reply is None:
        st.caption("Asking your browser for your location...")
        return
    st.session_state[LOCATING_KEY] = False
    coords = reply.get("coords") if isinstance(reply, dict) else None
    try:
        point = f"{float(coords['latitude']):.6f},{float(coords['longitude']):.6f}"  # type: ignore[index]
    except (TypeError, KeyError, ValueError):  # refused, unavailable or timed out
        st.session_state["location_refused"] = True
        return
    st.session_state[QUERY_KEY] = point
    st.session_state[AT_KEY] = ""
    st.session_state[LOCATED_KEY] = True
    st.session_state[FAILED_KEY] = None
    st.session_state[SELECT_KEY] = True


def answer_card(found: dict[str, Any] | None, problem: str) -> None:
    """The answer on the first screen, or why there is none, in plain text."""
    if st.session_state.pop("location_refused", False):
        st.warning(REFUSED, icon=NO_ICON)
    if problem:
        st.warning(plain(problem, 300), icon=NO_ICON)
        return
    if found is None:
        return
    typed = str(st.session_state.get(QUERY_KEY) or "")
    place = "your location" if st.session_state.get(LOCATED_KEY) else typed
    with st.container(border=True, key="answer_card"):
        sentences = answer_sentences(found, place[:1].upper() + place[1:])
        st.markdown("  \n".join(f"**{plain(s, 300)}**" for s in sentences))
        st.caption(
            plain(
                " ".join(p for p in (matched_words(found, typed), reference_line(found)) if p), 400
            )
        )
        if "nearby" in found:  # around a point: how far to look
            radius = int(found["nearby"]["radius_m"])
            choices = sorted({*RADIUS_CHOICES, radius})
            st.session_state[RADIUS_KEY] = radius  # the one the answer used (a link may ask)
            st.selectbox(
                "How far around",
                choices,
                key=RADIUS_KEY,
                format_func=lambda m: f"{radius_words(m)} each way ({m} m)",
            )
