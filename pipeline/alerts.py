"""Alerts after each sync: per subscription, one message with what is new in its area.

A subscription is a team's area (a district, some beats or a community area, as
CPD recorded them on each record), the kinds it wants and one channel, an
apprise URL (email, SMS gateways, Slack, Teams, webhooks...). After each sync,
and on `python -m pipeline alerts`, each subscription gets one message listing

- new shootings: records the sync added (gunshot victims; with `homicides`, any
  new homicide victim),
- reclassified as homicide: stored records whose victim has since died
  (`fatal: false -> true` in the sync's changes),
- retaliation-risk windows newly open (`pipeline.outreach.windows_table` on the
  latest date in the store, the `windows` command's defaults).

Messages hold block-level locations, case numbers and times only; the store has
no names. URLs may carry `${ENV_VAR}`: expanded at send time, never logged or
printed (a channel is shown as its scheme, `json://…`).

Delivery state is a small JSON file next to the store (`alerts_state.json`),
not a store table: the store is replaced whole, under the sync's lock, by each
write, so recording one delivery would copy the whole store; the state is only
this module's, and deleting it is a plain reset. Per subscription it keeps the
last sync whose changes were delivered and the items sent (`added:<record id>`,
`homicide:<record id>`, `window:<case number>`). A failed delivery leaves it
as it was, so the next run sends the same items (with anything newer); a
delivered item is never sent twice. The file is replaced atomically after
each delivery; a crash between a send and that write can repeat one message
(at least once, never lost).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from pipeline.errors import InputFileError, PipelineError, StoreError
from pipeline.settings import Settings
from pipeline.store import Store

#: What a subscription can ask for (default: all three).
KINDS = ("shootings", "homicides", "windows")
#: The area keys a subscription may give (exactly one), and the victims column each cuts.
AREA_FIELDS = {"district": "district", "beats": "beat", "community_area": "community_area"}
FIELDS = {"name", "url", "kinds", *AREA_FIELDS}
#: Retaliation-risk windows as the `windows` command shows them by default: shootings of
#: the last 14 days, follow-ups within 400 m in the 14 days after each.
WINDOW_DAYS, WINDOW_RADIUS_M, WINDOW_LENGTH_DAYS = 14, 400, 14
#: Items sent longer ago than this are forgotten (windows close after a month).
KEEP_SENT_DAYS = 400
STATE_VERSION = 1
DIED = "fatal: false -> true"
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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


@dataclass(frozen=True)
class Alert:
    """The message pending for one subscription, and the items it delivers."""

    subscription: Subscription
    item_ids: tuple[str, ...]
    title: str
    body: str


@dataclass(frozen=True)
class Outcome:
    """What happened to one subscription: sent | failed | would send | nothing new."""

    subscription: Subscription
    status: str
    alert: Alert | None = None
    reason: str = ""  # why a delivery failed, with every part of the URL scrubbed


def run(settings: Settings, dry_run: bool = False) -> list[Outcome]:
    """Send (or with `dry_run` only compose) each subscription's pending alert; [] when
    there is no subscriptions file. Delivery state is updated only by real sends."""
    if not settings.subscriptions_path.is_file():
        return []
    store = Store(settings.store_path)
    subscriptions = load_subscriptions(settings.subscriptions_path, store)
    with _state_lock(settings.alerts_state_path):
        state = read_state(settings.alerts_state_path)
        alerts, latest_sync = pending(store, subscriptions, state)
        outcomes = []
        for sub in subscriptions:
            alert = alerts.get(sub.name)
            if dry_run:
                outcomes.append(Outcome(sub, "would send" if alert else "nothing new", alert))
                continue
            # Seen from now on: a failed first delivery is retried even after later syncs.
            state["subscriptions"].setdefault(sub.name, {"after_sync": latest_sync - 1, "sent": {}})
            reason = send(sub.url, alert.title, alert.body) if alert else None
            if reason is None:
                mark_sent(state, sub.name, alert.item_ids if alert else (), latest_sync)
            write_state(settings.alerts_state_path, state)
            status = "nothing new" if alert is None else "failed" if reason else "sent"
            outcomes.append(Outcome(sub, status, alert, reason or ""))
    return outcomes


# --- subscriptions -------------------------------------------------------------------------


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


# --- what is pending ----------------------------------------------------------------------


def pending(
    store: Store, subscriptions: Sequence[Subscription], state: dict[str, Any]
) -> tuple[dict[str, Alert], int]:
    """The alert pending for each subscription with something new (by name), and the
    latest victims sync. A subscription not yet in `state` starts at the latest sync."""
    with store.reader() as q:
        latest_sync = _latest_victims_sync(q.con)
        as_of = q.latest_date()
        known = state["subscriptions"]
        after = {
            s.name: known.get(s.name, {}).get("after_sync", latest_sync - 1) for s in subscriptions
        }
        changed = _changed(q.con, min(after.values(), default=latest_sync))
    windows = _windows(store, as_of) if any("windows" in s.kinds for s in subscriptions) else None
    alerts = {}
    for sub in subscriptions:
        sent = known.get(sub.name, {}).get("sent", {})
        mine = changed[changed["sync_id"] > after[sub.name]]
        alert = compose(sub, mine, windows, sent, as_of, latest_sync)
        if alert is not None:
            alerts[sub.name] = alert
    return alerts, latest_sync


def _latest_victims_sync(con: Any) -> int:
    rows = con.execute("SELECT max(sync_id) FROM sync_log WHERE dataset = 'victims'").fetchall()
    if not rows or rows[0][0] is None:
        raise StoreError("the store holds no victims sync: run `python -m pipeline sync` first")
    return int(rows[0][0])


def _changed(con: Any, after_sync: int) -> pd.DataFrame:
    """Additions and deaths recorded by syncs after `after_sync`, of records still stored."""
    return con.execute(
        "SELECT c.sync_id, c.change, c.record_id, c.case_number, c.occurred_at, c.block, "
        "c.beat, c.district, c.community_area, c.gunshot, c.fatal FROM changes c "
        "SEMI JOIN victims v ON v.unique_id = c.record_id WHERE c.sync_id > ? AND "
        "(c.change = 'added' OR (c.change = 'updated' AND c.fatal AND c.fields_changed LIKE ?)) "
        "ORDER BY c.occurred_at DESC, c.record_id",
        [after_sync, f"%{DIED}%"],
    ).df()


def _windows(store: Store, as_of: date) -> pd.DataFrame:
    """Open windows on `as_of`, each with the recorded areas of its incident's first victim."""
    from pipeline import outreach  # geometry: loaded only when a subscription wants windows

    table = outreach.windows_table(store, as_of, WINDOW_DAYS, WINDOW_RADIUS_M, WINDOW_LENGTH_DAYS)
    with store.read() as con:
        areas = con.execute(
            "SELECT case_number, arg_min(district, (occurred_at, unique_id)) AS district, "
            "arg_min(beat, (occurred_at, unique_id)) AS beat, "
            "arg_min(community_area, (occurred_at, unique_id)) AS community_area "
            "FROM victims WHERE list_contains(?, case_number) GROUP BY case_number",
            [[str(c) for c in table["case_number"]]],
        ).df()
    return table.drop(columns=["beat", "latitude", "longitude"]).merge(
        areas, on="case_number", how="left"
    )


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


