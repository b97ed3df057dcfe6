"""The one-page meeting brief: the same numbers as `compare`, a static map, plain words.

`make_brief` checks the request, gathers the numbers from the store (the only
I/O besides the file written), draws one US Letter landscape page with
matplotlib and writes it atomically: a failure leaves no file behind.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: print-only rendering

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from geo.layers import BoundaryLayer, beat_districts, load_layer
from geo.maplayers import change_category
from geo.staticmap import MIN_FONT_PT, Shaded, draw_change_map
from pipeline import profiles, queries, report, trends
from pipeline.boundaries import LAYER_OF_AREA
from pipeline.compstat import compare_areas, compstat
from pipeline.errors import UsageError
from pipeline.queries import Reader
from pipeline.store import Store

PAGE_INCHES = (11.0, 8.5)  # US Letter, landscape
FORMATS = (".pdf", ".png")
PNG_DPI = 150
KIND = "shootings"  # the brief's map, months and headline count shootings

matplotlib.rcParams.update(
    {
        "pdf.fonttype": 42,  # embed TrueType: text stays searchable and extractable
        "font.family": "DejaVu Sans",
        "font.size": MIN_FONT_PT,
        "hatch.linewidth": 0.8,
    }
)


@dataclass(frozen=True)
class BriefData:
    title: str
    period: str
    compstat: pd.DataFrame  # compstat.compstat(...).table
    monthly: pd.DataFrame  # profiles.monthly_this_vs_last
    shaded: list[Shaded]
    neighbours: list[tuple[shapely.Geometry, str]]
    outline: shapely.Geometry | None  # drawn over the beats when they only approximate the area
    sentences: list[str]
    footer: list[str]


def make_brief(
    store: Store,
    by: str,
    key: str,
    output: Path,
    as_of: date | None = None,
    measure: str = "victims",
) -> Path:
    """Write the brief for one area to `output` (.pdf or .png); return the path."""
    if output.suffix.lower() not in FORMATS:
        raise UsageError(f"output was {output.name!r} but must end in {' or '.join(FORMATS)}")
    with store.reader() as q:
        key = q.resolve_area(by, key)
        data = gather(q, by, key, q.resolve_as_of(as_of), measure)
    return save(draw(data), output)


def gather(q: Reader, by: str, key: str, as_of: date, measure: str) -> BriefData:
    """Every number and shape the page shows, from the store (geometry basis): the same
    `compstat()` as the `compare` command."""
    current, previous = trends.year_to_date(as_of)
    result = compstat(q, by, key, current, previous, measure)
    beats, layer = load_layer(q.con, "beats"), load_layer(q.con, LAYER_OF_AREA[by])
    area_geometry = layer.geometries[list(layer.keys).index(key)]
    shown = _beats_of(by, key, beats, area_geometry)
    every_beat = compare_areas(q, "beat", current, previous, measure, KIND).table
    beat_rows = every_beat[every_beat["area"].isin(shown)]
    daily = q.daily(by, key, [current, previous], measure, "geometry", KIND)
    return BriefData(
        title=f"{result.title}: shootings and homicides",
        period=(
            f"Year to date through {as_of:%d %B %Y} against the same span of "
            f"{previous.start.year} ({previous.start:%d %b}-{previous.end:%d %b %Y}), "
            f"counted as {measure}"
        ),
        compstat=result.table,
        monthly=profiles.monthly_this_vs_last(daily, current, previous),
        shaded=_shaded(beats, beat_rows),
        neighbours=_neighbours(layer, key, area_geometry, by),
        outline=area_geometry if by == "community_area" else None,
        sentences=_sentences(result.table, beat_rows, result.warnings),
        footer=_footer(q.status(), by),
    )


def _beats_of(by: str, key: str, beats: BoundaryLayer, area: shapely.Geometry) -> list[str]:
    if by == "beat":
        return [key]
    if by == "district":
        return sorted(b for b, d in beat_districts(beats).items() if d == key)
    points = shapely.point_on_surface(beats.geometries)
    return sorted(
        str(k)
        for k, inside in zip(beats.keys, shapely.contains(area, points), strict=True)
        if inside
    )


def _shaded(beats: BoundaryLayer, rows: pd.DataFrame) -> list[Shaded]:
    geometry = dict(zip(beats.keys, beats.geometries, strict=True))
    return [
        Shaded(
            geometry[r["area"]],
            f"{r['area']}\n{r['current']} vs {r['previous']}",
            change_category(r["current"], r["previous"], r["verdict"]),
        )
        for r in rows.to_dict("records")
    ]


def _neighbours(
    layer: BoundaryLayer, key: str, area: shapely.Geometry, by: str
) -> list[tuple[shapely.Geometry, str]]:
    touching = shapely.intersects(layer.geometries, area.buffer(1e-4))
    return [
        (g, str(k).title() if by == "community_area" else str(k))
        for k, g, hit in zip(layer.keys, layer.geometries, touching, strict=True)
        if hit and k != key
    ]


def _sentences(compstat: pd.DataFrame, beats: pd.DataFrame, warnings: list[str]) -> list[str]:
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
                f"The largest rise in shootings was in beat {rise['area']}: "
                f"{rise['current']} against {rise['previous']} ({rise['verdict']})."
            )
    return out


def _footer(status: queries.StoreStatus, by: str) -> list[str]:
    synced = status.last_syncs[status.last_syncs["dataset"] == "victims"]
    when = (
        f"synced {synced['finished_at'].iloc[0]:%Y-%m-%d %H:%M} UTC from "
        f"{report.source_label(str(synced['source'].iloc[0]))}"
        if len(synced)
        else "never synced"
    )
    through = f"{status.last_occurred:%Y-%m-%d}" if status.last_occurred is not None else "-"
    return [
        f"Data through {through}, {when}. Source: City of Chicago, Violence Reduction - "
        "Victims of Homicides and Non-Fatal Shootings (gumc-mgzr). No names; block level only.",
        *report.DEFINITIONS,
        f"Areas: {report.BASIS_NOTES['geometry']}. Map: beats shaded by the change in "
        "shootings; hatching marks increases (lines) and decreases (dots).",
    ]


def draw(data: BriefData) -> Figure:
    """One landscape page: title, CompStat table, map and months, plain words, sources."""
    figure = plt.figure(figsize=PAGE_INCHES)
    figure.text(0.04, 0.965, data.title, fontsize=20, fontweight="bold", va="top")
    figure.text(0.04, 0.918, data.period, fontsize=12, va="top")
    _table(figure.add_axes((0.04, 0.715, 0.92, 0.175)), data.compstat)
    draw_change_map(
        figure.add_axes((0.02, 0.305, 0.42, 0.39)), data.shaded, data.neighbours, data.outline
    )
    _months(figure.add_axes((0.52, 0.53, 0.44, 0.145)), data.monthly)
    words = "\n".join(textwrap.fill(s, 60) for s in data.sentences)
    figure.text(0.48, 0.475, words, fontsize=13, va="top", linespacing=1.3)
    footer = "\n".join(textwrap.fill(s, 118) for s in data.footer)
    figure.text(
        0.04, 0.215, footer, fontsize=MIN_FONT_PT, va="top", color="#111111", linespacing=1.15
    )
    return figure


def _table(ax: plt.Axes, compstat: pd.DataFrame) -> None:
    ax.set_axis_off()
    cells = report.comparison_rows(compstat, "kind")
    table = ax.table(
        cellText=cells.to_numpy().tolist(),
        colLabels=list(cells.columns),
        loc="upper left",
        cellLoc="center",
        colLoc="center",
        colWidths=[0.20, 0.10, 0.10, 0.09, 0.10, 0.09, 0.32],
    )
    table.auto_set_font_size(False)
    table.set_fontsize(12)
    table.scale(1, 1.55)
    for (row, _), cell in table.get_celld().items():
        if row == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#e8e8e8")


def _months(ax: plt.Axes, monthly: pd.DataFrame) -> None:
    x = np.arange(len(monthly))
    ax.bar(
        x - 0.2,
        monthly["last year"],
        0.4,
        label="last year",
        color="#bbbbbb",
        edgecolor="black",
        hatch="//",
    )
    ax.bar(
        x + 0.2, monthly["this year"], 0.4, label="this year", color="#222222", edgecolor="black"
    )
    ax.set_xticks(x, list(monthly.index))
    ax.set_title("Shootings by month, this year against last year", fontsize=13, loc="left")
    ax.legend(fontsize=MIN_FONT_PT, frameon=False)
    ax.tick_params(labelsize=MIN_FONT_PT)
    ax.spines[["top", "right"]].set_visible(False)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def save(figure: Figure, output: Path) -> Path:
    """Write atomically (temp file, then rename): a failed run leaves no file."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}{output.suffix}")
    try:
        figure.savefig(tmp, dpi=PNG_DPI, format=output.suffix.lower().lstrip("."))
        os.replace(tmp, output)
    finally:
        plt.close(figure)
        tmp.unlink(missing_ok=True)
    return output
