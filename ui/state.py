"""What the page shows, as a small value; and its round trip through the URL.

`from_query` never raises: every unknown or hostile value falls back to its
default and is named in the returned notes, so a mangled link still opens. A
reversed custom range is kept as asked: the page refuses it with a note rather
than showing other dates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date

from pipeline.aggregate import KINDS, MEASURES
from pipeline.config import LEVELS as REGISTRY
from pipeline.queries import BASES
from pipeline.trends import PERIOD_CHOICES

LEVELS = {area: level.people_title or level.title for area, level in REGISTRY.items()}
#: The basis each level opens on. Districts and beats: the codes CPD recorded, which its
#: CompStat sheets and the press count. The others: location on the current map (ZIP
#: codes and neighbourhoods have no recorded code; a community area's count then agrees
#: with its map, its population and the outreach page).
DEFAULT_BASIS = {
    area: "recorded" if area in ("district", "beat") else "geometry" for area in REGISTRY
}
METRICS = {"change": "change (against the comparison)", "count": "count (per year at this pace)"}
WHOLE_CITY = ""
MAX_PARAM_LENGTH = 64  # longer values are never valid: ignore without parsing
#: The search's radius around a point: 400 m (about two blocks each way) as `where`;
#: a link may ask for any whole number of metres in RADIUS_RANGE.
DEFAULT_RADIUS_M = 400
RADIUS_RANGE = (100, 1600)
SEARCH_KEYS = ("q", "at", "radius")
_LATLON = re.compile(r"^(-?\d{1,2}\.\d{1,6}),(-?\d{1,3}\.\d{1,6})$")


@dataclass(frozen=True)
class Bounds:
    """What the store allows: the date range and the area keys of each level."""

    first: date
    latest: date
    areas: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Search:
    """A resident's place search, kept in the URL beside the view: the words typed
    (`q`), the point an address was found at (`at`, 'lat,lon', so a shared link reopens
    without asking the address service again) and the radius around a point, metres."""

    q: str = ""
    at: str = ""
    radius: int = DEFAULT_RADIUS_M


@dataclass(frozen=True)
class View:
    level: str = "district"
    area: str = WHOLE_CITY
    as_of: date | None = None  # None until bound to the store: the latest date
    period: str = "ytd"
    start: date | None = None  # custom period only
    end: date | None = None
    measure: str = "victims"
    kind: str = "shootings"
    metric: str = "change"
    basis: str = DEFAULT_BASIS["district"]
    present: bool = False

    @property
    def counted_in(self) -> tuple[str | None, str | None]:
        """(level, area) the view counts in; (None, None) for the whole city."""
        return (self.level, self.area) if self.area else (None, None)


CHOICES: dict[str, tuple[str, ...]] = {
    "level": tuple(LEVELS),
    "period": tuple(PERIOD_CHOICES),
    "measure": MEASURES,
    "kind": tuple(KINDS),
    "metric": tuple(METRICS),
    "basis": BASES,
}


def default_view(bounds: Bounds) -> View:
    return View(as_of=bounds.latest)


def from_query(params: Mapping[str, str], bounds: Bounds) -> tuple[View, list[str]]:
    """The view a URL asks for, and the names of parameters that were ignored."""
    view = default_view(bounds)
    known = {f.name for f in fields(View)} | set(SEARCH_KEYS)  # the search: `search_from_query`
    ignored = sorted(k for k in params if k not in known)
    values: dict[str, object] = {}
    for name, raw in params.items():
        if name in ignored or name in SEARCH_KEYS:
            continue
        parsed = _parse(name, str(raw)[: MAX_PARAM_LENGTH + 1], bounds)
        if parsed is None:
            ignored.append(name)
        else:
            values[name] = parsed
    if "basis" not in values:  # a link without one opens on its level's default
        values["basis"] = DEFAULT_BASIS.get(str(values.get("level", view.level)), view.basis)
    view = replace(view, **values)  # type: ignore[arg-type]
    view, dropped = _consistent(view, bounds)
    return view, sorted(set(ignored) | set(dropped))


def to_query(view: View) -> dict[str, str]:
    """Every setting as text, so a copied link reopens exactly this view."""
    out: dict[str, str] = {}
    for name, value in asdict(view).items():
        if value is None or (name == "present" and not value):
            continue
        if name in ("start", "end") and view.period != "custom":
            continue
        out[name] = (
            "1" if value is True else value.isoformat() if isinstance(value, date) else str(value)
        )
    return out


def search_from_query(params: Mapping[str, str]) -> tuple[Search, list[str]]:
    """The search a URL carries, and the names of its parameters that were not valid.
    The words typed are kept as text (shown only escaped); a point outside the form
    'lat,lon' or a radius outside RADIUS_RANGE falls back."""
    q = str(params.get("q", ""))
    at = str(params.get("at", "")).replace(" ", "")
    radius = str(params.get("radius", DEFAULT_RADIUS_M))
    ignored = []
    if len(q) > MAX_PARAM_LENGTH:
        q, ignored = "", ["q"]
    if at and not (len(at) <= MAX_PARAM_LENGTH and _LATLON.match(at) and q):
        at, ignored = "", [*ignored, "at"]  # a point means nothing without the words typed
    if not (radius.isdigit() and RADIUS_RANGE[0] <= int(radius) <= RADIUS_RANGE[1]):
        radius, ignored = str(DEFAULT_RADIUS_M), [*ignored, "radius"]
    return Search(q=q.strip(), at=at, radius=int(radius)), ignored


def search_to_query(search: Search) -> dict[str, str]:
    """The search as URL parameters (none when nothing was searched)."""
    if not search.q:
        return {}
    out = {"q": search.q}
    if search.at:
        out["at"] = search.at
    if search.radius != DEFAULT_RADIUS_M:
        out["radius"] = str(search.radius)
    return out


def from_widgets(values: Mapping[str, object]) -> View:
    """The view held in widget state (already validated by the widgets themselves)."""

    def text(name: str) -> str:
        return str(values.get(name) or getattr(View, name))

    def day(name: str) -> date | None:
        value = values.get(name)
        return value if isinstance(value, date) else None

    view = View(
        level=text("level"),
        area=str(values.get("area") or WHOLE_CITY),
        as_of=day("as_of"),
        period=text("period"),
        start=day("start"),
        end=day("end"),
        measure=text("measure"),
        kind=text("kind"),
        metric=text("metric"),
        basis=text("basis"),
        present=bool(values.get("present")),
    )
    if view.period != "custom":
        return replace(view, start=None, end=None)
    return view  # a reversed or half-empty range is refused by the page, not repaired


def bases_for(level: str) -> tuple[str, ...]:
    """The bases a level can be counted on: geometry only where records carry no code."""
    return BASES if REGISTRY[level].recorded_column else ("geometry",)


def range_problem(view: View) -> str:
    """Why a custom range cannot be shown ('' when it can), in plain words."""
    if view.period != "custom":
        return ""
    if view.start is None or view.end is None:
        return "The custom range needs both a first and a last day: pick both to see figures."
    if view.start > view.end:
        return (
            f"The custom range ends ({view.end:%d %b %Y}) before it starts "
            f"({view.start:%d %b %Y}): no figures are shown. Pick a last day on or after "
            "the first."
        )
    return ""


def district_of_beat(beat: str) -> str:
    """A beat's district from its number: the first two digits ('1713' -> '17')."""
    return str(int(beat[:2])) if beat[:2].isdigit() else ""


