"""The store under faults: a swap under an open reader, a full disk, too little free space,
a sync that writes in place (its cost, readers during it, a kill during it)."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from pipeline import counts
from pipeline import store as store_module
from pipeline.cli import main
from pipeline.errors import StoreError
from pipeline.settings import Settings
from pipeline.shared_reader import SharedReader
from pipeline.store import Store
from tests.conftest import (
    IN_0111,
    RECONSTRUCTED,
    ROWS,
    SAMPLE_DIR,
    build_store,
    layer_flags,
    needs_snapshot,
    row,
    sync_real_snapshot,
    tiny_layers,
)

STORE = "store.duckdb"


def fingerprint(path: Path) -> tuple[int, str]:
    """Row count and a checksum of the sorted unique_ids, read the way the page reads."""
    with Store(path).read() as con:
        ids = [r[0] for r in con.execute("SELECT unique_id FROM victims ORDER BY 1").fetchall()]
    return len(ids), hashlib.sha256("\n".join(ids).encode()).hexdigest()


def sync_argv(folder: Path) -> list[str]:
    """The CLI arguments of `build_store(folder, ...)` (its CSV and layers are reused)."""
    layers = folder / "layers"
    return [
        "sync",
        "--data-dir",
        str(folder / "data"),
        "--victims",
        str(folder / "v.csv.gz"),
        *layer_flags({name: layers / f"{name}.geojson" for name in tiny_layers()}),
    ]


MORE_ROWS = [*ROWS, *(row(i, f"2025-03-{i:02d}T10:00:00", IN_0111) for i in (10, 11))]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A tiny store of ROWS, written through the CLI."""
    return build_store(tmp_path, ROWS) / STORE


