"""What each subscription was sent: a small JSON file next to the store.

Not a store table: the store is written only under the sync's lock (and may be
copied whole when readers hold it), so a delivery is not a reason to write it; the state is only
the alerts', and deleting it is a plain reset. Per subscription it keeps the
last sync whose changes were delivered and the items sent (`added:<record id>`,
`homicide:<record id>`, `window:<case number>`).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pipeline.errors import InputFileError, StoreError

#: Items sent longer ago than this are forgotten (windows close after a month).
KEEP_SENT_DAYS = 400
STATE_VERSION = 1


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
def state_lock(path: Path) -> Iterator[None]:
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