# --- delivery -----------------------------------------------------------------------------


def redact(url: str) -> str:
    """A channel as it may be shown: its scheme only ('json://…')."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    return f"{scheme}://…" if scheme.isalnum() else "(channel)"


def expand(url: str, env: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """`url` with each `${NAME}` replaced from `env` (default `os.environ`), and the values
    put in (to scrub from any text shown). KeyError naming a variable that is not set."""
    env = os.environ if env is None else env
    if unset(url, env):
        raise KeyError(unset(url, env)[0])
    values = [env[n] for n in _ENV.findall(url)]
    return _ENV.sub(lambda m: env[m.group(1)], url), values


def unset(url: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The `${NAME}`s of `url` that are not set (or empty) in `env` (default `os.environ`)."""
    env = os.environ if env is None else env
    return [name for name in _ENV.findall(url) if not env.get(name)]


def send(url: str, title: str, body: str) -> str | None:
    """Deliver through apprise: None when delivered, else why not (nothing of the URL in it).
    apprise's own log lines (which may quote the URL) are captured, never shown as is."""
    import apprise  # loaded only when something is sent

    try:
        expanded, secrets = expand(url)
    except KeyError as exc:
        return f"environment variable {exc.args[0]} is not set"
    with _captured("apprise", "urllib3", "requests") as lines:
        try:
            bell = apprise.Apprise()
            if not bell.add(expanded):
                return "apprise does not accept this URL (check it against apprise's docs)"
            if bell.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT):
                return None
        except Exception as exc:  # a third party's network code: any failure is a retry
            lines.append(f"{type(exc).__name__}: {exc}")
    return scrub(lines[-1] if lines else "the receiver refused it", expanded, secrets)


