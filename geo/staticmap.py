"""Static maps for print: shapely polygons drawn with matplotlib (no WebGL, no tiles).

Polygons become matplotlib patches through `shapely.plotting.patch_from_polygon`
(holes included, rings oriented so holes stay empty).

The caller says what each class looks like (`AreaStyle`: fill, hatch, legend
words), so this module knows nothing of verdicts. Colours alone do not survive a
greyscale printer: the caller's styles hatch what matters, and areas outside the
one reported on are drawn unfilled with a dashed grey edge.

Labels are short (a beat number) and placed with collision checks: each label's
rendered box, in display coordinates, must fit inside its own area, inside the
map and clear of every label already placed; a label with no such spot is left
off the map and reported back, so the caller can say so in its table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import shapely.ops
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from shapely.plotting import patch_from_polygon

MIN_FONT_PT = 11  # readable from the back of a room
OUTSIDE_EDGE = (0.55, 0.55, 0.55)
OUTSIDE_TEXT = "#555555"  # 7.5:1 on white
LABEL_GAP_PT = 2.0  # clear space kept around every label
CANDIDATE_GRID = 14  # grid points per side tried inside an area for its label
MARGIN = 0.12  # share of the focus area's size shown around it
SPILL_SHARE = 0.6  # least share of a label's box inside its area when it cannot fit whole

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in display units (pixels)


@dataclass(frozen=True)
class AreaStyle:
    """How one class of area is drawn: fill as RGB in 0..1, hatch (None: plain), and the
    words the legend gives it."""

    fill: tuple[float, float, float]
    hatch: str | None
    legend: str


@dataclass(frozen=True)
class Shaded:
    """An area drawn in colour: its geometry (EPSG:4326), its short label and its class
    (a key of the styles passed to `draw_change_map`)."""

    geometry: shapely.Geometry
    label: str
    category: str


@dataclass(frozen=True)
class Outside:
    """A neighbouring area outside the one reported on: geometry (EPSG:4326) and name."""

    geometry: shapely.Geometry
    label: str


def draw_change_map(
    ax: Axes,
    shaded: Sequence[Shaded],
    styles: Mapping[str, AreaStyle],
    outside: Sequence[Outside] = (),
    outline: shapely.Geometry | None = None,
) -> set[str]:
    """Shaded areas, unfilled neighbours around them, an optional thick outline of the
    area itself (a community area's edge over its beats), then labels placed without
    overlap. Returns the labels of shaded areas that found no room. Axes hidden; the
    view is fitted to the shaded areas and fills the axes."""
    _draw_areas(ax, shaded, styles, outside, outline)
    if shaded:
        _frame(ax, shapely.union_all([a.geometry for a in shaded]))
    ax.set_axis_off()
    ax.apply_aspect()  # the final view: labels are checked against it
    return _place_labels(ax, shaded, outside)


def _draw_areas(
    ax: Axes,
    shaded: Sequence[Shaded],
    styles: Mapping[str, AreaStyle],
    outside: Sequence[Outside],
    outline: shapely.Geometry | None,
) -> None:
    for neighbour in outside:
        _add_area(
            ax,
            neighbour.geometry,
            facecolor="white",
            edgecolor=OUTSIDE_EDGE,
            linewidth=0.9,
            linestyle=(0, (3, 2)),
        )
    for area in shaded:
        style = styles[area.category]
        _add_area(
            ax,
            area.geometry,
            facecolor=style.fill,
            edgecolor="black",
            linewidth=1.0,
            hatch=style.hatch,
        )
    if outline is not None:
        _add_area(
            ax, outline, facecolor="none", edgecolor="black", linewidth=2.6, linestyle=(0, (5, 2))
        )


def _add_area(ax: Axes, geometry: shapely.Geometry, **style: Any) -> None:
    """One polygon as a patch; the data limits grow by its bounds. (`ax.add_patch` finds
    them by walking every segment in Python: 0.5 s for a district's detailed edge.)"""
    ax.add_artist(patch_from_polygon(geometry, **style))
    min_x, min_y, max_x, max_y = geometry.bounds
    ax.update_datalim([(min_x, min_y), (max_x, max_y)])


def _place_labels(ax: Axes, shaded: Sequence[Shaded], outside: Sequence[Outside]) -> set[str]:
    """Shaded areas' labels first, smallest area first (the big ones have room to
    spare); neighbours' names only where room is left. Returns the shaded labels left
    off."""
    placed: list[Box] = []
    by_size = sorted(shaded, key=lambda a: a.geometry.area)
    missing = {a.label for a in by_size if not _place(ax, a.geometry, a.label, placed, True)}
    view = shapely.box(*_view_limits(ax))
    for neighbour in outside:
        _place(ax, neighbour.geometry.intersection(view), neighbour.label, placed, False)
    return missing


def legend_handles(
    styles: Mapping[str, AreaStyle], used: Sequence[str], outside: str | None, outline: str | None
) -> list[Patch]:
    """Legend entries for the classes in `used` (in the styles' order), then the
    neighbours' style and the outline's, when those are drawn (their legend words)."""
    handles = [
        Patch(facecolor=s.fill, edgecolor="black", hatch=s.hatch, label=s.legend)
        for category, s in styles.items()
        if category in used
    ]
    if outside:
        handles.append(
            Patch(facecolor="white", edgecolor=OUTSIDE_EDGE, linestyle=(0, (3, 2)), label=outside)
        )
    if outline:
        handles.append(
            Patch(facecolor="none", edgecolor="black", linewidth=2.2, linestyle="--", label=outline)
        )
    return handles


def _place(
    ax: Axes, geometry: shapely.Geometry, label: str, placed: list[Box], shaded: bool
) -> bool:
    """Put `label` at the first candidate spot inside `geometry` where its rendered box
    fits inside the area and the map and overlaps no box in `placed`; False if none."""
    candidates = [] if geometry.is_empty else label_candidates(geometry)
    if not candidates:
        return False
    text = ax.text(
        *candidates[0],
        label,
        ha="center",
        va="center",
        fontsize=MIN_FONT_PT,
        fontweight="bold" if shaded else "normal",
        color="black" if shaded else OUTSIDE_TEXT,
        bbox={"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none"}
        if shaded
        else None,
    )
    frame = _box(ax.get_window_extent())
    spots = _candidate_boxes(ax, text, candidates)
    # Wholly inside its area if anywhere possible; a shaded area too small for its
    # number may let the label's plate spill over its edge, centred inside.
    for share in (1.0, SPILL_SHARE) if shaded else (1.0,):
        for spot, box, footprint in spots:
            inside = footprint.intersection(geometry).area >= share * footprint.area * 0.999
            if inside and fits(box, frame, placed):
                text.set_position(spot)
                placed.append(box)
                return True
    text.remove()
    return False


def _candidate_boxes(
    ax: Axes, text: Text, candidates: list[tuple[float, float]]
) -> list[tuple[tuple[float, float], Box, shapely.Geometry]]:
    """For each candidate centre: the label's box there in display units (with the gap
    kept around labels) and the same box in data units. A label's rendered size does
    not depend on where it sits, so it is measured once and moved."""
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    pad = LABEL_GAP_PT * ax.figure.dpi / 72
    extent = _grow(_box(text.get_window_extent(renderer)), pad)
    shifts = ax.transData.transform(candidates) - ax.transData.transform(candidates[0])
    to_data = ax.transData.inverted()
    spots = []
    for spot, (dx, dy) in zip(candidates, shifts, strict=True):
        box = (extent[0] + dx, extent[1] + dy, extent[2] + dx, extent[3] + dy)
        corners = to_data.transform([(box[0], box[1]), (box[2], box[3])])
        spots.append((spot, box, shapely.box(*corners[0], *corners[1])))
    return spots


def fits(box: Box, frame: Box, placed: Sequence[Box]) -> bool:
    """Pure: `box` lies inside `frame` and overlaps none of `placed`."""
    inside = frame[0] <= box[0] and frame[1] <= box[1] and box[2] <= frame[2] and box[3] <= frame[3]
    return inside and not any(boxes_overlap(box, other) for other in placed)


def boxes_overlap(a: Box, b: Box) -> bool:
    """Pure: the two boxes share some area (touching edges do not count)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_candidates(geometry: shapely.Geometry) -> list[tuple[float, float]]:
    """Spots to try for an area's label, best first: the pole of inaccessibility of its
    largest piece (the point farthest from its edges), then grid points inside it,
    farthest from the edges first."""
    pieces = list(getattr(geometry, "geoms", [geometry]))
    polygons = [p for p in pieces if isinstance(p, shapely.Polygon) and not p.is_empty]
    if not polygons:
        return []
    largest = max(polygons, key=lambda p: p.area)
    best = shapely.ops.polylabel(largest, tolerance=largest.length / 500)
    min_x, min_y, max_x, max_y = largest.bounds
    xs, ys = np.meshgrid(
        np.linspace(min_x, max_x, CANDIDATE_GRID), np.linspace(min_y, max_y, CANDIDATE_GRID)
    )
    grid = shapely.points(xs.ravel(), ys.ravel())
    grid = grid[shapely.contains(largest, grid)]
    order = np.argsort(-shapely.distance(largest.boundary, grid))
    return [(best.x, best.y)] + [(p.x, p.y) for p in grid[order]]


def _box(bbox: Bbox) -> Box:
    return (float(bbox.x0), float(bbox.y0), float(bbox.x1), float(bbox.y1))


def _grow(box: Box, pad: float) -> Box:
    return (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)


def _view_limits(ax: Axes) -> tuple[float, float, float, float]:
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return (x0, y0, x1, y1)


def _frame(ax: Axes, focus: shapely.Geometry, margin: float = MARGIN) -> None:
    """Fit the view to `focus` plus a margin, with true proportions at Chicago's latitude
    (a degree of longitude is cos(latitude) of a degree of latitude): the view widens
    or heightens to the axes' own shape, so the map fills the axes and `focus` stays
    whole and centred."""
    min_x, min_y, max_x, max_y = focus.bounds
    pad_x, pad_y = (max_x - min_x) * margin, (max_y - min_y) * margin
    aspect = 1 / math.cos(math.radians((min_y + max_y) / 2))
    x0, x1, y0, y1 = expand_to_shape(
        (min_x - pad_x, max_x + pad_x, min_y - pad_y, max_y + pad_y),
        aspect,
        ax.get_window_extent().width / ax.get_window_extent().height,
    )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(aspect, adjustable="box")  # the limits already have the axes' shape


def expand_to_shape(
    view: tuple[float, float, float, float], aspect: float, box_ratio: float
) -> tuple[float, float, float, float]:
    """Pure: the smallest (x0, x1, y0, y1) around `view`, same centre, whose width over
    `aspect` times its height equals `box_ratio` (the axes' width over height)."""
    x0, x1, y0, y1 = view
    width, height = x1 - x0, (y1 - y0) * aspect
    if width / height < box_ratio:
        grow = (height * box_ratio - width) / 2
        return (x0 - grow, x1 + grow, y0, y1)
    grow = (width / box_ratio - height) / 2 / aspect
    return (x0, x1, y0 - grow, y1 + grow)
