"""Alerts: two successive syncs, one message per subscription to a local receiver.

The receiver is an HTTP server on 127.0.0.1 that records what apprise's `json://`
POSTs to it (or answers 500 when told to fail).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline import alerts
from pipeline.cli import main
from tests.conftest import (
    BOUNDARY_FILES,
    IN_0111,
    IN_0212,
    RECONSTRUCTED,
    build_store,
    needs_snapshot,
    row,
    sync_files,
    write_layers,
)

D1 = {"district": "1", "beat": "0111"}
D2 = {"district": "2", "beat": "0212"}
SECRET = "s3cr3t-T0ken-value"


class Receiver:
    """What was POSTed, path and JSON; answers `status`."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.posts.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def messages(self, path: str | None = None) -> list[str]:
        return [p["message"] for where, p in self.posts if path is None or where == f"/{path}"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    thread = threading.Thread(target=rec.server.serve_forever, daemon=True)
    thread.start()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


def victim(i: int, day: str, area: dict[str, str], **extra: str) -> dict[str, Any]:
    """A gunshot victim, alone in case JA000<i>, on block `<i>XX W TEST ST` (3 digits, so no
    block is part of another)."""
    where = IN_0111 if area is D1 else IN_0212
    return row(i, f"2025-{day}T10:00:00", where, block=block(i), case_number=f"JA{i:05d}",
               **area, **extra)  # fmt: skip


def block(i: int) -> str:
    return f"{i:03d}XX W TEST ST"


BASE = [
    victim(0, "01-05", D1),  # its location is corrected later: not an alert
    victim(1, "01-06", D1),  # dies: reclassified as homicide
    victim(2, "01-07", D2),  # dies, in district 2
    victim(3, "01-08", D1),  # removed upstream: not an alert
    victim(4, "01-09", D2),
]
#: Old records in both districts, so removing one record is within the sync's 5 % guard.
FILLER = [
    row(i, f"2024-06-{1 + i % 28:02d}T10:00:00", IN_0111 if i % 2 else IN_0212,
        block=block(i), case_number=f"JA{i:05d}", **(D1 if i % 2 else D2))
    for i in range(100, 130)
]  # fmt: skip
SECOND = [
    *FILLER,
    dict(BASE[0], latitude=str(IN_0111[0] + 0.001)),
    dict(BASE[1], victimization_primary="HOMICIDE"),
    dict(BASE[2], victimization_primary="HOMICIDE"),
    BASE[4],
    victim(10, "03-01", D1),
    victim(11, "03-02", D1, victimization_primary="HOMICIDE"),
    victim(12, "03-02", D1, gunshot_injury_i="NO"),  # neither a shooting nor a homicide
    victim(13, "03-03", D2),
]
#: What the second sync brings per district: new shootings and deaths.
NEW_IN_1, DIED_IN_1 = {block(10), block(11)}, {block(1)}
NEW_IN_2, DIED_IN_2 = {block(13)}, {block(2)}


def subscriptions(data: Path, **urls: str) -> None:
    """One subscription per district given, e.g. d1="json://...": all kinds."""
    data.mkdir(parents=True, exist_ok=True)
    (data / "subscriptions.toml").write_text(
        "".join(
            f'[[subscription]]\nname = "{name}"\ndistrict = "{name[1:]}"\nurl = "{url}"\n\n'
            for name, url in urls.items()
        )
    )


def first_sync(tmp_path: Path) -> Path:
    return build_store(tmp_path, [*FILLER, *BASE])


def sync_again(tmp_path: Path, data: Path, rows: list[dict[str, Any]], name: str = "v2") -> None:
    path = tmp_path / f"{name}.csv"
    pd.DataFrame.from_records(rows).drop(columns="location").to_csv(path, index=False)
    sync_files(data, [path], write_layers(tmp_path / "layers"))  # asserts exit status 0


def sections(message: str, named: str = r"\d{3}XX W TEST ST") -> dict[str, set[str]]:
    """Heading (its first words) -> what its lines name (`named`, a regex: test blocks)."""
    found: dict[str, set[str]] = {}
    heading = ""
    for line in message.splitlines():
        if line.endswith(":") and not line.startswith("- "):
            heading = line.split(" (")[0].rstrip(":")
            found[heading] = set()
        elif line.startswith("- "):
            found[heading] |= set(re.findall(named, line))
    return found


def alerts_cli(data: Path, *args: str) -> int:
    return main(["alerts", "--data-dir", str(data), *args])


def test_each_district_gets_exactly_its_new_shootings_after_the_second_sync(
    tmp_path, receiver, capsys
) -> None:
    data = first_sync(tmp_path)
    subscriptions(data, d1=receiver.url("d1"), d2=receiver.url("d2"))
    sync_again(tmp_path, data, SECOND)
    assert len(receiver.posts) == 2
    (d1,), (d2,) = receiver.messages("d1"), receiver.messages("d2")
    assert sections(d1) == {
        "New shootings": NEW_IN_1,
        "Reclassified as homicide": DIED_IN_1,
        "Retaliation-risk windows newly open": NEW_IN_1,
    }
    assert sections(d2) == {
        "New shootings": NEW_IN_2,
        "Reclassified as homicide": DIED_IN_2,
        "Retaliation-risk windows newly open": NEW_IN_2,
    }
    assert "case JA00011, 2025-03-02 10:00" in d1 and "JA00013" not in d1
    titles = {path: post["title"] for path, post in receiver.posts}
    assert titles["/d1"] == (
        "District 1: 2 new shootings, 1 reclassified as homicide, 2 retaliation-risk windows open"
    )
    out = capsys.readouterr()
    assert "alerts: sent to d1 via json://…" in out.out and "warning" not in out.err


def test_kinds_choose_the_sections(tmp_path, receiver) -> None:
    data = first_sync(tmp_path)
    (data / "subscriptions.toml").write_text(
        f'[[subscription]]\nname = "beat team"\nbeats = ["111"]\nkinds = ["homicides"]\n'
        f'url = "{receiver.url("b")}"\n'
    )
    sync_again(tmp_path, data, SECOND)
    (message,) = receiver.messages("b")
    # New homicides only (victim 11), and the death; no non-fatal shooting, no windows.
    assert sections(message) == {
        "New shootings": {block(11)},
        "Reclassified as homicide": DIED_IN_1,
    }
    assert receiver.posts[0][1]["title"].startswith("Beat 0111: 1 new shooting, ")


def test_dry_run_prints_the_message_and_sends_nothing(tmp_path, receiver, capsys) -> None:
    data = first_sync(tmp_path)
    sync_again(tmp_path, data, SECOND)  # no subscriptions yet: nothing to send
    subscriptions(data, d1=receiver.url("d1"))
    capsys.readouterr()
    assert alerts_cli(data, "--dry-run") == 0
    printed = capsys.readouterr().out
    assert receiver.posts == []
    assert "would send to d1 via json://…" in printed and "127.0.0.1" not in printed
    assert sections(printed)["New shootings"] == NEW_IN_1
    assert not (data / "alerts_state.json").exists()
    # The dry run consumed nothing: the real run sends the message it printed.
    assert alerts_cli(data) == 0
    (sent,) = receiver.messages("d1")
    assert sent in printed


def test_a_failing_receiver_leaves_the_sync_green_and_is_retried(
    tmp_path, receiver, capsys
) -> None:
    data = first_sync(tmp_path)
    subscriptions(data, d1=receiver.url("d1"))
    receiver.status = 500
    capsys.readouterr()
    sync_again(tmp_path, data, SECOND)  # exit status 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: alert to d1 via json://… failed (")
    assert "500" in err[0] and "sent again on the next sync" in err[0]
    assert len(receiver.posts) == 1  # tried once, refused
    assert alerts_cli(data) == 1  # still failing: `alerts` itself says so
    receiver.status = 200
    assert alerts_cli(data) == 0
    assert len(receiver.posts) == 3 and receiver.posts[2] == receiver.posts[0]
    assert sections(receiver.messages()[2])["New shootings"] == NEW_IN_1


def test_a_failed_alert_also_goes_out_after_the_next_sync_with_what_is_newer(
    tmp_path, receiver
) -> None:
    data = first_sync(tmp_path)
    subscriptions(data, d1=receiver.url("d1"))
    receiver.status = 500
    sync_again(tmp_path, data, SECOND)
    receiver.status = 200
    sync_again(tmp_path, data, [*SECOND, victim(20, "03-04", D1)], "v3")
    assert len(receiver.posts) == 2
    assert sections(receiver.messages()[1])["New shootings"] == {*NEW_IN_1, block(20)}


def test_nothing_is_sent_twice(tmp_path, receiver, capsys) -> None:
    data = first_sync(tmp_path)
    subscriptions(data, d1=receiver.url("d1"))
    sync_again(tmp_path, data, SECOND)
    assert len(receiver.posts) == 1
    assert alerts_cli(data) == 0
    assert alerts_cli(data) == 0
    assert len(receiver.posts) == 1
    assert "alerts: nothing new for d1" in capsys.readouterr().out
    sync_again(tmp_path, data, SECOND, "v3")  # the same records again: no change
    assert len(receiver.posts) == 1
    sync_again(tmp_path, data, [*SECOND, victim(20, "03-04", D1)], "v4")
    assert len(receiver.posts) == 2
    # Only the new shooting and its window; the earlier ones' windows are still open.
    assert sections(receiver.messages()[1]) == {
        "New shootings": {block(20)},
        "Retaliation-risk windows newly open": {block(20)},
    }


def test_a_secret_in_the_url_is_used_but_never_shown(
    tmp_path, receiver, capsys, caplog, monkeypatch
) -> None:
    monkeypatch.setenv("ALERT_TOKEN", SECRET)
    caplog.set_level(logging.DEBUG)  # apprise logs its URLs at DEBUG: none may get through
    data = first_sync(tmp_path)
    subscriptions(data, d1=receiver.url("hook/${ALERT_TOKEN}"))
    receiver.status = 500
    sync_again(tmp_path, data, SECOND)
    assert alerts_cli(data, "--dry-run") == 0
    receiver.status = 200
    assert alerts_cli(data) == 0
    assert [path for path, _ in receiver.posts] == [f"/hook/{SECRET}"] * 2  # expanded
    shown = capsys.readouterr()
    assert "warning: alert to d1 via json://… failed" in shown.err
    for text in (shown.out, shown.err, caplog.text, (data / "alerts_state.json").read_text()):
        assert SECRET not in text and str(receiver.port) not in text


def test_a_variable_not_set_is_named_and_the_alert_kept(
    tmp_path, receiver, capsys, monkeypatch
) -> None:
    monkeypatch.delenv("ALERT_TOKEN", raising=False)
    data = first_sync(tmp_path)
    subscriptions(data, d1=receiver.url("hook/${ALERT_TOKEN}"))
    sync_again(tmp_path, data, SECOND)
    assert "environment variable ALERT_TOKEN is not set" in capsys.readouterr().err
    assert alerts_cli(data, "--dry-run") == 0
    assert "would send to d1 via json://… (not set here: ALERT_TOKEN):" in capsys.readouterr().out
    assert receiver.posts == []
    monkeypatch.setenv("ALERT_TOKEN", SECRET)
    assert alerts_cli(data) == 0
    assert sections(receiver.messages()[0])["New shootings"] == NEW_IN_1


def test_a_broken_subscriptions_file_names_every_problem(tmp_path, capsys) -> None:
    data = first_sync(tmp_path)
    (data / "subscriptions.toml").write_text(
        '[[subscription]]\nname = "a"\ndistrict = "99"\nurl = "json://h/x"\n\n'
        '[[subscription]]\nname = "b"\nbeats = ["0111"]\nkinds = ["murders"]\n'
        'url = "json://h/y"\n\n[[subscription]]\nname = "c"\ncommunity_area = "austin"\n'
    )
    capsys.readouterr()
    assert alerts_cli(data) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "district was '99' but is not in the current boundaries" in err
    assert "'murders'" in err and "subscription 3 ('c'): `url` must be" in err
    sync_again(tmp_path, data, SECOND)  # the sync still succeeds, with one warning
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: alerts not sent: the subscriptions")


def test_scrub_and_redact_leave_no_part_of_the_url() -> None:
    url = f"mailto://user:{SECRET}@mail.example.org:587?to=team%40example.org"
    text = f"Failed to send to mail.example.org as user with {SECRET} (team%40example.org)"
    scrubbed = alerts.scrub(text, url, [SECRET])
    for part in ("mail.example.org", SECRET, "team%40example.org", "587"):
        assert part not in scrubbed
    assert alerts.redact("slack://T0/B0/X0") == "slack://…"
    assert alerts.expand("json://h/${A}/${A}", {"A": "x"}) == ("json://h/x/x", ["x", "x"])
    with pytest.raises(KeyError, match="B"):
        alerts.expand("json://h/${B}", {})


# --- the real snapshot, two syncs with planted changes --------------------------------------


@needs_snapshot
def test_real_snapshot_district_17_gets_the_planted_changes(tmp_path, receiver) -> None:
    from tests.test_changes import sample_rows, write

    header, rows = sample_rows()
    rows[0] = dict(rows[0], homicide_victim_last_name="PLANTEDNAME")  # checked below
    data = sync_files(tmp_path / "data", [write(tmp_path / "v.csv", header, rows), RECONSTRUCTED],
                      BOUNDARY_FILES)  # fmt: skip
    subscriptions(data, d17=receiver.url("d17"))
    in_17 = [r for r in rows if r["district"] == "17" and r["gunshot_injury_i"] == "YES"]
    dies = next(r for r in in_17 if r["victimization_primary"] != "HOMICIDE")
    elsewhere = next(r for r in rows if r["district"] == "11" and r["gunshot_injury_i"] == "YES")
    killed = next(r for r in reversed(in_17) if r["homicide_victim_last_name"])  # with a name
    new = [
        dict(killed, cpd_id="SHOOT-PLANTED-#1", case_number="JZ999991"),
        dict(elsewhere, cpd_id="SHOOT-PLANTED-#2", case_number="JZ999992"),
    ]
    changed = [
        dict(r, victimization_primary="HOMICIDE", homicide_victim_last_name="PLANTEDNAME")
        if r is dies
        else r
        for r in rows
        if r is not rows[10]
    ]
    sync_files(data, [write(tmp_path / "v.csv", header, [*changed, *new]), RECONSTRUCTED],
               BOUNDARY_FILES)  # fmt: skip
    (message,) = receiver.messages("d17")
    cases = sections(message, r"case (\w+)")
    assert cases["New shootings"] == {"JZ999991"}
    assert cases["Reclassified as homicide"] == {dies["case_number"]}
    assert "JZ999992" not in message
    in_district = {r["case_number"] for r in rows if r["district"] == "17"} | {"JZ999991"}
    assert cases["Retaliation-risk windows newly open"] <= in_district
    # No victim's name: the planted one, nor those of the incidents listed (block names
    # such as WASHINGTON are taken out first: they are streets, not people).
    listed = set().union(*cases.values())
    names = {"PLANTEDNAME"} | {
        r[c]
        for r in [*rows, killed]
        if r["case_number"] in listed or r is killed
        for c in ("homicide_victim_first_name", "homicide_victim_last_name")
        if len(r[c]) > 1
    }
    text = message
    for known in sorted({r["block"] for r in rows}, key=len, reverse=True):
        text = text.replace(known, "")
    assert not [n for n in names if re.search(rf"\b{re.escape(n)}\b", text)]
    assert len(names) >= 3  # the new homicide's first and last names were checked
