"""What the Outreach page shows, as a small value; and its round trip through the URL.

Like `ui.state` for the dashboard: `from_query` never raises, every unknown or
hostile value falls back to its default and is named in the returned notes, so a
link sent by a supervisor reopens the same view or says what it could not keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date

from ui.state import MAX_PARAM_LENGTH, Bounds

LEVELS = {"beat": "police beats", "hex": "hexagons (~350 m)"}
SHOWS = {"hot": "hot spots", "emerging": "emerging hot spots"}
SCOPES = {
    "city": "Whole city",
    "district": "A district",
    "beats": "A set of beats",
    "community_area": "A community area",
}
#: The bounds of each number a widget allows: (lowest, highest, step).
NUMBERS = {"days": (1, 60, 1), "radius": (50, 2000, 50), "window": (1, 60, 1)}
MAX_BEATS = 40  # a team covers a handful of beats; a longer list is not a team area


@dataclass(frozen=True)
class OutreachView:
    as_of: date | None = None  # None until bound to the store: its latest day
    level: str = "beat"
    shows: str = "hot"
    days: int = 14  # shootings of the last N days
    radius: int = 400  # metres
    window: int = 14  # days a window stays open
    scope: str = "city"
    district: str = ""
    beats: tuple[str, ...] = ()
    area: str = ""  # a community area's key

    def chosen(self) -> tuple[str, ...]:
        """The team area's keys at its scope (empty: the whole city)."""
        if self.scope == "district":
            return (self.district,) if self.district else ()
        if self.scope == "beats":
            return self.beats
        if self.scope == "community_area":
            return (self.area,) if self.area else ()
        return ()


CHOICES = {"level": tuple(LEVELS), "shows": tuple(SHOWS), "scope": tuple(SCOPES)}
#: The field holding each team scope's choice.
SCOPE_FIELD = {"district": "district", "beats": "beats", "community_area": "area"}


def from_query(params: Mapping[str, str], bounds: Bounds) -> tuple[OutreachView, list[str]]:
    """The view a URL asks for, and the names of the parameters that were ignored."""
    names = {f.name for f in fields(OutreachView)}
    ignored = sorted(k for k in params if k not in names)
    values: dict[str, object] = {}
    for name in sorted(set(params) & names):
        parsed = _parse(name, str(params[name])[: MAX_PARAM_LENGTH * 4 + 1], bounds)
        if parsed is None:
            ignored.append(name)
        else:
            values[name] = parsed
    view = replace(OutreachView(as_of=bounds.latest), **values)  # type: ignore[arg-type]
    if view.scope != "city" and not view.chosen():  # e.g. scope=district and no district
        view = replace(view, scope="city")
        ignored.append("scope")
    return view, sorted(set(ignored))


def to_query(view: OutreachView) -> dict[str, str]:
    """Every setting that differs from the default, as text (defaults keep links short)."""
    out: dict[str, str] = {}
    default = OutreachView()
    for f in fields(OutreachView):
        value = getattr(view, f.name)
        if value is None or value == getattr(default, f.name):
            continue
        if f.name in SCOPE_FIELD.values() and f.name != SCOPE_FIELD.get(view.scope):
            continue  # a choice of another scope is not part of this view
        if isinstance(value, tuple):
            out[f.name] = ",".join(value)
        elif isinstance(value, date):
            out[f.name] = value.isoformat()
        else:
            out[f.name] = str(value)
    return out


def _parse(name: str, raw: str, bounds: Bounds) -> object | None:
    if name == "beats":
        return _beats(raw, bounds)
    if len(raw) > MAX_PARAM_LENGTH:
        return None
    if name in CHOICES:
        return raw if raw in CHOICES[name] else None
    if name in NUMBERS:
        low, high, step = NUMBERS[name]
        number = int(raw) if raw.isdigit() else None
        return (
            number if number is not None and low <= number <= high and number % step == 0 else None
        )
    if name == "as_of":
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return None
        return day if bounds.first <= day <= bounds.latest else None
    if name == "district":
        return raw if raw in bounds.areas.get("district", ()) else None
    if name == "area":
        return raw if raw in bounds.areas.get("community_area", ()) else None
    return None


def _beats(raw: str, bounds: Bounds) -> tuple[str, ...] | None:
    """Comma-separated beat numbers, every one known; else the whole list is refused."""
    beats = tuple(dict.fromkeys(b.strip() for b in raw.split(",") if b.strip()))
    known = set(bounds.areas.get("beat", ()))
    if not beats or len(beats) > MAX_BEATS or not set(beats) <= known:
        return None
    return tuple(sorted(beats))
