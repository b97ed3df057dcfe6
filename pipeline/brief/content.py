"""The brief's numbers and shapes, gathered from the store in one reader: the same
`compstat()` as the `compare` command, each beat of the area, five years, and the
sentences and sources printed with them (`BriefData`, drawn by `brief.drawing`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
import shapely

from geo.layers import BoundaryLayer, beat_districts
from geo.staticmap import Outside, Shaded
from pipeline import history, report, trends
from pipeline.boundaries import LAYER_OF_AREA
from pipeline.compstat import compare_areas, compstat
from pipeline.config import CITY, LEVELS
from pipeline.queries import Reader, load_layer
from pipeline.stats import change_category

KIND = "shootings"  # the brief's map, beat table and history count shootings
DEFAULT_BASIS = "geometry"  # as `compare`'s default: current boundaries, comparable across years
YEARS = 5  # the same span in each of this many years


@dataclass(frozen=True)
class BriefData:
    title: str
    period: str
    compstat: pd.DataFrame  # compstat.compstat(...).table
    beats: pd.DataFrame  # area, current, previous, verdict, category: what the map shows
    beats_heading: str
    years_compared: tuple[str, str]  # the beat table's column heads: '2020', '2019'
    history: pd.DataFrame  # history.same_span_by_year
    history_heading: str
    shaded: list[Shaded]
    outside: list[Outside]
    outside_legend: str
    outline: shapely.Geometry | None  # the area's own edge, over beats that only approximate it
    outline_legend: str | None
    sentences: list[str]
    footer: list[str]


def gather(
    q: Reader, by: str, key: str, as_of: date, measure: str, basis: str = DEFAULT_BASIS
) -> BriefData:
    """Every number and shape the page shows, from the store: the same `compstat()` as
    the `compare` command."""
    current, previous = trends.year_to_date(as_of)
    result = compstat(q, by, key, current, previous, measure, basis)
    beats, layer = load_layer(q.con, "beats"), load_layer(q.con, LAYER_OF_AREA[by])
    area_geometry = layer.geometries[list(layer.keys).index(key)]
    beat_rows = _classified(
        _beat_rows(q, (by, key), beats, area_geometry, (current, previous), measure, basis),
        incomplete=bool(result.warnings),
    )
    years = history.same_span_by_year(q, by, key, basis, KIND, measure, current, YEARS)
    inside_only = by == "community_area"
    return BriefData(
        title=f"{_page_title(by, key, result.title)}: shootings and homicides",
        period=(
            f"Year to date through {as_of:%d %B %Y} against the same span of "
            f"{previous.start.year} ({previous.start:%d %b}-{previous.end:%d %b %Y}), "
            f"counted as {measure}"
        ),
        compstat=result.table,
        beats=beat_rows,
        beats_heading=(
            f"Shootings by beat, {current.end.year} vs {previous.end.year}"
            + (f"\n(only what lies inside {_place_name(by, key)})" if inside_only else "")
        ),
        years_compared=(str(current.end.year), str(previous.end.year)),
        history=years,
        history_heading=f"Same span,\n{YEARS} years",
        shaded=_shaded(beats, beat_rows, area_geometry if inside_only else None),
        outside=_outside(layer, key, area_geometry, by),
        outside_legend=f"other {LEVELS[by].title.lower()}s",
        outline=area_geometry if inside_only else None,
        outline_legend="edge of the area" if inside_only else None,
        sentences=_sentences(result.table, beat_rows, result.warnings, years),
        footer=_footer(q.latest_sync_finished(), q.latest_date(), by, basis),
    )


def _beat_rows(
    q: Reader,
    area: tuple[str, str],
    beats: BoundaryLayer,
    geometry: shapely.Geometry,
    spans: tuple[trends.Span, trends.Span],
    measure: str,
    basis: str,
) -> pd.DataFrame:
    """One row per beat the map shows (area, current, previous, change, ..., verdict).

    Districts and beats are whole beats. A community area's beats cross its edge, so
    each beat counts only its records inside the area (`span_counts_within`), and a
    beat is shown when a real part of it lies inside or it holds a record there."""
    (by, key), (current, previous) = area, spans
    if by != "community_area":
        shown = [key] if by == "beat" else _beats_of_district(key, beats)
        every = compare_areas(q, "beat", current, previous, measure, KIND, basis).table
        return every[every["area"].isin(shown)].reset_index(drop=True)
    counts = q.span_counts_within(by, key, "beat", [current, previous], measure, basis, KIND)
    totals = counts.groupby(["key", "span"])["n"].sum()
    keys = sorted(set(_beats_inside(beats, geometry)) | set(counts["key"]))
    rows = [
        {
            "area": beat,
            **trends.compare_counts(
                int(totals.get((beat, 0), 0)),
                int(totals.get((beat, 1), 0)),
                current.days,
                previous.days,
            ),
        }
        for beat in keys
    ]
    return pd.DataFrame(rows, columns=["area", *trends.COMPARE_COLUMNS])


def _classified(rows: pd.DataFrame, incomplete: bool) -> pd.DataFrame:
    """The beat rows with their map class (`category`); no verdicts where the store
    does not cover the compared spans, as in the CompStat table."""
    if incomplete:
        rows = trends.mark_incomplete(rows)
    return rows.assign(
        category=[
            change_category(int(c), int(p), str(v))
            for c, p, v in zip(rows["current"], rows["previous"], rows["verdict"], strict=True)
        ]
    )


def _beats_of_district(key: str, beats: BoundaryLayer) -> list[str]:
    return sorted(b for b, d in beat_districts(beats).items() if d == key)


def _beats_inside(beats: BoundaryLayer, area: shapely.Geometry, share: float = 0.02) -> list[str]:
    """Beats with at least `share` of their area inside `area` (slivers along a shared
    edge, where the two layers were drawn apart, do not count)."""
    overlap = shapely.area(shapely.intersection(beats.geometries, area))
    inside = overlap >= share * shapely.area(beats.geometries)
    return sorted(str(k) for k, hit in zip(beats.keys, inside, strict=True) if hit)


def _shaded(
    beats: BoundaryLayer, rows: pd.DataFrame, clip: shapely.Geometry | None
) -> list[Shaded]:
    """Each shown beat, cut to the area when only its part inside is counted."""
    geometry = dict(zip(beats.keys, beats.geometries, strict=True))
    shaded = []
    for r in rows.itertuples():
        if r.area not in geometry:
            continue  # 'unassigned': records outside every beat have no shape
        shape = geometry[r.area] if clip is None else geometry[r.area].intersection(clip)
        shaded.append(Shaded(shape, str(r.area).lstrip("0"), str(r.category)))
    return shaded


def _outside(layer: BoundaryLayer, key: str, area: shapely.Geometry, by: str) -> list[Outside]:
    touching = shapely.intersects(layer.geometries, area.buffer(1e-4))
    return [
        Outside(g, _short_name(by, str(k)))
        for k, g, hit in zip(layer.keys, layer.geometries, touching, strict=True)
        if hit and k != key
    ]


def _short_name(by: str, key: str) -> str:
    return key.title() if by == "community_area" else key.lstrip("0")


def _page_title(by: str, key: str, compstat_title: str) -> str:
    """'District 17 (17TH)' as `compare` titles it; community areas by their name in
    title case ('Albany Park (community area)')."""
    if by == "community_area":
        return f"{key.title()} ({LEVELS[by].title.lower()})"
    return compstat_title


def _place_name(by: str, key: str) -> str:
    return key.title() if by == "community_area" else f"{LEVELS[by].title} {key}"


def _sentences(
    compstat: pd.DataFrame,
    beats: pd.DataFrame,
    warnings: list[str],
    years: pd.DataFrame,
) -> list[str]:
    if warnings:
        return [
            "The store has no records for part of these periods, so no verdict is "
            "given: " + warnings[0] + "."
        ]
    rows = compstat.set_index("kind").to_dict("index")
    out = [
        report.summary_sentence(rows["shootings"], "shootings"),
        report.summary_sentence(rows["homicides"], "homicides"),
    ]
    if len(beats) > 1:
        rise = (
            beats.assign(delta=beats["current"] - beats["previous"])
            .sort_values(["delta", "area"], ascending=[False, True])
            .iloc[0]
        )
        if rise["delta"] > 0:
            out.append(
                f"The largest rise in shootings was in beat {str(rise['area']).lstrip('0')}: "
                f"{rise['current']} against {rise['previous']} ({rise['verdict']})."
            )
    out.append(_five_year_line(years))
    return out


def _five_year_line(years: pd.DataFrame) -> str:
    """'Same span in 2016-2020: 45, 52, 60, 34, 69 shootings.' ('n/a' for a year the
    store does not cover; a year with missing months is marked as a floor)."""
    counts = [
        "n/a" if pd.isna(n) else f"{n}{'+' if missing else ''}"
        for n, missing in zip(years["count"], years["missing_months"], strict=True)
    ]
    partial = years["count"].notna() & years["missing_months"].astype(bool)
    floors = " (+: some months missing, at least this many)" if partial.any() else ""
    return (
        f"The same span in {years['year'].iloc[0]}-{years['year'].iloc[-1]}: "
        f"{', '.join(counts)} shootings{floors}."
    )


def _footer(synced: datetime | None, through: date, by: str, basis: str) -> list[str]:
    """Dates, and the sources by their portal names and ids (never local file names)."""
    when = f"store last synced {synced:%Y-%m-%d %H:%M} UTC" if synced else "never synced"
    layers = [LEVELS["beat"], *([LEVELS[by]] if by != "beat" else [])]
    boundaries = ", ".join(
        f"Boundaries - {level.people_title.title()}s ({level.dataset})" for level in layers
    )
    return [
        f"Data through {through:%Y-%m-%d}; {when}. Source: City of Chicago Data Portal "
        f"({CITY.domain}): {CITY.victims_dataset_title} ({CITY.victims_dataset}); "
        f"{boundaries}. No names; block level only. Areas: {report.BASIS_NOTES[basis]}.",
        # The period line under the title already states both spans.
        *(d for d in report.DEFINITIONS if not d.startswith("Year to date")),
    ]
