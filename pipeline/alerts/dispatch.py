"""One alerts run: what is pending per subscription, sent at least once, never twice.

A failed delivery leaves the state as it was, so the next run sends the same items
(with anything newer); a delivered item is never sent twice. The state file is
replaced atomically after each delivery; a crash between a send and that write can
repeat one message (at least once, never lost).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from pipeline.alerts.delivery import send
from pipeline.alerts.message import (
    WINDOW_DAYS,
    WINDOW_LENGTH_DAYS,
    WINDOW_RADIUS_M,
    Alert,
    compose,
)
from pipeline.alerts.state import mark_sent, read_state, state_lock, write_state
from pipeline.alerts.subscriptions import Subscription, load_subscriptions
from pipeline.settings import Settings
from pipeline.store import Store

#: How the changes table writes a victim's death among the fields that changed.
DIED = "fatal: false -> true"


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
    with state_lock(settings.alerts_state_path):
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


def pending(
    store: Store, subscriptions: Sequence[Subscription], state: dict[str, Any]
) -> tuple[dict[str, Alert], int]:
    """The alert pending for each subscription with something new (by name), and the
    latest victims sync. A subscription not yet in `state` starts at the latest sync."""
    with store.reader() as q:
        latest_sync = q.latest_sync("victims")
        as_of = q.latest_date()
        known = state["subscriptions"]
        after = {
            s.name: known.get(s.name, {}).get("after_sync", latest_sync - 1) for s in subscriptions
        }
        changed = q.additions_and_deaths(min(after.values(), default=latest_sync), DIED)
    windows = _windows(store, as_of) if any("windows" in s.kinds for s in subscriptions) else None
    alerts = {}
    for sub in subscriptions:
        sent = known.get(sub.name, {}).get("sent", {})
        mine = changed[changed["sync_id"] > after[sub.name]]
        alert = compose(sub, mine, windows, sent, as_of, latest_sync)
        if alert is not None:
            alerts[sub.name] = alert
    return alerts, latest_sync


def _windows(store: Store, as_of: date) -> pd.DataFrame:
    """Open windows on `as_of`, each with the recorded areas of its incident's first victim."""
    from pipeline import outreach  # geometry: loaded only when a subscription wants windows

    table = outreach.windows_table(store, as_of, WINDOW_DAYS, WINDOW_RADIUS_M, WINDOW_LENGTH_DAYS)
    with store.reader() as q:
        areas = q.recorded_areas_of_cases([str(c) for c in table["case_number"]])
    return table.drop(columns=["beat", "latitude", "longitude"]).merge(
        areas, on="case_number", how="left"
    )
