"""Local exports: victims as CSV (API-shaped or the portal's upper-case export,
plain or gzipped) or API JSON; boundaries as GeoJSON. A folder stands for the
victims files inside it.

CSV files are streamed in blocks of text (`BLOCK_BYTES`), so memory stays bounded
whatever the file's size and each block can be checked and placed while the next
one is read; `bytes_read` tells how far the read is, for the progress bar.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import queue
import threading
import zlib
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from pipeline.errors import InputFileError
from pipeline.schema import RawPage, RawRows, check_source_columns

T = TypeVar("T")

VICTIM_SUFFIXES = (".csv", ".csv.gz", ".json", ".json.gz")

#: Uncompressed CSV text per page: about 120,000 rows of the API shape. Large enough
#: that per-page costs vanish, small enough that a page is ~0.5 s of work (progress).
BLOCK_BYTES = 32 << 20
#: Arrow's CSV reader on one thread: the sync already runs the read beside the placing,
#: and its own threads cost 1.8x the CPU for the same page on two cores.
ONE_THREAD = pacsv.ReadOptions(use_threads=False)
#: JSON files are one document: read whole, then handed on in pages of this many rows.
JSON_PAGE_ROWS = 100_000


def expand_paths(paths: Sequence[Path | str]) -> list[Path]:
    """Files named, plus the victims files inside folders named (sorted); error if none."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.name.lower().endswith(VICTIM_SUFFIXES))
            if not found:
                raise InputFileError(f"folder {path} holds no {'/'.join(VICTIM_SUFFIXES)} file")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputFileError(f"no such file or folder: {path}")
    return files


class FileVictims:
    """Victim rows from local files; always a full snapshot, so never incremental.
    Each file must carry every known column but `optional` ones: a file is a whole
    read of its own, so a column missing from it is drift even if another has it.
    Files can be read again (`rereadable`): the sync does so only for the few rows
    it must quarantine after the read (a duplicate id found in a later page)."""

    incremental = False
    rereadable = True

    def __init__(
        self,
        paths: Sequence[Path | str],
        optional: tuple[str, ...] = (),
        block_bytes: int | None = None,  # default BLOCK_BYTES
    ):
        self.files = expand_paths(paths)
        self.description = "file:" + ",".join(str(Path(p).resolve()) for p in paths)
        self.optional_columns = optional
        self.block_bytes = block_bytes or BLOCK_BYTES
        #: Bytes of the files (as stored, compressed or not) read so far, and in all.
        self.bytes_read = 0
        self.total_bytes = sum(path.stat().st_size for path in self.files)

    def declared_columns(self) -> frozenset[str]:
        return frozenset()  # each file's header is checked as it is read

    def count(self, since: str | None = None) -> int | None:
        return None  # unknown until read: counting would read every file twice

    def pages(self, since: str | None = None, expected: int | None = None) -> Iterator[RawPage]:
        self.bytes_read = 0
        done = 0
        for path in self.files:
            yield from self._checked_pages(path)
            done += path.stat().st_size
            self.bytes_read = done

    def _checked_pages(self, path: Path) -> Iterator[RawPage]:
        rows = 0
        base = self.bytes_read
        for page, offset in read_victims_pages(path, self.block_bytes):
            if not len(page):
                continue  # a header-only file gives one empty page
            if not rows:  # the header, before any row of the file is used
                raw = RawRows.of(page)
                check_source_columns(raw.columns, str(path), 0, self.optional_columns, header=True)
            rows += len(page)
            self.bytes_read = base + offset
            yield page
        if not rows:
            raise InputFileError(f"{path} holds no rows (only a header?)")


def read_victims_pages(path: Path, block_bytes: int) -> Iterator[tuple[RawPage, int]]:
    """Pages of raw rows with the bytes of the file read so far. CSV as frames of text
    (blanks NA), JSON as the API's list of rows; headers untouched (schema normalises
    them). A header-only CSV gives one empty page. Any unreadable file is one
    InputFileError naming it."""
    name = path.name.lower()
    try:
        if name.endswith((".csv", ".csv.gz")):
            yield from read_ahead(_csv_pages(path, block_bytes))
            return
        if name.endswith((".json", ".json.gz")):
            rows = _read_json_rows(path)
            size = path.stat().st_size
            for start in range(0, max(len(rows), 1), JSON_PAGE_ROWS):
                yield rows[start : start + JSON_PAGE_ROWS], size
            return
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputFileError(f"{path} is cut short or not really gzip ({exc})") from exc
    except pa.ArrowInvalid as exc:
        if name.endswith(".gz") and _gzip_is_cut_short(path):
            raise InputFileError(f"{path} is cut short or not really gzip ({exc})") from exc
        if "Empty CSV file" in str(exc):
            raise InputFileError(f"{path} is empty (no header, no rows)") from exc
        raise InputFileError(f"cannot read {path}: {exc}") from exc
    except (OSError, UnicodeDecodeError, csv.Error, json.JSONDecodeError) as exc:
        if name.endswith(".gz") and _gzip_is_cut_short(path):
            raise InputFileError(f"{path} is cut short or not really gzip ({exc})") from exc
        raise InputFileError(f"cannot read {path}: {exc}") from exc
    raise InputFileError(f"{path}: expected one of {', '.join(VICTIM_SUFFIXES)}")