def scrub(text: str, url: str, secrets: Sequence[str] = ()) -> str:
    """`text` without the secrets nor any part of `url` past its scheme (host, user,
    password, path and query pieces, raw or percent-encoded)."""
    rest = url.split("://", 1)[-1]
    pieces = {p for p in re.split(r"[/:@?&=#,;\s]+", rest) if len(p) >= 3} | set(secrets)
    pieces |= {rest} | {quote(p, safe="") for p in pieces}
    for piece in sorted(pieces, key=len, reverse=True):
        if piece:
            text = text.replace(piece, "***")
    return " ".join(text.split())


@contextmanager
def _captured(*names: str) -> Iterator[list[str]]:
    """The WARNING-and-above messages of the loggers `names` (and their children), kept
    from every other handler: apprise logs URLs, urllib3 the request paths."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.name.split(".")[0] == "apprise":
                lines.append(record.getMessage())

    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg.handlers, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.handlers, lg.propagate = [Keep(logging.WARNING)], False
    try:
        yield lines
    finally:
        for lg, (handlers, propagate) in zip(loggers, saved, strict=True):
            lg.handlers, lg.propagate = handlers, propagate


# --- state --------------------------------------------------------------------------------


def read_state(path: Path) -> dict[str, Any]:
    """The delivery state at `path` (empty if there is none)."""
    if not path.is_file():
        return {"version": STATE_VERSION, "subscriptions": {}}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("version") != STATE_VERSION or not isinstance(state["subscriptions"], dict):
            raise ValueError(f"version {state.get('version')!r}, expected {STATE_VERSION}")
    except (ValueError, KeyError, AttributeError, OSError) as exc:
        raise InputFileError(
            f"the alert state {path} is unreadable ({exc}); delete it to start afresh "
            "(each subscription then gets the latest sync's alert again)"
        ) from exc
    return state


def mark_sent(state: dict[str, Any], name: str, item_ids: Sequence[str], sync_id: int) -> None:
    """Record a delivery: the items, and that changes up to `sync_id` are done."""
    today = date.today()
    entry = state["subscriptions"].setdefault(name, {"after_sync": sync_id, "sent": {}})
    oldest = (today - timedelta(days=KEEP_SENT_DAYS)).isoformat()
    entry["sent"] = {i: d for i, d in entry["sent"].items() if d >= oldest}
    entry["sent"].update({i: today.isoformat() for i in item_ids})
    entry["after_sync"] = sync_id


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file atomically (a temporary file, fsync, rename)."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@contextmanager
def _state_lock(path: Path) -> Iterator[None]:
    """One alerts run at a time, so two never send the same item."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StoreError(
                "another alerts run is sending; what is pending goes out on the next run"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
