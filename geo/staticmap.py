"""Static maps for print: shapely polygons drawn with matplotlib (no WebGL, no tiles).

Polygons become matplotlib patches through `shapely.plotting.patch_from_polygon`
(holes included, rings oriented so holes stay empty).

Colours alone do not survive a greyscale printer, so increases are also
hatched with diagonals and decreases with dots, and every shaded area carries
its numbers as a label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
import shapely.affinity
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from shapely.plotting import patch_from_polygon

from geo.maplayers import CHANGE_COLOURS, RGB

HATCHES = {
    "likely increase": "////",
    "increase within normal variation": "//",
    "likely decrease": "....",
    "decrease within normal variation": "..",
}
NEIGHBOUR_FILL = (0.90, 0.90, 0.90)
NEIGHBOUR_EDGE = (0.55, 0.55, 0.55)
MIN_FONT_PT = 11  # readable from the back of a room


@dataclass(frozen=True)
class Shaded:
    """An area drawn in colour: its geometry (EPSG:4326), label text and change category."""

    geometry: shapely.Geometry
    label: str
    category: str


def _rgb(colour: RGB) -> tuple[float, float, float]:
    return (colour[0] / 255, colour[1] / 255, colour[2] / 255)


def draw_change_map(
    ax: Axes,
    shaded: Sequence[Shaded],
    neighbours: Sequence[tuple[shapely.Geometry, str]],
    outline: shapely.Geometry | None = None,
) -> None:
    """Shaded areas with labels, grey neighbours around them, an optional outline of the
    area itself (a community area's edge over the beats), a legend; axes hidden."""
    for geometry, label in neighbours:
        ax.add_patch(
            patch_from_polygon(
                geometry,
                facecolor=NEIGHBOUR_FILL,
                edgecolor=NEIGHBOUR_EDGE,
                linewidth=0.8,
            )
        )
        # Label a neighbour only where its name sits well inside the visible frame.
        inner = shapely.affinity.scale(_view_box(shaded), 0.7, 0.8) if shaded else geometry
        point = geometry.intersection(inner).representative_point()
        if not point.is_empty:
            ax.text(
                point.x,
                point.y,
                label,
                ha="center",
                va="center",
                fontsize=MIN_FONT_PT,
                color="#333333",
                clip_on=True,
            )
    for area in shaded:
        ax.add_patch(
            patch_from_polygon(
                area.geometry,
                facecolor=_rgb(CHANGE_COLOURS.get(area.category, (255, 255, 255))),
                edgecolor="black",
                linewidth=1.2,
                hatch=HATCHES.get(area.category),
            )
        )
        point = area.geometry.representative_point()
        ax.text(
            point.x,
            point.y,
            area.label,
            ha="center",
            va="center",
            fontsize=MIN_FONT_PT,
            fontweight="bold",
            color="black",
            bbox={
                "boxstyle": "round,pad=0.15",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.85,
            },
        )
    if outline is not None:
        ax.add_patch(
            patch_from_polygon(
                outline,
                facecolor="none",
                edgecolor="black",
                linewidth=3,
                linestyle=(0, (4, 2)),
            )
        )
    focus = shapely.union_all([a.geometry for a in shaded]) if shaded else None
    if focus is not None:
        _frame(ax, focus)
    ax.set_axis_off()
    used = list(dict.fromkeys(a.category for a in shaded))
    handles = [
        Patch(
            facecolor=_rgb(CHANGE_COLOURS.get(c, (255, 255, 255))),
            edgecolor="black",
            hatch=HATCHES.get(c),
            label=c,
        )
        for c in CHANGE_COLOURS
        if c in used
    ]
    if handles:
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(0, 0),
            ncol=2,
            fontsize=MIN_FONT_PT,
            frameon=False,
            handleheight=1.4,
            handlelength=2.2,
        )


MARGIN = 0.15  # share of the focus area's size shown around it


def _view_box(shaded: Sequence[Shaded]) -> shapely.Geometry:
    """The part of the map that will be visible: the shaded areas' box plus the margin."""
    min_x, min_y, max_x, max_y = shapely.union_all([a.geometry for a in shaded]).bounds
    pad_x, pad_y = (max_x - min_x) * MARGIN, (max_y - min_y) * MARGIN
    return shapely.box(min_x - pad_x, min_y - pad_y, max_x + pad_x, max_y + pad_y)


def _frame(ax: Axes, focus: shapely.Geometry, margin: float = MARGIN) -> None:
    """Fit the view to `focus` plus a margin, with true proportions at Chicago's latitude."""
    min_x, min_y, max_x, max_y = focus.bounds
    pad_x, pad_y = (max_x - min_x) * margin, (max_y - min_y) * margin
    ax.set_xlim(min_x - pad_x, max_x + pad_x)
    ax.set_ylim(min_y - pad_y, max_y + pad_y)
    ax.set_aspect(1 / math.cos(math.radians((min_y + max_y) / 2)))