def read_ahead(items: Iterator[T]) -> Generator[T, None, None]:
    """`items`, each made in a background thread while the one before is used: the next
    block is decompressed and split by Arrow (C code that lets go of the interpreter
    lock) while this page is typed and placed. One item ahead at most, so memory grows
    by one page. An error is raised here, after the items made before it; closing
    this generator stops the thread."""
    handed: queue.Queue[tuple[T | None, BaseException | None, bool]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand(item: T | None, error: BaseException | None = None, last: bool = False) -> bool:
        while not stop.is_set():
            try:
                handed.put((item, error, last), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        try:
            for item in items:
                if not hand(item):
                    return
            hand(None, last=True)
        except BaseException as exc:  # handed over to be raised where the items are used
            hand(None, exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # closes the file when the reader is left early

    worker = threading.Thread(target=make, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, error, last = handed.get()
            if error is not None:
                raise error
            if last:
                return
            yield cast(T, item)
    finally:
        stop.set()
        worker.join()


def _csv_pages(path: Path, block_bytes: int) -> Iterator[tuple[pd.DataFrame, int]]:
    """The file cut at line ends into blocks of about `block_bytes` of text, each parsed by
    Arrow's reader, every column as text (only blank is NA, as the portal writes no
    other null marker). Cut here, not by Arrow's streaming reader: that one reads ahead
    as fast as it can decompress, so a page that takes longer to check than to read
    left the whole file in memory. Values never hold a line break (as Arrow assumes)."""
    header = _header(path)
    if header is None:
        raise InputFileError(f"{path} is empty (no header, no rows)")
    # Large strings, as pandas holds them: a page then becomes a frame without a copy.
    options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(header, pa.large_string()),
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    with open(path, "rb") as raw:
        text = gzip.GzipFile(fileobj=raw) if _gzipped(path) else raw
        # The header parsed once by Arrow (its names, its empty table for a header-only
        # file); blocks are then parsed where they lie under those names, not copied.
        empty = pacsv.read_csv(
            pa.py_buffer(text.readline()), read_options=ONE_THREAD, convert_options=options
        )
        in_blocks = pacsv.ReadOptions(use_threads=False, column_names=empty.column_names)
        pages = 0
        for lines in _line_blocks(text, block_bytes):
            pages += 1
            table = pacsv.read_csv(
                pa.py_buffer(lines), read_options=in_blocks, convert_options=options
            )
            yield _text_frame(table), raw.tell()
        if not pages:  # a header-only file gives one empty page
            yield _text_frame(empty), raw.tell()


def _line_blocks(text: io.BufferedIOBase, block_bytes: int) -> Iterator[memoryview]:
    """`text` in blocks of whole lines of about `block_bytes` (the last line may lack its
    end), read into one buffer used again for every block: a new 32 MB bytes object a
    block cost the kernel a page fault for every 4 kB of it. A block is overwritten by
    the next, so it must be parsed before the next is asked for (Arrow copies values)."""
    buffer, kept = bytearray(block_bytes), 0
    while True:
        if kept == len(buffer):  # a line longer than a block: more room for its end
            buffer = buffer + bytearray(block_bytes)
        view = memoryview(buffer)
        read = text.readinto(view[kept:])
        end = kept + read
        cut = end if not read else buffer.rfind(b"\n", 0, end) + 1
        if cut:
            yield view[:cut]
        if not read:
            return
        buffer[: end - cut] = buffer[cut:end]  # the start of the next line
        kept = end - cut


def _gzipped(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _text_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=lambda _: pd.StringDtype("pyarrow"))


def _header(path: Path) -> list[str] | None:
    """The CSV's column names, or None for a file with no header at all."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle), None)


def _gzip_is_cut_short(path: Path) -> bool:
    try:
        with gzip.open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError):
        return True
    return False


def _read_json_rows(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        rows = json.load(handle)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputFileError(f"{path}: expected a JSON list of row objects, as the API serves")
    return rows


class GeoJSONFile:
    """A boundary layer from a GeoJSON file."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.description = f"file:{self.path.resolve()}"

    def feature_collection(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputFileError(f"cannot read GeoJSON {self.path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
            raise InputFileError(f"{self.path}: expected a GeoJSON FeatureCollection")
        return data
