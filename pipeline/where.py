"""One place search for the CLI and the page: "is it getting better where I live?"

A query is, tried in this order: `lat,lon`; a 5-digit ZIP code; the name of a
neighbourhood (its primary or secondary name), of a community area, or of a
place people call by a name the city's layers lack (`ALIASES`), matched
forgivingly (case, accents, "&"/"and", small typos); else a street address or
an intersection, geocoded (`pipeline.geocode`). The answer: the areas holding
the place, and shootings near it or in it, this year to date against the same
span last year, with the same exact test and verdict as `compare`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import shapely
from rapidfuzz import fuzz, process

from geo.assign import assign_points
from geo.nearrepeat import project
from pipeline.compstat import compstat
from pipeline.config import CITY, LEVELS
from pipeline.errors import PlaceNotFoundError, UsageError
from pipeline.geocode import Geocoder
from pipeline.queries import Reader
from pipeline.trends import compare_counts, year_to_date

KIND = "shootings"

#: Names residents use that the city's layers lack, with where each comes from.
ALIASES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    # Pilsen is the east of the Lower West Side community area (City of Chicago,
    # "Pilsen Historic District"; CMAP community snapshots list it there).
    "pilsen": ("Pilsen", (("community_area", "LOWER WEST SIDE"),)),
    # Bronzeville: the neighbourhood layer's own secondary name for Grand Boulevard
    # and Douglas (sec_neigh "BRONZEVILLE" in bbvz-uum9).
    "bronzeville": (
        "Bronzeville",
        (("community_area", "GRAND BOULEVARD"), ("community_area", "DOUGLAS")),
    ),
    # "Little Village" is South Lawndale's common name (City of Chicago community area
    # profiles).
    "little village": ("Little Village", (("community_area", "SOUTH LAWNDALE"),)),
}
NAME_LEVELS = ("neighborhood", "community_area")
MATCH_CUTOFF = 85  # rapidfuzz ratio, 0-100: typos yes, different names no

LATLON = re.compile(r"^\s*(-?\d{1,2}\.\d+)\s*,\s*(-?\d{1,3}\.\d+)\s*$")
ZIP = re.compile(r"^\s*(\d{5})\s*$")


@dataclass
class Match:
    """What a query was taken to mean."""

    kind: str  # address | intersection | zip_code | neighborhood | community_area | point
    label: str
    lat: float | None = None
    lon: float | None = None
    areas: list[tuple[str, str]] = field(default_factory=list)  # (level, key) matched by name


def normalise(text: str) -> str:
    """Case, accents, '&' and punctuation out: 'Humboldt Park & W. Town' ->
    'humboldt park and w town'."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    plain = plain.casefold().replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", plain).split())


def find(q: Reader, query: str, geocoder: Geocoder | None) -> Match:
    """The place `query` names; UsageError (one clear line) when nothing matches."""
    text = query.strip()
    if not text:
        raise UsageError("the place was empty: type an address, a ZIP code or a neighbourhood")
    if found := LATLON.match(text):
        return _point(float(found[1]), float(found[2]), text)
    if found := ZIP.match(text):
        if found[1] not in q.area_labels("zip_code"):
            raise PlaceNotFoundError(f"ZIP code {found[1]} is not a Chicago ZIP code")
        return Match("zip_code", found[1], areas=[("zip_code", found[1])])
    by_name = _by_name(q, text)
    if by_name is not None:
        return by_name
    if geocoder is None:
        raise PlaceNotFoundError(f"no neighbourhood or community area is called {_short(text)!r}")
    point = geocoder.locate(normalise(text))
    if point is None:
        raise PlaceNotFoundError(
            f"no Chicago address or place found for {_short(text)!r}; "
            "try a ZIP code or a neighbourhood name"
        )
    kind = "intersection" if _is_intersection(text) else "address"
    match = _point(point.lat, point.lon, text)
    match.kind = kind
    return match


def _point(lat: float, lon: float, label: str) -> Match:
    min_lon, min_lat, max_lon, max_lat = CITY.bbox
    if not (min_lat <= lat <= max_lat and min_lon <= lon <= max_lon):
        raise PlaceNotFoundError(f"{lat:.5f},{lon:.5f} is outside Chicago")
    return Match("point", label, lat, lon)


def _is_intersection(text: str) -> bool:
    return not re.match(r"^\s*\d", text) and bool(re.search(r"\band\b|&|/|@", text, re.I))


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"


def _by_name(q: Reader, text: str) -> Match | None:
    wanted = normalise(text)
    if wanted in ALIASES:
        label, areas = ALIASES[wanted]
        return Match(areas[0][0], label, areas=list(areas))
    choices: dict[str, tuple[str, str, str]] = {}  # normalised name -> (level, key, label)
    for level in NAME_LEVELS:
        for key, label in q.area_labels(level).items():
            choices.setdefault(normalise(label), (level, key, label.title()))
    for key, secondary in q.secondary_names("neighborhood").items():
        choices.setdefault(normalise(secondary), ("neighborhood", key, secondary.title()))
    best = process.extractOne(wanted, list(choices), scorer=fuzz.ratio, score_cutoff=MATCH_CUTOFF)
    if best is None:
        return None
    level, key, label = choices[best[0]]
    same_name = [v for n, v in choices.items() if n == best[0]]
    return Match(level, label, areas=[(lv, k) for lv, k, _ in same_name] or [(level, key)])


