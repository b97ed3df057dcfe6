"""Who wants to hear about which area: the subscriptions file, checked against the store."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.alerts.delivery import redact
from pipeline.errors import InputFileError, PipelineError
from pipeline.store import Store

#: What a subscription can ask for (default: all three).
KINDS = ("shootings", "homicides", "windows")
#: The area keys a subscription may give (exactly one), and the victims column each cuts.
AREA_FIELDS = {"district": "district", "beats": "beat", "community_area": "community_area"}
FIELDS = {"name", "url", "kinds", *AREA_FIELDS}


@dataclass(frozen=True)
class Subscription:
    """One team's area, the kinds it wants and its channel (URL as written, unexpanded)."""

    name: str
    level: str  # district | beat | community_area: the recorded column cut
    keys: tuple[str, ...]
    kinds: tuple[str, ...]
    url: str = field(repr=False)

    @property
    def channel(self) -> str:
        return redact(self.url)

    @property
    def area_label(self) -> str:
        if self.level == "beat":
            return ("Beat " if len(self.keys) == 1 else "Beats ") + ", ".join(self.keys)
        title = "District" if self.level == "district" else "Community area"
        return f"{title} {self.keys[0]}"


def load_subscriptions(path: Path, store: Store) -> list[Subscription]:
    """The subscriptions in the TOML file at `path` (`[[subscription]]` tables), their area
    keys checked against the store's boundaries. One InputFileError lists every problem."""
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("subscription", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputFileError(f"cannot read the subscriptions file {path}: {exc}") from exc
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputFileError(
            f"the subscriptions file {path} must hold [[subscription]] tables (README, Alerts)"
        )
    problems: list[str] = []
    subscriptions = []
    with store.reader() as q:
        for number, entry in enumerate(entries, start=1):
            sub = _subscription(entry, q.resolve_area, problems, f"subscription {number}")
            if sub is not None:
                subscriptions.append(sub)
    names = [s.name for s in subscriptions]
    problems += [
        f"name {n!r} is used twice" for n in sorted({n for n in names if names.count(n) > 1})
    ]
    if problems:
        raise InputFileError(f"the subscriptions file {path}: " + "; ".join(problems))
    return subscriptions


def _subscription(
    entry: dict[str, Any], resolve: Callable[[str, str], str], problems: list[str], where: str
) -> Subscription | None:
    """One entry checked; its problems appended to `problems` (then None)."""
    before = len(problems)
    name = entry.get("name")
    if isinstance(name, str) and name.strip():
        where = f"{where} ({name!r})"
    else:
        problems.append(f"{where}: `name` was {name!r} but must be a non-empty string")
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        problems.append(f"{where}: unknown keys {unknown}; allowed are {sorted(FIELDS)}")
    url = entry.get("url")
    if not isinstance(url, str) or "://" not in url:
        problems.append(f"{where}: `url` must be an apprise URL such as 'mailto://…' or 'json://…'")
    kinds = entry.get("kinds", list(KINDS))
    kinds = [kinds] if isinstance(kinds, str) else kinds
    wrong = [k for k in kinds if k not in KINDS] if isinstance(kinds, list) else [kinds]
    if wrong or not kinds:
        problems.append(f"{where}: `kinds` was {kinds!r} but is expected to be in {list(KINDS)}")
    level, keys = _area(entry, resolve, problems, where)
    if len(problems) > before:
        return None
    return Subscription(str(name).strip(), level, tuple(keys), tuple(kinds), str(url))


def _area(
    entry: dict[str, Any], resolve: Callable[[str, str], str], problems: list[str], where: str
) -> tuple[str, list[str]]:
    """(recorded column, stored keys) of the one area `entry` gives."""
    areas = [f for f in AREA_FIELDS if f in entry]
    if len(areas) != 1:
        problems.append(f"{where}: give exactly one of {list(AREA_FIELDS)}; got {areas or 'none'}")
        return "", []
    given = entry[areas[0]]
    if areas[0] == "beats":
        given = [given] if isinstance(given, str | int) else given
        if not isinstance(given, list) or not given:
            problems.append(f"{where}: `beats` must be a list of beat numbers such as ['1713']")
            given = []
    keys = []
    for value in given if isinstance(given, list) else [given]:
        try:
            keys.append(resolve(AREA_FIELDS[areas[0]], str(value)))
        except PipelineError as exc:
            problems.append(f"{where}: {exc}")
    return AREA_FIELDS[areas[0]], keys