def carried_area(old_level: str, new_level: str, area: str, bounds: Bounds) -> str:
    """The area to select after switching level. District -> beats: the district's first
    beat (the map then centres on the district, its beats labelled and its outline
    drawn); beat -> districts: the beat's district; otherwise the whole city."""
    if not area:
        return WHOLE_CITY
    if (old_level, new_level) == ("district", "beat"):
        beats = sorted(
            (b for b in bounds.areas.get("beat", ()) if district_of_beat(b) == area), key=int
        )
        return beats[0] if beats else WHOLE_CITY
    if (old_level, new_level) == ("beat", "district"):
        district = district_of_beat(area)
        return district if district in bounds.areas.get("district", ()) else WHOLE_CITY
    return WHOLE_CITY


def carried_basis(old_level: str, new_level: str, basis: str) -> str:
    """The basis after switching level: a basis chosen on purpose (not the old level's
    default) is kept where the new level allows it; otherwise the new level's default."""
    if basis != DEFAULT_BASIS[old_level] and basis in bases_for(new_level):
        return basis
    return DEFAULT_BASIS[new_level]


def _parse(name: str, raw: str, bounds: Bounds) -> object | None:
    if len(raw) > MAX_PARAM_LENGTH:
        return None
    if name in CHOICES:
        return raw if raw in CHOICES[name] else None
    if name in ("as_of", "start", "end"):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return None
        return day if bounds.first <= day <= bounds.latest else None
    if name == "present":
        return {"1": True, "0": False, "true": True, "false": False}.get(raw.lower())
    if name == "area":
        return raw.strip().upper()
    return None


def _consistent(view: View, bounds: Bounds) -> tuple[View, list[str]]:
    """Drop settings that contradict each other: an area of another level, a bad range."""
    dropped = []
    if view.area and view.area not in bounds.areas.get(view.level, ()):
        view, dropped = replace(view, area=WHOLE_CITY), ["area"]
    if view.basis not in bases_for(view.level):
        view, dropped = replace(view, basis=DEFAULT_BASIS[view.level]), [*dropped, "basis"]
    if view.period == "custom":
        as_of = view.as_of or bounds.latest
        start = view.start or max(bounds.first, as_of.replace(month=1, day=1))
        view = replace(view, start=start, end=view.end or as_of)  # reversed: kept, refused
    else:
        view = replace(view, start=None, end=None)
    return view, dropped
