"""Rates per 100,000 residents, and the populations behind them.

Definition (shown wherever a rate is): victims (or incidents) in the period per
100,000 residents, *in this period*, not annualised: a year-to-date rate in
November covers eleven months, a 28-day rate four weeks. The city-wide rate of
the same period is shown beside every area's, which is the comparison that
matters.

Populations: the 2020 census by community area (77 areas, 2,746,388 residents;
`pipeline/data/README.md`), matched to the boundary layer by the area *number*
(`area_numbe`), never by name. No census figure exists for police districts, ZIP
codes or neighbourhoods: their populations are ESTIMATES by area-weighted
interpolation from community areas (as PySAL `tobler`'s, in EPSG:26916 metres), which
assumes people are spread evenly inside each community area. Beats get no rate:
most have a few thousand residents, so an even spread over a community area
(parks, rail yards, O'Hare) misplaces a large share of them, and a handful of
shootings would swing the rate.

The estimates are computed once per boundary vintage and census file, by the
sync (`population_rows`, stored as `area_population` keyed by the census file's
SHA-256), so the page and the CLI read them with one query; they are computed here
only for a census file the store has no rows for (`--population`, POPULATION_FILE).

Empirical-Bayes smoothing (esda's `Empirical_Bayes`, written out in numpy: esda
loads libpysal, scikit-learn and scipy.stats, ~1.5 s on a page's first render;
the tests hold it to esda) pulls each area's rate toward the city's by how
little its own population says: small areas with few events stop dominating a
ranking, large ones barely move.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geo.layers import CRS, BoundaryLayer
from pipeline.aggregate import UNKNOWN_AREA
from pipeline.boundaries import LAYER_OF_AREA
from pipeline.config import CITY
from pipeline.errors import UsageError
from pipeline.queries import Reader

PER = 100_000
POPULATION_FILE = Path(__file__).resolve().parent / "data" / "community_area_population_2020.csv"
POPULATION_SOURCE = "2020 Census by community area (CMAP Community Data Snapshots)"
#: The community-area property holding its number (1-77), the census file's GEOID.
AREA_NUMBER_PROPERTY = "area_numbe"
CENSUS_LEVEL = "community_area"
ESTIMATED_LEVELS = ("district", "zip_code", "neighborhood")
NO_RATE = {
    "beat": (
        "no rates for beats: no census count exists for them, and most beats are too small "
        "(a few thousand residents) for an estimate spread from community areas to hold"
    ),
}
RATE_DEFINITION = (
    "Rate: per 100,000 residents in this period (not annualised), from the 2020 census "
    "by community area."
)


@dataclass(frozen=True)
class Population:
    """Residents per area of one level, and whether they are counted or estimated."""

    level: str
    residents: pd.Series  # area key -> residents (float; estimates are not whole)
    city: float  # the city's total from the same file
    estimated: bool
    source: str = POPULATION_SOURCE


def read_population(path: Path | None = None) -> pd.DataFrame:
    """`area_number` (int) and `residents` (int) per community area from a census CSV
    with columns GEOID and TOT_POP (default: the 2020 file shipped in pipeline/data)."""
    path = path or POPULATION_FILE
    try:
        raw = pd.read_csv(path, usecols=["GEOID", "TOT_POP"])
    except FileNotFoundError:
        raise UsageError(f"population file {path} does not exist") from None
    except ValueError as exc:  # missing columns
        raise UsageError(f"population file {path}: {exc}; expected GEOID and TOT_POP") from None
    return _checked_population(raw, path)


def population_by_area(reader: Reader, level: str, path: Path | None = None) -> Population | None:
    """Residents per area of `level`: counted (community areas), estimated (districts, ZIP
    codes, neighbourhoods) or None (beats, see `NO_RATE`). Read from the store's
    `area_population` when the sync computed it from the same census file, else computed."""
    if level in NO_RATE:
        return None
    if level != CENSUS_LEVEL and level not in ESTIMATED_LEVELS:
        raise UsageError(f"level was {level!r} but rates exist for {_rate_levels()}")
    stored = stored_population(reader.area_population(census_digest(path)), level)
    return stored if stored is not None else estimate_population(reader.boundary_layer, level, path)


def census_digest(path: Path | None = None) -> str:
    """SHA-256 of the census file (default: the shipped one): which stored rows it made."""
    path = path or POPULATION_FILE
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise UsageError(f"population file {path} does not exist") from None


def stored_population(rows: pd.DataFrame, level: str) -> Population | None:
    """`level`'s Population from stored `area_population` rows of one census file (level,
    key, residents, estimated); None when they hold no community areas or none of `level`."""
    counted = rows[rows["level"] == CENSUS_LEVEL]
    mine = rows[rows["level"] == level]
    if counted.empty or mine.empty:
        return None
    residents = pd.Series(
        mine["residents"].to_numpy(float), index=mine["key"].to_numpy(), name="residents"
    ).rename_axis("key")
    return Population(level, residents, float(counted["residents"].sum()), level != CENSUS_LEVEL)


def population_rows(
    load_layer: Callable[[str], BoundaryLayer], path: Path | None, digest: str | None = None
) -> pd.DataFrame:
    """Every rated level's residents per area, as the store keeps them (`area_population`:
    level, key, residents, estimated, census_sha256); `load_layer` gives a stored layer,
    `digest` the census file's `census_digest` when the caller has it already."""
    digest = digest or census_digest(path)
    frames = []
    for level in _rate_levels():
        population = estimate_population(load_layer, level, path)
        frames.append(
            pd.DataFrame(
                {
                    "level": level,
                    "key": population.residents.index.astype(str),
                    "residents": population.residents.to_numpy(float),
                    "estimated": population.estimated,
                    "census_sha256": digest,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def estimate_population(
    load_layer: Callable[[str], BoundaryLayer], level: str, path: Path | None = None
) -> Population:
    """`level`'s Population computed from the census file and the stored layers."""
    census = read_population(path)
    areas = community_area_residents(load_layer(LAYER_OF_AREA[CENSUS_LEVEL]), census)
    city = float(census["residents"].sum())
    if level == CENSUS_LEVEL:
        return Population(level, areas.drop(columns="geometry")["residents"], city, False)
    target = load_layer(LAYER_OF_AREA[level])
    return Population(level, interpolate_residents(areas, layer_frame(target)), city, True)


def community_area_residents(layer: BoundaryLayer, census: pd.DataFrame) -> pd.DataFrame:
    """The community-area layer (`layer_frame`) with each area's `residents`, matched by
    number; UsageError naming the areas that match nothing on either side."""
    numbers = {
        key: int(str(props.get(AREA_NUMBER_PROPERTY, "")).strip() or -1)
        for key, props in zip(layer.keys, layer.properties, strict=True)
    }
    by_number = census.set_index("area_number")["residents"]
    unmatched = sorted(k for k, n in numbers.items() if n not in by_number.index)
    unused = sorted(set(by_number.index) - set(numbers.values()))
    if unmatched or unused:
        raise UsageError(
            "community areas and the population file do not match by number: "
            f"areas without a population: {unmatched[:5]}; numbers with no area: {unused[:5]}"
        )
    frame = layer_frame(layer)
    return frame.assign(residents=[float(by_number[numbers[k]]) for k in frame.index])


def layer_frame(layer: BoundaryLayer) -> pd.DataFrame:
    """A boundary layer as a frame indexed by key: its shapely `geometry` and, in
    `attrs["crs"]`, the CRS they are in (EPSG:4326)."""
    frame = pd.DataFrame({"geometry": layer.geometries}, index=pd.Index(layer.keys, name="key"))
    frame.attrs["crs"] = layer.crs
    return frame


def interpolate_residents(source: pd.DataFrame, target: pd.DataFrame) -> pd.Series:
    """Residents of each `target` area (index: key) estimated from `source` areas'
    `residents` by the share of each source's area inside it, computed in the city's
    projected CRS (metres), not in degrees: PySAL tobler's area-weighted interpolation of
    an extensive variable without `allocate_total` (a target covering a quarter of a
    source gets a quarter of it, even where no target covers the rest), written with
    shapely's STRtree as the sync's only use of it (tobler and geopandas cost ~1.5 s of
    import on every sync that refreshes boundaries; the tests hold this to tobler)."""
    crs = source.attrs.get("crs"), target.attrs.get("crs")
    if crs[0] is None or crs[0] != crs[1]:
        raise ValueError(f"CRS differ: source {crs[0]}, target {crs[1]} (want {CRS})")
    sources = _projected(source["geometry"].to_numpy(), crs[0])
    targets = _projected(target["geometry"].to_numpy(), crs[0])
    hit_target, hit_source = shapely.STRtree(sources).query(targets, predicate="intersects")
    shared = shapely.area(shapely.intersection(targets[hit_target], sources[hit_source]))
    share = shared / shapely.area(sources[hit_source])
    residents = source["residents"].to_numpy(float)[hit_source] * share
    estimate = np.bincount(hit_target, weights=residents, minlength=len(targets))
    return pd.Series(estimate, index=target.index, name="residents")


def _projected(geometries: np.ndarray, crs: str) -> np.ndarray:
    """`geometries` (in `crs`) in the city's projected CRS."""
    from pyproj import Transformer

    transformer = Transformer.from_crs(crs, CITY.projected_crs, always_xy=True)
    return shapely.transform(
        geometries, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def rate(count: float, residents: float) -> float:
    """Count per 100,000 residents (NaN without residents)."""
    return count / residents * PER if residents and residents > 0 else float("nan")


def crude_rates(counts: pd.Series, residents: pd.Series) -> pd.Series:
    """Per 100,000 residents for each area of `counts` (NaN where the population is unknown)."""
    people = _residents_of(residents, counts.index)
    return pd.Series(_per_100k(counts.to_numpy(), people), index=counts.index, name="rate")


def smoothed_rates(counts: pd.Series, residents: pd.Series) -> pd.Series:
    """Empirical-Bayes rates per 100,000 (esda `Empirical_Bayes`) for the areas of `counts`
    with a population; NaN for the others (e.g. `unassigned`). Where areas vary less than
    chance alone would make them (variance estimate <= 0), every area gets the pooled rate,
    the usual floor at zero that esda leaves out."""
    people = _residents_of(residents, counts.index)
    smoothed = _smoothed_per_100k(counts.to_numpy(), people)
    return pd.Series(smoothed, index=counts.index, name="rate_smoothed")


def empirical_bayes(events: np.ndarray, base: np.ndarray) -> np.ndarray:
    """esda's `Empirical_Bayes(events, base).r`, the same formula (Marshall 1991):
    each raw rate weighted against the pooled one by a / (a + pooled / base), where a is
    the between-area variance. Events per person, not per 100,000."""
    pooled = events.sum() / base.sum()
    raw = events / base
    variance = _between_area_variance(events, base)
    weight = variance / (variance + pooled / base)
    return weight * raw + (1.0 - weight) * pooled


def with_rates(table: pd.DataFrame, population: Population | None) -> pd.DataFrame:
    """A per-area comparison (`area`, `current`, `previous`, ...) with, when there is a
    population: `residents`, `rate` and `rate_previous` (per 100,000 in each period),
    `rate_smoothed` (empirical Bayes, this period) and `city_rate` (every record in the
    city, `unassigned` included, per 100,000 residents of the city). A new frame."""
    if population is None:
        return table.copy()
    # numpy on a few dozen areas, then one frame joined on: set_index, reindex and
    # assign cost ~6x as much, nearly all of it pandas' per-call overhead.
    current, previous = table["current"].to_numpy(), table["previous"].to_numpy()
    people = _residents_of(population.residents, table["area"])
    columns = {
        "residents": people,
        "rate": _per_100k(current, people),
        "rate_previous": _per_100k(previous, people),
        "rate_smoothed": _smoothed_per_100k(current, people),
        "city_rate": np.full(len(people), rate(float(current.sum()), population.city)),
    }
    added = pd.DataFrame(  # one 2-D block: ~1/3 cheaper than a frame of five arrays
        np.column_stack(list(columns.values())), columns=list(columns), index=table.index
    )
    if set(added.columns).isdisjoint(table.columns):
        return pd.concat([table, added], axis=1)
    return table.assign(**columns)  # replaces the columns it has already, in place


def ranked_areas(table: pd.DataFrame, by: str = "current") -> pd.DataFrame:
    """Areas from most to fewest by `by` (ties: the larger change first, then the area's
    own order), `unassigned` last whatever its count, with a 1-based `rank` first
    (none for `unassigned`). A new frame."""
    if by not in table.columns:
        raise ValueError(f"by was {by!r} but is expected to be in {list(table.columns)}")
    unknown = table["area"].to_numpy() == UNKNOWN_AREA
    placed, unplaced = np.flatnonzero(~unknown), np.flatnonzero(unknown)
    # np.lexsort is stable and sorts by its last key first
    most_first = np.lexsort((_most_first(table["change"])[placed], _most_first(table[by])[placed]))
    ranked = table.take(np.concatenate([placed[most_first], unplaced]))
    ranked.index = pd.RangeIndex(len(ranked))  # a new frame already: no copy to reset it
    ranks = np.arange(1, len(ranked) + 1)
    unranked = ranks > len(placed)
    ranked.insert(0, "rank", pd.Series(pd.arrays.IntegerArray(ranks, unranked), ranked.index))
    return ranked


def _residents_of(residents: pd.Series, areas: pd.Index | pd.Series) -> np.ndarray:
    """`residents` of each of `areas` (floats; NaN for an area it does not have)."""
    # a dict: half the time of a pandas index lookup on a few dozen keys
    keys, people = residents.index.tolist(), residents.to_numpy(float).tolist()
    lookup = dict(zip(keys, people, strict=True))
    return np.array([lookup.get(area, np.nan) for area in areas.tolist()], dtype=float)


def _per_100k(counts: np.ndarray, people: np.ndarray) -> np.ndarray:
    """`counts` per 100,000 `people`; NaN where there are none (or no figure)."""
    return counts / np.where(people > 0, people, np.nan) * PER


def _smoothed_per_100k(counts: np.ndarray, people: np.ndarray) -> np.ndarray:
    """`smoothed_rates` on arrays: NaN where `people` is NaN or not positive."""
    known = people > 0  # NaN compares False
    out = np.full(len(people), np.nan)
    if not known.any():
        return out
    events, base = counts[known].astype(float), people[known]
    if _between_area_variance(events, base) <= 0:
        out[known] = events.sum() / base.sum() * PER  # the pooled rate
    else:
        out[known] = empirical_bayes(events, base) * PER
    return out


def _most_first(column: pd.Series) -> np.ndarray:
    """A key that an ascending sort puts in `column`'s order from most to fewest, missing
    last, as pandas' multi-column `sort_values(ascending=False)` does."""
    values = column.to_numpy()
    if values.dtype.kind == "f":
        return -values  # NaN stays NaN, which np.lexsort puts last
    if values.dtype.kind in "iub":
        return ~values  # the order reversed, without -x's overflow
    codes, uniques = pd.factorize(column, sort=True)  # any other dtype; missing: -1
    return np.where(codes < 0, len(uniques), len(uniques) - 1 - codes)


def _between_area_variance(events: np.ndarray, base: np.ndarray) -> float:
    """The method-of-moments variance of the true rates (Marshall 1991), as esda computes it."""
    pooled = events.sum() / base.sum()
    spread = (base * (events / base - pooled) ** 2).sum() / base.sum()
    return float(spread - pooled / base.mean())


def _checked_population(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    numbers = pd.to_numeric(raw["GEOID"], errors="coerce")
    residents = pd.to_numeric(raw["TOT_POP"], errors="coerce")
    problems = []
    if numbers.isna().any() or residents.isna().any():
        problems.append(f"{int((numbers.isna() | residents.isna()).sum())} rows not numbers")
    if numbers.duplicated().any():
        problems.append(f"area numbers repeat: {sorted(set(numbers[numbers.duplicated()]))[:5]}")
    if (residents < 0).any():
        problems.append(f"{int((residents < 0).sum())} negative populations")
    if problems:
        raise UsageError(f"population file {path}: {'; '.join(problems)}")
    return pd.DataFrame({"area_number": numbers.astype(int), "residents": residents.astype(int)})


def _rate_levels() -> list[str]:
    return [CENSUS_LEVEL, *ESTIMATED_LEVELS]
