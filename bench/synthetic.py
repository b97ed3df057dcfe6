"""A synthetic victims file in the real API shape, of any size, for the scale benchmarks.

    python -m bench.synthetic --rows 1000000 --out /tmp/synthetic/victims_1m.csv.gz [--seed 0]

Incidents (all victims of one `case_number` together) are resampled from the
reconstructed 2015-2022 file (../shared/data/chicago/victims_reconstructed_2015_2022).
Each drawn incident gets:

- a new, unique case number (two letters and six digits, e.g. `AB012345`) and
  its victims new unique ids in the real pattern (`SHOOT-AB012345-#1`, `HOM-...`);
- a new year, uniform over 2001-01-01 .. 2026-08-31, keeping the source's month,
  day and time of day (so the seasonal and hourly profiles are the source's; a
  29 February lands on the 28th in common years). Incidents dated after 31 August
  are drawn 25/26 as often, as 2026 has no such days, so every year is equally full;
- its point moved by up to `--jitter-m` metres (uniform in a disc). A moved point
  that leaves the union of the current police beats keeps its original place, so
  no point leaves the city's bounding box;
- the recorded codes (district, beat, community area, ward) as in the source;
  where the source has no block, one published in the same beat in the API
  sample (../shared/data/chicago/victims_api_sample_2024_2026);
- per victim, sex and race resampled from the API sample (from its homicide
  rows for homicide victims, from the others otherwise), an age band from
  `AGE_BANDS` (made up: the API sample publishes no ages), and a
  location description resampled from the sample (one per incident);
- an `updated` stamp 1 hour to 60 days after the incident.

The last incident is cut short if needed to give exactly `--rows` rows. The output
is written in chunks (`--chunk-rows`), gzip-compressed in a second thread, so
memory stays bounded whatever the size. The same seed gives the same file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely

from pipeline.settings import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared" / "data" / "chicago"
SOURCE = SHARED / "victims_reconstructed_2015_2022" / "victims_2015_2022_api_shape.csv.gz"
SAMPLE = SHARED / "victims_api_sample_2024_2026"
BEATS = SHARED / "police_beats_current.geojson"

FIRST_YEAR, LAST_YEAR = 2001, 2026
#: The last day of the synthetic range is 31 August of LAST_YEAR.
LAST_MONTH_DAY = (8, 31)

#: Victims' age bands as the API once published them, with made-up weights.
AGE_BANDS: dict[str, float] = {
    "0-19": 0.22,
    "20-29": 0.38,
    "30-39": 0.21,
    "40-49": 0.09,
    "50-59": 0.05,
    "60-69": 0.02,
    "70-79": 0.005,
    "80+": 0.002,
    "UNKNOWN": 0.023,
}

OUTPUT_COLUMNS = (
    "case_number",
    "date",
    "block",
    "victimization_primary",
    "incident_primary",
    "gunshot_injury_i",
    "unique_id",
    "community_area",
    "district",
    "beat",
    "ward",
    "age",
    "sex",
    "race",
    "location_description",
    "latitude",
    "longitude",
    "updated",
)
#: Columns copied from the source row as they are.
COPIED = (
    "victimization_primary",
    "incident_primary",
    "gunshot_injury_i",
    "community_area",
    "district",
    "beat",
    "ward",
)
METRES_PER_DEGREE = 111_320.0
JITTER_M = 100.0  # default largest move of a point, metres
UPDATED_MIN_S, UPDATED_MAX_S = 3_600, 60 * 86_400
#: Timestamps are written as the API writes them, '2015-01-01T02:32:00.000', from
#: lookup tables of days and seconds of the day (much faster than strftime).
FIRST_DAY = np.datetime64(f"{FIRST_YEAR - 1}-01-01", "D")
DAYS = pa.array(np.datetime_as_string(FIRST_DAY + np.arange(366 * 30), unit="D"))
SECONDS = pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.000" for s in range(86_400)])


@dataclass(frozen=True)
class Source:
    """The source victims grouped by incident, and the pools resampled from."""

    rows: dict[str, pa.Array]  # copied columns, one value per source row (sorted by incident)
    id_prefix: pa.Array  # 'SHOOT' / 'HOM' per source row
    fatal: np.ndarray  # bool per source row: victimization_primary == 'HOMICIDE'
    occurred: np.ndarray  # datetime64[s] per source row
    lon: np.ndarray  # float per source row
    lat: np.ndarray
    block: pa.Array  # per source row, '' where unknown
    beat_code: np.ndarray  # int per source row, index into beat_pool_start/-count
    start: np.ndarray  # first source row of each incident
    size: np.ndarray  # victims per incident
    first_day: np.ndarray  # datetime64[D] of each incident's first row
    month: np.ndarray  # month and day of each incident's first row
    day: np.ndarray
    cdf: np.ndarray  # cumulative draw probability of each incident
    city: shapely.Geometry  # union of the police beats, prepared
    sample_blocks: pa.Array  # API-sample blocks sorted by beat
    beat_pool_start: np.ndarray  # per beat code: first index in sample_blocks, and count
    beat_pool_count: np.ndarray
    people: dict[bool, tuple[pa.Array, pa.Array]]  # fatal -> (sex, race) pools
    places: pa.Array  # location_description pool


def load_source(source: Path, sample: Path, beats: Path) -> Source:
    """Read the source file, the API sample and the beats once."""
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    raw = raw.sort_values(["case_number", "unique_id"], kind="stable").reset_index(drop=True)
    cases = raw["case_number"].to_numpy()
    new_case = np.ones(len(raw), bool)
    new_case[1:] = cases[1:] != cases[:-1]
    start = np.flatnonzero(new_case)
    size = np.diff(np.append(start, len(raw)))
    occurred = pd.to_datetime(raw["date"], format="ISO8601").to_numpy().astype("datetime64[s]")
    first = pd.DatetimeIndex(occurred[start])
    month, day = first.month.to_numpy(), first.day.to_numpy()
    after_range = (month > LAST_MONTH_DAY[0]) | (
        (month == LAST_MONTH_DAY[0]) & (day > LAST_MONTH_DAY[1])
    )
    years = np.where(after_range, LAST_YEAR - FIRST_YEAR, LAST_YEAR - FIRST_YEAR + 1)
    cdf = np.cumsum(years / years.sum())
    cdf[-1] = 1.0

    api = pd.concat(
        [pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(sample.glob("*.csv"))],
        ignore_index=True,
    )
    beat_keys = raw["beat"].str.zfill(4)
    codes, uniques = pd.factorize(beat_keys)
    api_beats = api.loc[api["block"] != "", ["beat", "block"]]
    api_beats = api_beats.assign(beat=api_beats["beat"].str.zfill(4)).sort_values("beat")
    pool_start = np.searchsorted(api_beats["beat"].to_numpy(), uniques.to_numpy(), "left")
    pool_end = np.searchsorted(api_beats["beat"].to_numpy(), uniques.to_numpy(), "right")
    fatal_api = api["victimization_primary"] == "HOMICIDE"
    people = {
        flag: (pa.array(api.loc[m, "sex"]), pa.array(api.loc[m, "race"]))
        for flag, m in ((True, fatal_api), (False, ~fatal_api))
    }

    collection = json.loads(beats.read_text())
    polygons = shapely.from_geojson([json.dumps(f["geometry"]) for f in collection["features"]])
    city = shapely.union_all(shapely.make_valid(polygons))
    shapely.prepare(city)
    return Source(
        rows={c: pa.array(raw[c]) for c in COPIED},
        id_prefix=pa.array(raw["unique_id"].str.split("-", n=1).str[0]),
        fatal=(raw["victimization_primary"] == "HOMICIDE").to_numpy(),
        occurred=occurred,
        lon=raw["longitude"].astype(float).to_numpy(),
        lat=raw["latitude"].astype(float).to_numpy(),
        block=pa.array(raw["block"]),
        beat_code=codes,
        start=start,
        size=size,
        first_day=occurred[start].astype("datetime64[D]"),
        month=month,
        day=day,
        cdf=cdf,
        city=city,
        sample_blocks=pa.array(api_beats["block"]),
        beat_pool_start=pool_start,
        beat_pool_count=pool_end - pool_start,
        people=people,
        places=pa.array(api.loc[api["location_description"] != "", "location_description"]),
    )


def case_numbers(first: int, n: int) -> pa.Array:
    """`n` consecutive case numbers from number `first`: 'AA000000', 'AA000001', ..."""
    numbers = np.arange(first, first + n, dtype=np.int64)
    letters = np.array([chr(65 + i // 26) + chr(65 + i % 26) for i in range(26 * 26)])
    if first + n > len(letters) * 1_000_000:
        raise ValueError(f"{first + n:,} incidents but case numbers stop at 676,000,000")
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers % 1_000_000), pa.string()), 6, "0")
    return pc.binary_join_element_wise(pa.array(letters[numbers // 1_000_000]), digits, "")


def timestamps(when: np.ndarray) -> pa.Array:
    """datetime64[s] values within the day table, as the API writes them."""
    days = when.astype("datetime64[D]")
    seconds = (when - days).astype(np.int64)
    day_index = (days - FIRST_DAY).astype(np.int64)
    if day_index.min() < 0 or day_index.max() >= len(DAYS):
        raise ValueError(f"dates {days.min()} .. {days.max()} outside the day table")
    return pc.binary_join_element_wise(
        DAYS.take(pa.array(day_index)), SECONDS.take(pa.array(seconds)), "T"
    )


def draw(rng: np.random.Generator, pool: pa.Array, n: int) -> pa.Array:
    return pool.take(pa.array(rng.integers(0, len(pool), n)))


def chunk(
    src: Source, rng: np.random.Generator, first_case: int, rows: int, jitter_m: float = JITTER_M
) -> pa.Table:
    """`rows` synthetic victims whose case numbers start at number `first_case`; points
    move up to `jitter_m` metres."""
    picked = np.searchsorted(src.cdf, rng.random(rows), side="right")  # >= rows incidents
    sizes = src.size[picked]
    keep = int(np.searchsorted(np.cumsum(sizes), rows)) + 1
    picked, sizes = picked[:keep], sizes[:keep].copy()
    sizes[-1] -= int(sizes.sum()) - rows  # cut the last incident short
    n = len(picked)
    incident = np.repeat(np.arange(n), sizes)
    within = np.arange(rows) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    source_row = src.start[picked][incident] + within
    take = pa.array(source_row)

    # Dates: a new year for each incident, same month, day and time of day.
    month, day = src.month[picked], src.day[picked]
    span = np.where(
        (month > LAST_MONTH_DAY[0]) | ((month == LAST_MONTH_DAY[0]) & (day > LAST_MONTH_DAY[1])),
        LAST_YEAR - FIRST_YEAR,
        LAST_YEAR - FIRST_YEAR + 1,
    )
    year = FIRST_YEAR + (rng.random(n) * span).astype(np.int64)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    day = np.where((month == 2) & (day == 29) & ~leap, 28, day)
    month_start = ((year - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]")
    shift = (month_start + (day - 1)) - src.first_day[picked]
    occurred = src.occurred[source_row] + shift[incident]
    updated = occurred + rng.integers(UPDATED_MIN_S, UPDATED_MAX_S, rows).astype("timedelta64[s]")

    # Places: each incident's point moved up to `jitter` metres, kept inside the beats.
    lon0, lat0 = src.lon[src.start[picked]], src.lat[src.start[picked]]
    radius = jitter_m * np.sqrt(rng.random(n))
    angle = rng.random(n) * 2 * np.pi
    lat = lat0 + radius * np.sin(angle) / METRES_PER_DEGREE
    lon = lon0 + radius * np.cos(angle) / (METRES_PER_DEGREE * np.cos(np.radians(lat0)))
    outside = ~shapely.contains_xy(src.city, lon, lat)
    lon, lat = np.where(outside, lon0, lon), np.where(outside, lat0, lat)

    # Blocks: the source's, else one published in the same beat (one per incident).
    code = src.beat_code[src.start[picked]]
    count = src.beat_pool_count[code]
    pool_index = src.beat_pool_start[code] + (rng.random(n) * count).astype(np.int64)
    has_pool = pa.array(count > 0)
    guess = pc.if_else(
        has_pool, src.sample_blocks.take(pa.array(np.where(count > 0, pool_index, 0))), ""
    )
    source_block = src.block.take(pa.array(src.start[picked]))
    block = pc.if_else(pc.equal(source_block, ""), guess, source_block).take(pa.array(incident))

    fatal = src.fatal[source_row]
    sex, race = pa.nulls(rows, pa.string()), pa.nulls(rows, pa.string())
    for flag in (True, False):
        where = pa.array(fatal == flag)
        pool_sex, pool_race = src.people[flag]
        pick = pa.array(rng.integers(0, len(pool_sex), rows))
        sex = pc.if_else(where, pool_sex.take(pick), sex)
        race = pc.if_else(where, pool_race.take(pick), race)
    bands = np.array(list(AGE_BANDS))
    weights = np.array(list(AGE_BANDS.values()))
    age = pa.array(bands[rng.choice(len(bands), rows, p=weights / weights.sum())])

    cases = case_numbers(first_case, n).take(pa.array(incident))
    victim_number = pc.cast(pa.array(within + 1), pa.string())
    unique_id = pc.binary_join_element_wise(
        src.id_prefix.take(take), "-", cases, "-#", victim_number, ""
    )
    columns: dict[str, Any] = {
        "case_number": cases,
        "date": timestamps(occurred),
        "block": block,
        **{c: src.rows[c].take(take) for c in COPIED},
        "unique_id": unique_id,
        "age": age,
        "sex": sex,
        "race": race,
        "location_description": draw(rng, src.places, n).take(pa.array(incident)),
        "latitude": pa.array(np.round(lat, 9)[incident]),
        "longitude": pa.array(np.round(lon, 9)[incident]),
        "updated": timestamps(updated),
    }
    return pa.table({c: columns[c] for c in OUTPUT_COLUMNS})


def generate(
    out: Path,
    rows: int,
    src: Source,
    seed: int = 0,
    chunk_rows: int = 250_000,
    compresslevel: int = 3,
    jitter_m: float = JITTER_M,
) -> tuple[int, int]:
    """Write `rows` synthetic victims to `out` (gzip CSV); returns (rows, incidents)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    pending: queue.Queue[pa.Buffer | None] = queue.Queue(maxsize=1)
    failure: list[BaseException] = []

    def write() -> None:
        try:
            with gzip.open(partial, "wb", compresslevel=compresslevel) as handle:
                while (buffer := pending.get()) is not None:
                    handle.write(buffer)
        except BaseException as exc:  # reported by the main thread
            failure.append(exc)
            while pending.get() is not None:
                pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    clock, done, cases, index = time.perf_counter(), 0, 0, 0
    try:
        while done < rows and not failure:
            n = min(chunk_rows, rows - done)
            table = chunk(src, np.random.default_rng([seed, index]), cases, n, jitter_m)
            cases += len(pc.unique(table["case_number"]))
            sink = pa.BufferOutputStream()
            options = pacsv.WriteOptions(include_header=index == 0, quoting_style="needed")
            pacsv.write_csv(table, sink, options)
            pending.put(sink.getvalue())
            done, index = done + n, index + 1
            elapsed = time.perf_counter() - clock
            print(
                f"  {done:>12,} / {rows:,} rows ({100 * done / rows:5.1f} %), "
                f"{elapsed:6.1f} s, {done / elapsed:,.0f} rows/s",
                flush=True,
            )
    finally:
        pending.put(None)
        writer.join()
    if failure:
        raise failure[0]
    partial.replace(out)
    return rows, cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True, help="victims (rows) to write")
    parser.add_argument("--out", type=Path, required=True, help="output .csv.gz")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--compresslevel", type=int, default=3, choices=range(1, 10))
    parser.add_argument("--jitter-m", type=float, default=JITTER_M, help="largest move, metres")
    parser.add_argument("--source", type=Path, default=SOURCE)
    args = parser.parse_args(argv)
    if args.rows < 1 or args.chunk_rows < 1:
        parser.error(
            f"--rows and --chunk-rows must be >= 1, were {args.rows} and {args.chunk_rows}"
        )
    if not args.out.name.endswith(".csv.gz"):
        parser.error(f"--out was {str(args.out)!r} but must end in .csv.gz")
    clock = time.perf_counter()
    src = load_source(args.source, SAMPLE, BEATS)
    print(
        f"source: {len(src.occurred):,} victims in {len(src.start):,} incidents "
        f"({time.perf_counter() - clock:.1f} s to load)",
        flush=True,
    )
    rows, cases = generate(
        args.out, args.rows, src, args.seed, args.chunk_rows, args.compresslevel, args.jitter_m
    )
    seconds = time.perf_counter() - clock
    size = args.out.stat().st_size
    print(
        f"wrote {rows:,} victims in {cases:,} incidents to {args.out} "
        f"({size / 1e6:,.0f} MB) in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
