"""The store under faults: a swap under an open reader, a full disk, too little free space."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipeline import store as store_module
from pipeline.cli import main
from pipeline.errors import StoreError
from pipeline.settings import Settings
from pipeline.store import Store
from tests.conftest import IN_0111, ROWS, build_store, layer_flags, row, tiny_layers

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
    store_path, disk_fills_during_copy
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


def test_a_failed_replace_is_a_store_error_too(store_path, monkeypatch) -> None:
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