def areas_at(q: Reader, lat: float, lon: float) -> dict[str, str | None]:
    """The area of every level holding the point (None where it is in none)."""
    found: dict[str, str | None] = {}
    for area, level in LEVELS.items():
        keys = assign_points(np.array([lon]), np.array([lat]), q.boundary_layer(level.layer))
        found[area] = None if keys[0] is None else str(keys[0])
    return found


def overlaps(q: Reader, areas: list[tuple[str, str]], with_level: str) -> list[dict[str, Any]]:
    """Areas of `with_level` overlapping the named areas, with the share of the named
    areas' surface in each (areas computed in EPSG:26916, metres)."""
    shapes = []
    for level, key in areas:
        layer = q.boundary_layer(LEVELS[level].layer)
        shapes.append(layer.geometries[list(layer.keys).index(key)])
    whole = _metres(shapely.union_all(shapes))
    other = q.boundary_layer(LEVELS[with_level].layer)
    out = []
    for key, label, geometry in zip(other.keys, other.labels, other.geometries, strict=True):
        if not shapely.intersects(geometry, shapely.union_all(shapes)):
            continue
        share = _metres(geometry).intersection(whole).area / whole.area
        if share >= 0.01:
            out.append({"key": str(key), "label": str(label).title(), "share": round(share, 3)})
    return sorted(out, key=lambda r: -r["share"])


def _metres(geometry: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geometry, lambda xy: project(xy[:, 0], xy[:, 1]))


def nearby(q: Reader, lat: float, lon: float, radius_m: float, as_of: date) -> dict[str, Any]:
    """Shootings within `radius_m` of the point, year to date against the same span last
    year: victims, and incidents (each once, on its first victim's date within the
    circle), with the exact test and verdict of `compare`."""
    current, previous = year_to_date(as_of)
    near = q.victims_near(lat, lon, radius_m, previous.start, current.end, KIND)
    xy = project(near["longitude"].to_numpy(float), near["latitude"].to_numpy(float))
    centre = project(np.array([lon]), np.array([lat]))[0]
    inside = near[np.hypot(*(xy - centre).T) <= radius_m].sort_values(["occurred_at", "unique_id"])
    first = inside.drop_duplicates("case_number")
    result: dict[str, Any] = {"radius_m": radius_m, "kind": KIND}
    for measure, rows in (("victims", inside), ("incidents", first)):
        day = rows["occurred_at"].dt.date
        now = int(((day >= current.start) & (day <= current.end)).sum())
        before = int(((day >= previous.start) & (day <= previous.end)).sum())
        result[measure] = compare_counts(now, before, current.days, previous.days)
    result.update(
        current_start=current.start, previous_start=previous.start, previous_end=previous.end
    )
    return result


def answer(
    q: Reader, query: str, geocoder: Geocoder | None, as_of: date | None, radius_m: float
) -> dict[str, Any]:
    """The whole answer the CLI prints and the page shows (JSON-ready)."""
    match = find(q, query, geocoder)
    as_of = q.resolve_as_of(as_of)
    current, previous = year_to_date(as_of)
    out: dict[str, Any] = {"query": query, "as_of": as_of.isoformat()}
    out["match"] = {"kind": match.kind, "label": match.label}
    if match.lat is not None and match.lon is not None:
        out["match"].update(lat=round(match.lat, 6), lon=round(match.lon, 6))
        held = areas_at(q, match.lat, match.lon)
        out["areas"] = held
        out["nearby"] = nearby(q, match.lat, match.lon, radius_m, as_of)
        context = [(lv, held[lv]) for lv in ("community_area", "district") if held.get(lv)]
    else:
        out["areas"] = {
            "matched": [{"level": lv, "key": k} for lv, k in match.areas],
            "community_areas": overlaps(q, match.areas, "community_area"),
            "districts": overlaps(q, match.areas, "district"),
        }
        context = [(lv, k) for lv, k in match.areas]
    out["compare"] = [
        _shootings_row(q, level, str(key), current, previous) for level, key in context
    ]
    return out


def _shootings_row(q: Reader, level: str, key: str, current: Any, previous: Any) -> dict[str, Any]:
    result = compstat(q, level, key, current, previous, "victims", "geometry")
    row = {
        str(k): v.item() if isinstance(v, np.generic) else v
        for k, v in result.table.set_index("kind").loc[KIND].items()
    }
    return {"level": level, "area": key, "title": result.title, "kind": KIND, **row}


def describe(found: dict[str, Any]) -> list[str]:
    """The answer as plain lines for a terminal."""
    match = found["match"]
    lines = [f"{match['label']} ({match['kind'].replace('_', ' ')}), as of {found['as_of']}"]
    if "nearby" in found:
        near, areas = found["nearby"], found["areas"]
        held = ", ".join(f"{lv.replace('_', ' ')} {k}" for lv, k in areas.items() if k)
        lines.append(f"in {held}")
        shot = near["victims"]
        lines.append(
            f"shootings within {near['radius_m']:.0f} m: {shot['current']} this year, "
            f"{shot['previous']} last year by the same date ({shot['verdict']}); "
            f"incidents {near['incidents']['current']} vs {near['incidents']['previous']}"
        )
    else:
        for level in ("community_areas", "districts"):
            parts = [f"{r['label']} {r['share']:.0%}" for r in found["areas"][level]]
            lines.append(f"{level.replace('_', ' ')}: {', '.join(parts)}")
    for row in found["compare"]:
        lines.append(
            f"{row['title']}: shootings {row['current']} this year, {row['previous']} last "
            f"year ({row['verdict']})"
        )
    return lines
