"""One subscription's message: new shootings, deaths and newly open windows, as plain
text at block level. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from pipeline.alerts.subscriptions import Subscription

#: Retaliation-risk windows as the `windows` command shows them by default: shootings of
#: the last 14 days, follow-ups within 400 m in the 14 days after each.
WINDOW_DAYS, WINDOW_RADIUS_M, WINDOW_LENGTH_DAYS = 14, 400, 14


@dataclass(frozen=True)
class Alert:
    """The message pending for one subscription, and the items it delivers."""

    subscription: Subscription
    item_ids: tuple[str, ...]
    title: str
    body: str


@dataclass(frozen=True)
class Section:
    """One part of a message: its heading, how the title counts it, its (item id, line)s."""

    heading: str
    nouns: tuple[str, str]  # singular, plural
    items: list[tuple[str, str]]


def compose(
    sub: Subscription,
    changed: pd.DataFrame,
    windows: pd.DataFrame | None,
    sent: Mapping[str, str],
    as_of: date,
    sync_id: int,
) -> Alert | None:
    """The message for `sub` from the changes and windows given, leaving out what was
    `sent`; None when nothing is left. Pure: no I/O."""
    parts = [part for part in _sections(sub, changed, windows, sent) if part.items]
    if not parts:
        return None
    counts = [f"{len(p.items)} {p.nouns[len(p.items) > 1]}" for p in parts]
    body = [
        f"{sub.area_label}, records up to {as_of:%Y-%m-%d} (sync {sync_id}); "
        "times are Chicago local time."
    ]
    for part in parts:
        body += ["", f"{part.heading}:", *(f"- {line}" for _, line in part.items)]
    body += [
        "",
        "Block-level locations only. Details: `python -m pipeline changes`, Outreach page.",
    ]
    ids = tuple(item_id for part in parts for item_id, _ in part.items)
    return Alert(sub, ids, f"{sub.area_label}: {', '.join(counts)}", "\n".join(body))


def _sections(
    sub: Subscription,
    changed: pd.DataFrame,
    windows: pd.DataFrame | None,
    sent: Mapping[str, str],
) -> list[Section]:
    """New records, deaths and open windows in `sub`'s area and kinds, not yet `sent`."""
    mine = changed[changed[sub.level].isin(sub.keys)]
    added = mine[(mine["change"] == "added") & _wanted_new(mine, sub.kinds)]
    died = mine[(mine["change"] == "updated") & _wanted_death(mine, sub.kinds)]
    opened = pd.DataFrame(columns=["case_number"])
    if windows is not None and "windows" in sub.kinds:
        opened = windows[windows[sub.level].isin(sub.keys)]

    def fresh(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return _unique([(item_id, line) for item_id, line in items if item_id not in sent])

    return [
        Section(
            "New shootings" if added["gunshot"].all() else "New shootings and homicides",
            ("new shooting", "new shootings"),
            fresh(
                [(f"added:{r.record_id}", _record_line(r, _what(r))) for r in added.itertuples()]
            ),
        ),
        Section(
            "Reclassified as homicide",
            ("reclassified as homicide", "reclassified as homicide"),
            fresh(
                [
                    (f"homicide:{r.record_id}", _record_line(r, "the victim has died"))
                    for r in died.itertuples()
                ]
            ),
        ),
        Section(
            f"Retaliation-risk windows newly open (shootings of the last {WINDOW_DAYS} days; "
            f"follow-up shootings within {WINDOW_RADIUS_M} m in the {WINDOW_LENGTH_DAYS} days "
            "after)",
            ("retaliation-risk window open", "retaliation-risk windows open"),
            fresh([(f"window:{w.case_number}", _window_line(w)) for w in opened.itertuples()]),
        ),
    ]


def _wanted_new(rows: pd.DataFrame, kinds: Sequence[str]) -> pd.Series:
    gunshot, fatal = rows["gunshot"].astype(bool), rows["fatal"].astype(bool)
    return (gunshot & ("shootings" in kinds)) | (fatal & ("homicides" in kinds))


def _wanted_death(rows: pd.DataFrame, kinds: Sequence[str]) -> pd.Series:
    gunshot = rows["gunshot"].astype(bool)
    return (gunshot & ("shootings" in kinds)) | pd.Series("homicides" in kinds, index=rows.index)


def _what(r: Any) -> str:
    if not r.gunshot:
        return "homicide (not a shooting)"
    return "fatal shooting" if r.fatal else "non-fatal shooting"


def _place(block: Any, beat: Any) -> str:
    block = block if isinstance(block, str) and block else "(block not published)"
    return f"{block}, beat {beat}" if isinstance(beat, str) and beat else block


def _when(value: Any) -> str:
    return f"{pd.Timestamp(value):%Y-%m-%d %H:%M}" if pd.notna(value) else "(time unknown)"


def _record_line(r: Any, what: str) -> str:
    return f"{_when(r.occurred_at)}, {_place(r.block, r.beat)}, case {r.case_number}: {what}"


def _window_line(w: Any) -> str:
    follow = f"{int(w.followups)} follow-up shooting{'s' if int(w.followups) != 1 else ''} so far"
    return (
        f"case {w.case_number}, {_when(w.occurred_at)}, {_place(w.block, w.beat)}: "
        f"{int(w.victims)} shot, {int(w.killed)} killed; open until {w.window_end} "
        f"({int(w.days_left)} days left), {follow}"
    )


def _unique(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """First of each id (a record reclassified twice is listed once)."""
    first: dict[str, str] = {}
    for item_id, text in items:
        first.setdefault(item_id, text)
    return list(first.items())
