"""The one place where raw source rows become typed, validated victim records.

`validate_victims(raw)` takes the rows exactly as a source gave them (API JSON
rows as dicts, or a frame of text from an API-shaped CSV or the portal's
upper-case CSV export) and returns the canonical table, the quarantined rows with their reasons, and
a count per broken rule. Every input row ends in exactly one of the two
tables. Homicide victims' names are dropped before anything else happens, so
they cannot leak into either table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import SchemaDriftError
from pipeline.settings import CHICAGO_BBOX, VICTIMS_EARLIEST_DATE

#: Canonical victims columns, in store order. Times are floating Chicago local
#: time (no zone), as the city publishes them; coordinates are WGS84 degrees.
VICTIM_COLUMNS: dict[str, str] = {
    "unique_id": "VARCHAR",  # `unique_id` in exports, `cpd_id` in today's API
    "case_number": "VARCHAR",  # one incident; several victims can share it
    "occurred_at": "TIMESTAMP",  # Chicago local wall time
    "block": "VARCHAR",  # block-level address as published, e.g. '5100 S DAMEN AVE'
    "victimization_primary": "VARCHAR",
    "incident_primary": "VARCHAR",
    "gunshot": "BOOLEAN",  # gunshot_injury_i = 'YES'
    "fatal": "BOOLEAN",  # victimization_primary = 'HOMICIDE'
    "district": "VARCHAR",  # recorded police district, no zero padding: '8', '17'
    "beat": "VARCHAR",  # recorded beat, 4 characters: '0111', '1713'
    "community_area": "VARCHAR",  # recorded community area name, upper case
    "ward": "INTEGER",
    "age_band": "VARCHAR",
    "sex": "VARCHAR",
    "race": "VARCHAR",
    "location_description": "VARCHAR",
    "latitude": "DOUBLE",
    "longitude": "DOUBLE",
    "source_updated_at": "TIMESTAMP",  # :updated_at (UTC) from the API, else the `updated` column
}

QUARANTINE_COLUMNS: dict[str, str] = {
    "unique_id": "VARCHAR",  # NULL when the row had none
    "reasons": "VARCHAR",  # every broken rule, '; '-separated
    "raw": "VARCHAR",  # the row as received (JSON), names removed
}

#: The source column(s) each canonical field is read from (names normalised); where
#: there are several, the first with a value in a row wins. `fatal` is derived.
SOURCE_NAMES: dict[str, tuple[str, ...]] = {
    "unique_id": ("unique_id", "cpd_id"),
    "occurred_at": ("date",),
    "gunshot": ("gunshot_injury_i",),
    "age_band": ("age",),
    "source_updated_at": (":updated_at", "updated"),
    **{
        name: (name,)
        for name in (
            "case_number",
            "block",
            "victimization_primary",
            "incident_primary",
            "district",
            "beat",
            "community_area",
            "ward",
            "sex",
            "race",
            "location_description",
            "latitude",
            "longitude",
        )
    },
}
SOURCE_COLUMNS = tuple(dict.fromkeys(c for names in SOURCE_NAMES.values() for c in names))

#: What may be kept of a row as received (in `quarantine.raw`): the columns the
#: schema knows and the portal's row id. An allowlist, so a column added or
#: renamed upstream (a victim's name under a new header) can never be stored.
RAW_KEPT_COLUMNS = frozenset(SOURCE_COLUMNS) | {":id"}

#: Columns every victims source must have; without them nothing can be validated.
REQUIRED_SOURCE_COLUMNS = (("unique_id", "cpd_id"), ("date",))
#: Socrata's JSON leaves out a row's null fields, so a small incremental read can
#: lack a column that is merely empty there: the other known columns are only
#: required once a read has `DRIFT_MIN_ROWS` rows (or a header, as files do),
#: where a column absent from every row means it was renamed or dropped.
DRIFT_MIN_ROWS = 50
#: A column with at least this many values, none of which parses, changed type
#: upstream (a flag became a boolean, dates became epoch milliseconds): that is
#: schema drift, not thousands of bad rows.
DRIFT_MIN_VALUES = 20

CHICAGO = ZoneInfo("America/Chicago")

NAME_COLUMN_PREFIXES = ("homicide_victim_",)

EXPORT_DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"  # the portal's CSV export: 01/31/2020 11:05:00 PM

RULE_MISSING_ID = "missing id"
RULE_MISSING_CASE = "missing case number"
RULE_BAD_DATE = "missing or unparseable date"
RULE_MISSING_COORDS = "missing coordinates"
RULE_BAD_NUMBER = "bad number"
RULE_OUTSIDE = "coordinates outside Chicago"
RULE_BAD_FLAG = "gunshot flag not YES/NO"
RULE_SUPERSEDED = "duplicate id, superseded by a later update"
RULE_FUTURE_DATE = "date after tomorrow (Chicago time)"
RULE_TOO_EARLY = f"date before the dataset starts ({VICTIMS_EARLIEST_DATE:%Y})"


@dataclass(frozen=True)
class DateWindow:
    """Incident dates a record may plausibly have: from the dataset's start to the end
    of tomorrow in Chicago (a day of slack for clocks and late-evening records)."""

    earliest: datetime
    latest: datetime  # exclusive

    @classmethod
    def ending_after(cls, today: date) -> DateWindow:
        start = datetime.combine(VICTIMS_EARLIEST_DATE, datetime.min.time())
        return cls(start, datetime.combine(today + timedelta(days=2), datetime.min.time()))

    @classmethod
    def now(cls) -> DateWindow:
        return cls.ending_after(datetime.now(CHICAGO).date())


@dataclass
class Validated:
    """Result of `validate_victims`: clean rows, rejected rows, and rows per broken rule."""

    victims: pd.DataFrame
    quarantine: pd.DataFrame
    rule_counts: dict[str, int] = field(default_factory=dict)
    #: Position of each `victims` row among all rows read (pages in order).
    kept: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    #: Source columns the schema does not know: read past, never stored.
    ignored_columns: list[str] = field(default_factory=list)


#: A page of raw rows as a source gives it: API JSON rows, or a frame of CSV text.
RawPage = pd.DataFrame | list[dict[str, Any]]


def normalize_name(column: object) -> str:
    """`UNIQUE_ID` -> `unique_id`: exports and the API differ only in case and spaces."""
    return str(column).strip().lower().replace(" ", "_")


def is_name_column(column: str) -> bool:
    return column.startswith(NAME_COLUMN_PREFIXES)


def check_source_columns(
    columns: Iterable[str],
    dataset: str,
    rows: int = DRIFT_MIN_ROWS,
    optional: Iterable[str] = (),
    header: bool = False,
) -> None:  # `header`: the columns come from a file's header, so even empty ones count
    """Raise `SchemaDriftError` naming every known column absent from a whole read
    (names normalised), except those marked `optional` for this source. A read with
    a header (a file), or of `DRIFT_MIN_ROWS` rows or more, must have them all."""
    present, allowed = set(columns), set(optional)
    required = (
        [names for names in SOURCE_NAMES.values() if not allowed & set(names)]
        if header or rows >= DRIFT_MIN_ROWS
        else list(REQUIRED_SOURCE_COLUMNS)
    )
    missing = [" or ".join(alts) for alts in required if not present & set(alts)]
    if missing:
        raise SchemaDriftError(
            f"{dataset}: source is missing column(s) {', '.join(repr(m) for m in missing)} "
            f"(received {len(present)} columns: {', '.join(sorted(present)[:12])}"
            f"{', ...' if len(present) > 12 else ''}). The source's schema changed: "
            "map the new name in pipeline/schema.py, or if the source really lacks it, "
            "pass --optional-column NAME."
        )


def known_columns(columns: Iterable[str]) -> set[str]:
    """The columns (normalised) that the schema reads or that are system fields."""
    return {c for c in columns if c in RAW_KEPT_COLUMNS or c.startswith(":")}


class RawRows:
    """One raw page behind one reading interface, victims' names already out of reach:
    normalised column names, a column as text, and whole rows for the quarantine."""

    columns: frozenset[str]

    @staticmethod
    def of(page: RawPage) -> RawRows:
        return _FrameRows(page) if isinstance(page, pd.DataFrame) else _RecordRows(page)

    def __len__(self) -> int:
        raise NotImplementedError

    def text(self, column: str) -> pd.Series | None:
        """The column as strings (NA where absent), or None if no row has it."""
        raise NotImplementedError

    def rows(self, positions: np.ndarray) -> list[dict[str, Any]]:
        """The rows at `positions`, as received but only in the columns the schema knows
        (`RAW_KEPT_COLUMNS`), so no name or unknown column leaves here."""
        raise NotImplementedError


class _FrameRows(RawRows):
    """A frame of text, as read from CSV."""

    def __init__(self, frame: pd.DataFrame):
        frame = frame.rename(columns=normalize_name).reset_index(drop=True)
        self.frame = frame.drop(columns=[c for c in frame.columns if is_name_column(c)])
        self.columns = frozenset(frame.columns)

    def __len__(self) -> int:
        return len(self.frame)

    def text(self, column: str) -> pd.Series | None:
        if column not in self.frame.columns:
            return None
        values = self.frame[column]
        # Files are read as Arrow-backed strings already: converting would copy them out.
        return values if isinstance(values.dtype, pd.StringDtype) else values.astype("string")

    def rows(self, positions: np.ndarray) -> list[dict[str, Any]]:
        kept = [c for c in self.frame.columns if c in RAW_KEPT_COLUMNS]
        chosen = self.frame.iloc[positions][kept].astype(object)
        return chosen.where(chosen.notna(), None).to_dict(orient="records")  # type: ignore[return-value]


class _RecordRows(RawRows):
    """API JSON rows. The columns the schema reads (`SOURCE_COLUMNS`) are taken from the
    dicts in one pass, each row's values while it is in the CPU cache, then become Arrow
    strings. A pass per column, or a frame of every column, cost 1.5-2x as much."""

    def __init__(self, records: list[dict[str, Any]]):
        self.records = records
        keys: dict[str, str] = {}
        for key in set().union(*records) if records else ():
            keys.setdefault(normalize_name(key), key)
        self.columns = frozenset(keys)
        self.keys = {n: k for n, k in sorted(keys.items()) if not is_name_column(n)}
        read = [self.keys[c] for c in SOURCE_COLUMNS if c in self.keys]
        rows = [tuple(map(row.get, read)) for row in records]
        columns = zip(*rows, strict=True)  # nothing at all when there are no rows
        # Lists, not the tuples zip gives: pyarrow reads a tuple of strings half as fast.
        self.values: dict[str, list[Any]] = {
            key: list(values) for key, values in zip(read, columns, strict=False)
        }

    def __len__(self) -> int:
        return len(self.records)

    def text(self, column: str) -> pd.Series | None:
        key = self.keys.get(column)
        if key is None:
            return None
        values = self.values.get(key) or [r.get(key) for r in self.records]
        try:
            strings = pa.array(values, type=pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # a number or object where text was due
            strings = pa.array([_as_text(v) for v in values], type=pa.string())
        return pd.Series(pd.arrays.ArrowStringArray(strings))

    def rows(self, positions: np.ndarray) -> list[dict[str, Any]]:
        kept = {n: k for n, k in self.keys.items() if n in RAW_KEPT_COLUMNS}
        return [
            {n: self.records[i][k] for n, k in kept.items() if k in self.records[i]}
            for i in positions
        ]


def _as_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


@dataclass
class Readability:
    """How many values of one source column were present, and how many of those did
    not parse, with one that did not (for the drift message)."""

    present: int = 0
    unreadable: int = 0
    example: str | None = None

    def __add__(self, other: Readability) -> Readability:
        return Readability(
            self.present + other.present,
            self.unreadable + other.unreadable,
            self.example or other.example,
        )


@dataclass
class ParsedPage:
    """One page typed and checked row by row; duplicates are settled across pages later."""

    raw: RawRows
    typed: pd.DataFrame
    broken: dict[str, pd.Series]
    #: The largest `:updated_at` exactly as the source wrote it (ISO strings sort in time).
    latest_update: str | None
    readability: dict[str, Readability] = field(default_factory=dict)

    def points_in_city(self) -> pd.DataFrame:
        """The typed rows with coordinates outside Chicago blanked, for placement: such a
        row is quarantined, and one impossible point (latitude 999, state-plane feet)
        must not stop the placement of every other row."""
        outside = self.broken[RULE_OUTSIDE]
        if not outside.any():
            return self.typed
        return self.typed.assign(
            latitude=self.typed["latitude"].mask(outside),
            longitude=self.typed["longitude"].mask(outside),
        )


def parse_page(page: RawPage, dates: DateWindow | None = None) -> ParsedPage:
    """Type one page of raw rows (any source shape) and flag every broken rule;
    incident dates outside `dates` (default: the dataset's start to tomorrow) too."""
    raw = RawRows.of(page)
    typed, broken, readability = _parse(raw, dates or DateWindow.now())
    stamps = raw.text(":updated_at")
    latest = stamps.max() if stamps is not None and stamps.notna().any() else None
    return ParsedPage(raw, typed, broken, None if latest is None else str(latest), readability)


def combine_pages(
    pages: list[ParsedPage],
    dataset: str = "victims",
    optional: Iterable[str] = (),
    declared: Iterable[str] = (),
) -> Validated:
    """Check the columns of the whole read, settle duplicate ids, split good from bad.
    `declared` is the source's own list of its columns, if it gives one: then every
    known column must be in it, whatever the size of the read. (A file's header is
    checked by its source, which knows the file's optional columns.)"""
    pages = [p for p in pages if len(p.raw)]
    if not pages:
        return Validated(_empty(VICTIM_COLUMNS), _empty(QUARANTINE_COLUMNS), {})
    declared = {normalize_name(c) for c in declared}
    columns = set().union(*(p.raw.columns for p in pages)) | declared
    rows = sum(len(p.raw) for p in pages)
    check_source_columns(columns, dataset, rows, optional, header=bool(declared))
    check_readable(pages, dataset)
    typed = pd.concat([p.typed for p in pages], ignore_index=True)
    broken = {
        rule: pd.concat([p.broken[rule] for p in pages], ignore_index=True)
        for rule in pages[0].broken
    }
    broken[RULE_SUPERSEDED] = _superseded(typed)
    reasons = reasons_of(broken)
    bad = reasons.notna()
    victims = typed.loc[~bad, list(VICTIM_COLUMNS)].reset_index(drop=True)
    quarantine = pd.DataFrame(
        {
            "unique_id": typed.loc[bad, "unique_id"],
            "reasons": reasons[bad],
            "raw": pd.Series(
                _raw_json(pages, bad.to_numpy()), index=typed.index[bad], dtype="string"
            ),
        }
    ).reset_index(drop=True)
    counts = {rule: int(mask.sum()) for rule, mask in broken.items() if mask.any()}
    ignored = sorted(columns - known_columns(columns))
    return Validated(victims, quarantine, counts, np.flatnonzero(~bad.to_numpy()), ignored)


def check_readable(pages: list[ParsedPage], dataset: str) -> None:
    """Raise `SchemaDriftError` naming every column whose values, though present, none
    parse (at least `DRIFT_MIN_VALUES` of them): its type changed upstream."""
    totals: dict[str, Readability] = {}
    for page in pages:
        for column, seen in page.readability.items():
            totals[column] = totals.get(column, Readability()) + seen
    check_readable_totals(totals, dataset)


def check_readable_totals(totals: dict[str, Readability], dataset: str) -> None:
    """`check_readable` on readability already summed over a read's pages."""
    changed = [
        f"{column!r} ({seen.unreadable:,} of {seen.present:,} values unreadable, "
        f"e.g. {seen.example!r})"
        for column, seen in totals.items()
        if seen.present >= DRIFT_MIN_VALUES and seen.unreadable == seen.present
    ]
    if changed:
        raise SchemaDriftError(
            f"{dataset}: no value of column(s) {'; '.join(changed)} can be read any more. "
            "The source changed the column's type or format: update pipeline/schema.py. "
            "Nothing was changed in the store."
        )


def validate_victims(
    raw: RawPage, dataset: str = "victims", dates: DateWindow | None = None
) -> Validated:
    """Type and check raw victim rows; see the module docstring."""
    return combine_pages([parse_page(raw, dates)], dataset)


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


#: Values that stand for "no value" once stripped.
BLANK_TEXTS = pa.array(["", "nan", "None", "NaN"])


def _text(raw: RawRows, *names: str) -> pd.Series:
    """Stripped strings from the first of `names` that has a value in each row; blanks are NA.

    Coalescing matters when files of two vintages are read together: older
    exports call the id `unique_id`, today's API `cpd_id`.
    """
    result: pa.ChunkedArray | pa.Array | None = None
    label = None  # the name of the first column found, as pandas' fillna kept it
    for name in names:
        col = raw.text(name)
        if col is not None:
            label = col.name if result is None else label
            # In Arrow, as pandas' str.strip/isin/mask/fillna would, without their copies.
            text = pc.utf8_trim_whitespace(pa.array(col.array))
            text = pc.if_else(pc.is_in(text, value_set=BLANK_TEXTS), None, text)
            result = text if result is None else pc.coalesce(result, text)
    return (
        pd.Series(pd.NA, index=pd.RangeIndex(len(raw)), dtype="string")
        if result is None
        else pd.Series(pd.arrays.ArrowStringArray(result), name=label)
    )


def parse_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse floats; return (values, mask of present-but-unparseable)."""
    try:  # Arrow's parser is ~15x faster; it refuses the whole column if one value is bad
        parsed = pc.cast(pa.array(text.array), pa.float64()).to_numpy(zero_copy_only=False)
        values = pd.Series(parsed, index=text.index)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = pd.to_numeric(text, errors="coerce").astype("float64")
    return values, text.notna() & values.isna()


def _whole_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Integer-like codes ('08', '17.0') as Int64; return (values, mask of unreadable)."""
    values, bad = parse_numbers(text)
    # Codes are small whole numbers; 'inf' or 1e30 are typos, not districts.
    whole = values.notna() & (values.abs() < 1e9) & (values == values.round())
    return values.where(whole).astype("Int64"), bad | (values.notna() & ~whole)


def _code(text: pd.Series, width: int = 0) -> tuple[pd.Series, pd.Series]:
    """Integer-like codes ('08', '17.0') as strings ('8', '17'), zero-padded to `width`."""
    values, bad = _whole_numbers(text)
    as_int = values.astype("string")
    if width:
        as_int = as_int.str.zfill(width)
    return as_int, bad


#: A timestamp as the API and its CSV write it, without zone: Arrow reads a column of
#: these ~8x faster than pandas. Years 1900-2099 only, where both read the same instant.
PLAIN_ISO = r"^(19|20)\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?$"


def _timestamps(text: pd.Series) -> pd.Series:
    """ISO (API) or 'MM/DD/YYYY hh:mm:ss AM' (export) timestamps; zone dropped, NaT if neither."""
    plain = _plain_timestamps(text)
    return plain if plain is not None else _any_timestamps(text)


def _plain_timestamps(text: pd.Series) -> pd.Series | None:
    """The column read by Arrow when every value is a valid `PLAIN_ISO` timestamp (or
    blank), else None: one odd value sends the whole column to `_any_timestamps`."""
    values = pa.array(text.array)
    if values.null_count == len(values):
        return None
    if not pc.all(pc.match_substring_regex(values, PLAIN_ISO)).as_py():
        return None
    try:  # Arrow checks the calendar (no 31 April, no hour 24) and refuses the column
        parsed = pc.cast(values, pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pd.Series(parsed.to_numpy(zero_copy_only=False), index=text.index, name=text.name)


def _any_timestamps(text: pd.Series) -> pd.Series:
    """`_timestamps` value by value, with pandas: ISO with or without zone, or the export's."""
    iso = pd.to_datetime(
        text.where(text.str.match(r"^\d{4}-\d\d-\d\d", na=False)),
        format="ISO8601",
        errors="coerce",
        utc=True,
    ).dt.tz_localize(None)
    rest = text.notna() & iso.isna()  # only these can be in the export's format
    if rest.any():
        iso = iso.fillna(
            pd.to_datetime(text.where(rest), format=EXPORT_DATE_FORMAT, errors="coerce")
        )
    return iso.astype("datetime64[us]")


def _parse(
    raw: RawRows, dates: DateWindow
) -> tuple[pd.DataFrame, dict[str, pd.Series], dict[str, Readability]]:
    def source(field: str) -> pd.Series:
        return _text(raw, *SOURCE_NAMES[field])

    out = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    broken: dict[str, pd.Series] = {}
    readability: dict[str, Readability] = {}

    def check(column: str, text: pd.Series, unreadable: pd.Series) -> pd.Series:
        """Note how `column` parsed (for drift) and return its unreadable mask."""
        unreadable = unreadable.fillna(False).astype(bool) & text.notna()
        example = text[unreadable].iloc[0] if unreadable.any() else None
        readability[column] = Readability(int(text.notna().sum()), int(unreadable.sum()), example)
        return unreadable

    out["unique_id"] = source("unique_id")
    broken[RULE_MISSING_ID] = out["unique_id"].isna()
    out["case_number"] = source("case_number")
    broken[RULE_MISSING_CASE] = out["case_number"].isna()
    date_text = source("occurred_at")
    out["occurred_at"] = _timestamps(date_text)
    check("date", date_text, out["occurred_at"].isna())
    broken[RULE_BAD_DATE] = out["occurred_at"].isna()
    broken[RULE_FUTURE_DATE] = out["occurred_at"] >= dates.latest
    broken[RULE_TOO_EARLY] = out["occurred_at"] < dates.earliest
    out["block"] = source("block")
    for name in (
        "victimization_primary",
        "incident_primary",
        "sex",
        "race",
        "location_description",
        "community_area",
    ):
        out[name] = source(name).str.upper()
    flag = source("gunshot").str.upper()
    out["gunshot"] = flag.eq("YES").fillna(False).astype(bool)
    broken[RULE_BAD_FLAG] = ~flag.isin(["YES", "NO"]).fillna(False).astype(bool)
    check("gunshot_injury_i", flag, broken[RULE_BAD_FLAG])
    out["fatal"] = out["victimization_primary"].eq("HOMICIDE").fillna(False).astype(bool)
    bad_numbers = pd.Series(False, index=out.index)
    for name, width in (("district", 0), ("beat", 4)):
        text = source(name)
        out[name], bad = _code(text, width)
        bad_numbers |= check(name, text, bad)
    ward_text = source("ward")
    out["ward"], bad_ward = _whole_numbers(ward_text)
    bad_numbers |= check("ward", ward_text, bad_ward)
    out["age_band"] = source("age_band")
    lat_text, lon_text = source("latitude"), source("longitude")
    out["latitude"], bad_lat = parse_numbers(lat_text)
    out["longitude"], bad_lon = parse_numbers(lon_text)
    bad_numbers |= check("latitude", lat_text, bad_lat) | check("longitude", lon_text, bad_lon)
    broken[RULE_MISSING_COORDS] = lat_text.isna() | lon_text.isna()
    broken[RULE_BAD_NUMBER] = bad_numbers
    broken[RULE_OUTSIDE] = _outside_chicago(out["longitude"], out["latitude"])
    updated_text = source("source_updated_at")
    out["source_updated_at"] = _timestamps(updated_text)
    check("updated", updated_text, out["source_updated_at"].isna())
    return out, {k: v.fillna(False).astype(bool) for k, v in broken.items()}, readability


def _outside_chicago(lon: pd.Series, lat: pd.Series) -> pd.Series:
    min_lon, min_lat, max_lon, max_lat = CHICAGO_BBOX
    known = lon.notna() & lat.notna()
    inside = lon.between(min_lon, max_lon) & lat.between(min_lat, max_lat)
    return known & ~inside


def _superseded(typed: pd.DataFrame) -> pd.Series:
    """True for every row whose id appears again with a later (or equal, later-listed) update."""
    ids = typed["unique_id"]
    repeated = (ids.notna() & ids.duplicated(keep=False)).to_numpy()
    superseded = np.zeros(len(typed), dtype=bool)
    if repeated.any():  # only repeated ids need sorting (usually none)
        positions = np.flatnonzero(repeated)
        order = typed.iloc[positions][["unique_id", "source_updated_at"]].assign(_pos=positions)
        order = order.sort_values(["unique_id", "source_updated_at", "_pos"], na_position="first")
        earlier = order["unique_id"].duplicated(keep="last").to_numpy()
        superseded[order["_pos"].to_numpy()[earlier]] = True
    return pd.Series(superseded, index=typed.index)


def reasons_of(broken: dict[str, pd.Series]) -> pd.Series:
    """'; '-joined names of the rules each row broke, NA where it broke none."""
    frame = pd.DataFrame(broken)
    flags = frame.to_numpy(dtype=bool)
    bad = np.flatnonzero(flags.any(axis=1))  # usually few: only their labels are joined
    labels = np.where(flags[bad], np.array(frame.columns, dtype=object) + "; ", "")
    joined = pd.Series(pd.NA, index=frame.index, dtype="string")
    if len(bad):
        joined.iloc[bad] = pd.Series(labels.sum(axis=1), dtype="string").str.rstrip("; ").array
    return joined


def _raw_json(pages: list[ParsedPage], bad: np.ndarray) -> list[str]:
    """The quarantined rows as received, as JSON, in the order of the combined pages."""
    rows: list[dict[str, Any]] = []
    start = 0
    for page in pages:
        end = start + len(page.raw)
        rows += page.raw.rows(np.flatnonzero(bad[start:end]))
        start = end
    return [json.dumps(r, default=str) for r in rows]