@pytest.fixture
def plain_reader(store_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection opened the plain way (another module, a notebook) and kept open."""
    con = duckdb.connect(str(store_path), read_only=True)
    yield con
    con.close()


def leftovers(store_path: Path) -> list[str]:
    return sorted(p.name for p in store_path.parent.glob("*.tmp-*"))


# --- A: a swap is seen by the next read, whatever is still open ---------------------


@pytest.mark.parametrize("held", ["store_reader", "plain_reader"])
def test_a_read_after_a_swap_sees_the_new_store(tmp_path, store_path, held, request) -> None:
    store = Store(store_path)
    with store.read() as before:
        held_open = before if held == "store_reader" else request.getfixturevalue(held)
        assert held_open.execute("SELECT count(*) FROM victims").fetchall() == [(len(ROWS),)]
        build_store(tmp_path, MORE_ROWS)  # a sync replaces the file meanwhile
        with store.read() as after:
            assert after.execute("SELECT count(*) FROM victims").fetchall() == [(len(MORE_ROWS),)]
        assert fingerprint(store_path)[0] == len(MORE_ROWS)


def test_every_sync_gives_the_store_a_new_identity(tmp_path, store_path) -> None:
    store = Store(store_path)
    first = store.identity()
    assert first and store.identity() == first  # stable while the file is unchanged
    stat = store_path.stat()
    build_store(tmp_path, ROWS)  # same data, yet a new file
    os.utime(store_path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the same mtime
    assert store.identity() not in ("", first)


def test_the_page_cache_is_keyed_by_what_the_file_holds(tmp_path, store_path) -> None:
    from ui import data

    settings = Settings.from_env(env={}, data_dir=store_path.parent)
    ref = data.store_ref(settings)
    assert ref is not None
    found = data.facts(ref)
    assert found is not None and found.victims == len(ROWS)
    with Store(store_path).read():  # the page's process still holds a connection
        build_store(tmp_path, MORE_ROWS)
        new_ref = data.store_ref(settings)
        assert new_ref is not None and new_ref != ref
        found = data.facts(new_ref)
        assert found is not None and found.victims == len(MORE_ROWS)


# --- B: a copy that fails half-way (disk full) cleans up after itself ------------------


@pytest.fixture
def reader_keeps_store_open(store_path, monkeypatch) -> Iterator[None]:
    """A reader holds the store, so a write goes to a private copy (after a short wait)."""
    monkeypatch.setattr(store_module, "WRITE_WAIT_SECONDS", 0.05)
    with Store(store_path).read():
        yield


@pytest.fixture
def disk_fills_during_copy(monkeypatch) -> list[Path]:
    """`shutil.copyfile` writes half of the store, then the disk is full."""
    written: list[Path] = []

    def half_then_enospc(src, dst, *args, **kwargs):
        data = Path(src).read_bytes()
        Path(dst).write_bytes(data[: len(data) // 2])
        written.append(Path(dst))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    monkeypatch.setattr(shutil, "copyfile", half_then_enospc)
    return written


def test_a_disk_full_during_the_copy_leaves_the_old_store_and_no_copy(
    store_path, reader_keeps_store_open, disk_fills_during_copy
) -> None:
    before = fingerprint(store_path)
    with pytest.raises(StoreError) as caught, Store(store_path).write() as con:
        con.execute("DELETE FROM victims")
    assert disk_fills_during_copy  # the fault was hit: a partial copy existed
    message = str(caught.value)
    assert "\n" not in message
    assert "not enough free space" in message and str(store_path) in message
    assert "No space left on device" in message
    assert fingerprint(store_path) == before
    assert leftovers(store_path) == []


def test_the_cli_reports_a_full_disk_in_one_line(
    tmp_path, store_path, disk_fills_during_copy, capsys
) -> None:
    before = fingerprint(store_path)
    capsys.readouterr()
    assert main(sync_argv(tmp_path)) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: not enough free space") and str(store_path) in err
    assert fingerprint(store_path) == before
    assert leftovers(store_path) == []


def test_a_failed_replace_is_a_store_error_too(
    store_path, reader_keeps_store_open, monkeypatch
) -> None:
    before = fingerprint(store_path)

    def replace_fails(src, dst):
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(dst))

    monkeypatch.setattr(os, "replace", replace_fails)
    with (
        pytest.raises(
            StoreError, match=re.escape(f"could not write the store {store_path} (")
        ) as caught,
        Store(store_path).write() as con,
    ):
        con.execute("DELETE FROM victims")
    assert "the store is unchanged): [Errno 5] Input/output error" in str(caught.value)
    assert fingerprint(store_path) == before
    assert leftovers(store_path) == []


# --- C: free space is checked before anything is written -------------------------------


def test_space_needed_is_modest() -> None:
    mb = 1_000_000
    assert store_module.space_needed(0) == 64 * mb
    assert store_module.space_needed(500 * mb) == (2 * 500 + 64) * mb  # not ~5x any more


@pytest.fixture
def little_free_space(monkeypatch, store_path) -> int:
    """The disk holding the store has 1 MB less free than a sync needs."""
    needed = store_module.space_needed(store_path.stat().st_size)
    real = shutil.disk_usage

    def usage(path):
        found = real(path)
        return found._replace(free=needed - 1_000_000)

    monkeypatch.setattr(shutil, "disk_usage", usage)
    copies: list[str] = []
    monkeypatch.setattr(shutil, "copyfile", lambda *a, **k: copies.append("copied"))
    return needed


def test_a_sync_without_enough_free_space_is_refused_before_writing(
    tmp_path, store_path, little_free_space
) -> None:
    before = fingerprint(store_path), store_path.stat().st_mtime_ns
    with pytest.raises(StoreError) as caught, Store(store_path).write():
        pytest.fail("the write started")
    message = str(caught.value)
    assert "\n" not in message
    assert str(store_path.parent) in message
    needed_mb = f"{little_free_space / 1e6:,.0f} MB"
    free_mb = f"{(little_free_space - 1_000_000) / 1e6:,.0f} MB"
    assert f"needs {needed_mb}" in message and f"{free_mb} free" in message
    assert (fingerprint(store_path), store_path.stat().st_mtime_ns) == before
    assert leftovers(store_path) == []


def test_the_cli_refuses_a_sync_without_enough_free_space(
    tmp_path, store_path, little_free_space, capsys
) -> None:
    before = fingerprint(store_path)
    capsys.readouterr()
    assert main(sync_argv(tmp_path)) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: not enough free space") and "needs" in err
    assert fingerprint(store_path) == before
    assert leftovers(store_path) == []


# --- D: a sync writes the live file in place, costing what it changes -------------------


def victims_only_argv(data: Path, victims: list[Path]) -> list[str]:
    """`sync` of victims files alone: the stored layers stay, so the write is in place."""
    return ["sync", "--data-dir", str(data), "--victims", *map(str, victims)]


def write_rows(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame.from_records(rows).drop(columns="location").to_csv(path, index=False)
    return path


def daily_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("SELECT * FROM daily_counts ORDER BY ALL").df()


#: ROWS revised: a victim gone, a victim moved to another day (the first of its incident
#: before), one moved to another beat, one died, one that joins another incident, two new.
REVISED = [
    *(r for r in ROWS if r[":id"] != "row-00003"),
    *(row(i, f"2025-03-{20 + i:02d}T09:00:00", IN_0111) for i in (20, 21)),
]
_changes = {
    0: {"date": "2025-02-02T09:00:00"},
    4: {"latitude": str(IN_0111[0]), "longitude": str(IN_0111[1])},
    6: {"victimization_primary": "HOMICIDE"},
    8: {"case_number": "JJ100004"},  # joins row 9's incident
}
for _i, _fields in _changes.items():
    _at = next(n for n, r in enumerate(REVISED) if r[":id"] == f"row-{_i:05d}")
    REVISED[_at] = {**REVISED[_at], **_fields, ":updated_at": "2026-02-01T00:00:00.000Z"}


def test_an_in_place_sync_recounts_only_touched_days_and_equals_a_full_recount(
    tmp_path, store_path
) -> None:
    inode = store_path.stat().st_ino
    with Store(store_path).read() as con:
        old = daily_counts(con)
    csv = write_rows(tmp_path / "revised.csv", REVISED)
    assert main([*victims_only_argv(store_path.parent, [csv]), "--allow-shrink"]) == 0
    assert store_path.stat().st_ino == inode  # written in place, not swapped
    with Store(store_path).read() as con:
        refreshed = daily_counts(con)
    copy = tmp_path / "recount.duckdb"
    shutil.copyfile(store_path, copy)
    with Store(copy).write() as con:  # the whole recount, on the same victims
        counts.rebuild_daily_counts(con)
        recounted = daily_counts(con)
    assert not refreshed.equals(old)  # the revision moved counts
    assert_frame_equal(refreshed, recounted)


def test_a_reader_during_the_write_waits_for_it_or_is_told_to_retry(
    store_path, monkeypatch
) -> None:
    store = Store(store_path)
    seen: list[int] = []
    with store.write() as con:
        con.execute("DELETE FROM victims WHERE unique_id = (SELECT min(unique_id) FROM victims)")
        monkeypatch.setattr(store_module, "READ_WAIT_SECONDS", 0.1)
        with pytest.raises(StoreError, match="is being updated by a sync; try again"):
            store.read().__enter__()
        monkeypatch.setattr(store_module, "READ_WAIT_SECONDS", 30.0)
        reader = threading.Thread(target=lambda: seen.append(fingerprint(store_path)[0]))
        reader.start()
        time.sleep(0.3)
        assert not seen  # waiting: never the half-written store
    reader.join(timeout=30)
    assert seen == [len(ROWS) - 1]  # the write, whole


def test_a_page_that_has_gone_idle_lets_a_sync_write_in_place(store_path, tmp_path) -> None:
    shared = SharedReader(store_path, idle_seconds=0.05)
    with shared.connection() as con:
        assert con.execute("SELECT count(*) FROM victims").fetchone() == (len(ROWS),)
    deadline = time.monotonic() + 5
    while shared.is_open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not shared.is_open, "the idle page kept the store file"
    inode = store_path.stat().st_ino
    csv = write_rows(tmp_path / "more.csv", MORE_ROWS)
    assert main(victims_only_argv(store_path.parent, [csv])) == 0
    assert store_path.stat().st_ino == inode  # in place: the page did not force a copy
    with shared.connection() as con:  # and the page reopens on its next query
        assert con.execute("SELECT count(*) FROM victims").fetchone() == (len(MORE_ROWS),)
    shared.close()


def test_a_page_in_use_keeps_its_connection_past_the_idle_time(
    store_path, tmp_path, monkeypatch
) -> None:
    shared = SharedReader(store_path, idle_seconds=0.01)
    monkeypatch.setattr(store_module, "WRITE_WAIT_SECONDS", 0.05)
    inode = store_path.stat().st_ino
    with shared.connection() as con:
        time.sleep(0.1)
        assert shared.is_open
        csv = write_rows(tmp_path / "more.csv", MORE_ROWS)
        assert main(victims_only_argv(store_path.parent, [csv])) == 0
        # The sync could not wait for the page: it wrote a copy, the page still reads the old.
        assert store_path.stat().st_ino != inode
        assert con.execute("SELECT count(*) FROM victims").fetchone() == (len(ROWS),)
    shared.close()
    assert not shared.is_open


def test_the_idle_time_counts_from_the_last_query(store_path) -> None:
    """One timer serves many queries: a query shortly before it fires keeps the file
    open for a whole idle time after that query, then it is let go."""
    shared = SharedReader(store_path, idle_seconds=1.0)
    with shared.connection():
        pass
    time.sleep(0.6)
    with shared.connection():  # the first timer still runs
        pass
    time.sleep(0.6)  # the first timer has fired; the second query's is 0.4 s away
    assert shared.is_open, "let go of the file 0.6 s after its last query"
    deadline = time.monotonic() + 5
    while shared.is_open and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not shared.is_open
    shared.close()


KILLED_WRITE = """
import sys, time
from pathlib import Path
from pipeline.store import Store
with Store(Path(sys.argv[1])).write() as con:
    con.execute("DELETE FROM victims")
    con.execute("DELETE FROM daily_counts")
    print("applying", flush=True)
    time.sleep(60)
"""


def test_a_kill_during_the_write_in_place_leaves_the_old_store(store_path) -> None:
    before = fingerprint(store_path)
    inode = store_path.stat().st_ino
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITE, str(store_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "applying"
    writer.kill()
    writer.wait()
    assert store_path.stat().st_ino == inode  # it was writing the live file
    assert fingerprint(store_path) == before
    with Store(store_path).write() as con:  # and the next sync can write it
        con.execute("DELETE FROM victims WHERE false")
    assert fingerprint(store_path) == before


def written_bytes() -> int:
    """Bytes this process has handed to write(2) so far (every thread, Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


@needs_snapshot
def test_a_small_sync_of_the_real_snapshot_writes_a_small_part_of_the_store(
    tmp_path, monkeypatch
) -> None:
    data = sync_real_snapshot(tmp_path / "data")
    path = data / STORE
    inode, size = path.stat().st_ino, path.stat().st_size
    before = written_bytes()
    assert main(victims_only_argv(data, [SAMPLE_DIR, RECONSTRUCTED])) == 0  # changes nothing
    assert written_bytes() - before < size / 4, "a no-op sync rewrote the store"
    assert path.stat().st_ino == inode
    first, *others = sorted(SAMPLE_DIR.glob("*.csv"))
    revised = pd.read_csv(first, dtype=str).iloc[20:]  # 20 victims withdrawn upstream
    victims = [write_rows_frame(tmp_path / first.name, revised), *others, RECONSTRUCTED]
    shutil.copytree(data, tmp_path / "copied")
    in_place = bytes_of_sync(data, victims)
    assert path.stat().st_ino == inode
    monkeypatch.setattr(store_module, "WRITE_WAIT_SECONDS", 0.0)
    with Store(tmp_path / "copied" / STORE).read():  # a reader forces the copy of old
        copied = bytes_of_sync(tmp_path / "copied", victims)
    # The same write, less the copy: tables rebuilt whole on any change (Outreach's, the
    # map classes) and DuckDB's WAL are what remain.
    assert in_place < copied - size / 2
    with Store(path).read() as con:
        removed = con.execute(
            "SELECT rows_removed FROM sync_log WHERE dataset = 'victims' ORDER BY sync_id DESC"
        ).fetchall()[0][0]
    assert removed == 20


def bytes_of_sync(data: Path, victims: list[Path]) -> int:
    before = written_bytes()
    assert main(victims_only_argv(data, victims)) == 0
    return written_bytes() - before


def write_rows_frame(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path
