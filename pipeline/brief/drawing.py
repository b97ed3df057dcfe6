"""The brief drawn: one US Letter landscape page with matplotlib, from `BriefData`.

Positions are in inches from the paper's lower left corner; text is measured as
Agg renders it, so labels and tables are fitted, not guessed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.axes import Axes

# Agg drawn on a bare Figure, without pyplot: no display, no backend search, and
# ~0.4 s less start-up (pyplot's import and its figure manager are not needed).
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.transforms import Bbox

from geo.maplayers import CHANGE_COLOURS
from geo.staticmap import MIN_FONT_PT, AreaStyle, draw_change_map, legend_handles
from pipeline import report, stats
from pipeline.brief.content import BriefData

PAGE_INCHES = (11.0, 8.5)  # US Letter, landscape
MARGIN_IN = 0.45  # every side; printers clip up to ~0.25 in, the test demands >= 0.4 in
PNG_DPI = 150
LINE_IN = 0.2  # one line of 11-12 pt type with its leading
ROW_IN = 0.19  # a table row of 11 pt type
MIN_ROW_IN = 0.165  # the tightest row that still clears 11 pt type (0.153 in)

#: Change classes as the brief draws them: the web map's colours, plus hatching so a
#: greyscale printer keeps increases (lines), decreases (dots) and "too few to judge"
#: (crossed, on grey) apart; the area's neighbours are unfilled (`geo.staticmap`).
HATCHES = {
    stats.LIKELY_INCREASE: "////",
    "increase within normal variation": "//",
    "no change": None,
    "decrease within normal variation": "..",
    stats.LIKELY_DECREASE: "....",
    stats.TOO_FEW: "xx",
}
#: Legend words where the class name is too long for a legend column.
LEGEND_WORDS = {
    "increase within normal variation": "up, normal variation",
    "decrease within normal variation": "down, normal variation",
}
STYLES = {
    category: AreaStyle(
        tuple(c / 255 for c in CHANGE_COLOURS[category]),  # type: ignore[arg-type]
        hatch,
        LEGEND_WORDS.get(category, category),
    )
    for category, hatch in HATCHES.items()
}
#: Verdicts as the beat table words them (short enough for its column).
SHORT_VERDICTS = {stats.NORMAL_VARIATION: "normal variation"}

matplotlib.rcParams.update(
    {
        "pdf.fonttype": 42,  # embed TrueType: text stays searchable and extractable
        "font.family": "DejaVu Sans",
        "font.size": MIN_FONT_PT,
        "hatch.linewidth": 0.7,
    }
)


def draw(data: BriefData) -> Figure:
    """One landscape page: title, period and plain words; the CompStat table; the map
    with its legend beside the beat table and five years; sources at the foot.
    Positions in inches from the paper's lower left corner, inside MARGIN_IN."""
    figure = Figure(figsize=PAGE_INCHES)
    FigureCanvasAgg(figure)  # text is measured as Agg renders it; savefig picks PDF or PNG
    left, right = MARGIN_IN, PAGE_INCHES[0] - MARGIN_IN
    top = PAGE_INCHES[1] - MARGIN_IN
    top -= _text(figure, left, top, data.title, fontsize=18, fontweight="bold") + 0.08
    top -= _text(figure, left, top, data.period, fontsize=12) + 0.1
    words = " ".join(data.sentences)
    top -= _text(figure, left, top, _wrap(figure, words, right - left, 12), fontsize=12) + 0.12
    height = (len(data.compstat) + 1) * 0.22
    _compstat_table(_axes(figure, left, top - height, right - left, height), data)
    band_top = top - height - 0.22
    map_right = left + MAP_WIDTH_IN
    unplaced = _map_and_legend(figure, data, left, map_right, MARGIN_IN, band_top)
    column = map_right + 0.3
    above_footer = _footer_text(figure, data.footer, column, right) + 0.15
    _beats_and_history(figure, data, unplaced, (column, right, above_footer, band_top))
    return figure


MAP_WIDTH_IN = 4.6


def _text(figure: Figure, left: float, top: float, text: str, **style: Any) -> float:
    """Draw `text` with its top left corner at (left, top) inches; return its height in
    inches as rendered."""
    drawn = figure.text(
        left / PAGE_INCHES[0], top / PAGE_INCHES[1], text, va="top", linespacing=1.2, **style
    )
    return _text_height(figure, drawn)


def _wrap(
    figure: Figure, text: str, width_in: float, size_pt: float, weight: str = "normal"
) -> str:
    """`text` broken into lines no wider than `width_in` at `size_pt`, as rendered; its
    own line breaks are kept."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    font = FontProperties(size=size_pt, weight=weight)
    limit = width_in * figure.dpi

    def fits(line: str) -> bool:
        return renderer.get_text_width_height_descent(line, font, ismath=False)[0] <= limit

    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split()
        while words:
            take = longest_fitting_prefix(words, fits)
            lines.append(" ".join(words[:take]))
            words = words[take:]
    return "\n".join(lines)


def longest_fitting_prefix(words: list[str], fits: Callable[[str], bool]) -> int:
    """Pure: how many of `words` (at least one, even if it alone is too wide) fit on one
    line, found by bisection: a line only widens as words are added, so this is what
    adding words one by one finds, with ~log2(n) measurements instead of n."""
    lo, hi = 1, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(" ".join(words[:mid])):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _axes(figure: Figure, left: float, bottom: float, width: float, height: float) -> Axes:
    """An axes placed in inches (the page is PAGE_INCHES)."""
    page_w, page_h = PAGE_INCHES
    return figure.add_axes((left / page_w, bottom / page_h, width / page_w, height / page_h))


def _footer_text(figure: Figure, footer: list[str], left: float, right: float) -> float:
    """The footer, bottom-aligned on the margin between `left` and `right`; returns its
    top in inches."""
    # One paragraph: a line per item would leave each item's last line half empty.
    text = _wrap(figure, " ".join(footer), right - left, MIN_FONT_PT)
    drawn = figure.text(
        left / PAGE_INCHES[0],
        MARGIN_IN / PAGE_INCHES[1],
        text,
        fontsize=MIN_FONT_PT,
        va="bottom",
        color="#111111",
        linespacing=1.15,
    )
    return MARGIN_IN + _text_height(figure, drawn)


def _compstat_table(ax: Axes, data: BriefData) -> None:
    ax.set_axis_off()
    cells = report.comparison_rows(data.compstat, "kind")
    widths = [0.19, 0.10, 0.10, 0.09, 0.10, 0.09, 0.33]
    table = ax.table(
        cellText=cells.to_numpy().tolist(),
        colLabels=list(cells.columns),
        bbox=Bbox.from_bounds(0, 0, 1, 1),
        cellLoc="center",
        colWidths=widths,
    )
    _style_table(table, 12)


def _style_table(table: matplotlib.table.Table, size: float) -> None:
    table.auto_set_font_size(False)
    table.set_fontsize(size)
    for (row, _), cell in table.get_celld().items():
        cell.set_linewidth(0.6)
        if row == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#e8e8e8")


def _map_and_legend(
    figure: Figure, data: BriefData, left: float, right: float, bottom: float, top: float
) -> set[str]:
    """The legend on the column's foot (two columns of entries when they fit the width,
    else one), the map above it; returns the labels the map had no room for."""
    used = list(dict.fromkeys(s.category for s in data.shaded))
    handles = legend_handles(STYLES, used, data.outside_legend, data.outline_legend)
    legend_ax = _axes(figure, left, bottom, right - left, top - bottom)
    legend_ax.set_axis_off()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for columns in (2, 1):
        legend = legend_ax.legend(
            handles=handles,
            loc="lower left",
            ncol=columns,
            fontsize=MIN_FONT_PT,
            frameon=False,
            handleheight=1.2,
            handlelength=1.8,
            handletextpad=0.5,
            borderaxespad=0,
            columnspacing=0.8,
        )
        extent = legend.get_window_extent(renderer)
        if extent.width <= (right - left) * figure.dpi:
            break
    map_bottom = bottom + extent.height / figure.dpi + 0.1
    map_ax = _axes(figure, left, map_bottom, right - left, top - map_bottom)
    return draw_change_map(map_ax, data.shaded, STYLES, data.outside, data.outline)


#: Beat table columns in inches: class swatch, beat, this year, last year, verdict; and
#: narrower ones, with shorter verdicts, for two tables side by side when one is too long.
BEAT_COLUMNS_IN = (0.3, 0.6, 0.55, 0.55, 1.5)
TWO_UP_COLUMNS_IN = (0.2, 0.52, 0.46, 0.46, 0.88)
TWO_UP_VERDICTS = {
    stats.LIKELY_INCREASE: "likely up",
    stats.LIKELY_DECREASE: "likely down",
    stats.NORMAL_VARIATION: "normal",
    stats.TOO_FEW: "too few",
}
Box = tuple[float, float, float, float]  # left, right, bottom, top in inches


@dataclass(frozen=True)
class TableShape:
    """How the beat table is cut: column widths (inches), verdict words, row height."""

    columns: tuple[float, ...]
    verdicts: dict[str, str]
    row: float


def _beats_and_history(figure: Figure, data: BriefData, unplaced: set[str], box: Box) -> None:
    """The beat table with the five years beside it; when the beats are too many for
    one table, two tables side by side take the whole width, rows as tight as 11 pt
    type allows (the five years are still in the sentences)."""
    left, right, bottom, top = box
    heading = _wrap(figure, data.beats_heading, sum(BEAT_COLUMNS_IN), 12, "bold")
    table_top = top - _text(figure, left, top, heading, fontsize=12, fontweight="bold") - 0.08
    room = table_top - bottom - (LINE_IN if unplaced else 0.0)  # the star's note below
    beats = data.beats
    if len(beats) + 1 <= room / ROW_IN:
        shape = TableShape(BEAT_COLUMNS_IN, SHORT_VERDICTS, ROW_IN)
        low = _beat_table(figure, beats, unplaced, (left, table_top), data.years_compared, shape)
        table_right = left + sum(BEAT_COLUMNS_IN)
        _history_chart(figure, data, (table_right + 0.3, right, bottom, top))
    else:
        rows = min(math.ceil(len(beats) / 2), int(room / MIN_ROW_IN) - 1)
        if 2 * rows < len(beats):  # a second line of notes says how many are left out
            room -= LINE_IN
            rows = int(room / MIN_ROW_IN) - 1
        shape = TableShape(TWO_UP_COLUMNS_IN, TWO_UP_VERDICTS, min(ROW_IN, room / (rows + 1)))
        second = right - sum(TWO_UP_COLUMNS_IN)
        parts = [(beats.iloc[:rows], left), (beats.iloc[rows : 2 * rows], second)]
        low = min(
            _beat_table(figure, part, unplaced, (x, table_top), data.years_compared, shape)
            for part, x in parts
        )
        table_right = right
    shown = len(beats) if shape.columns == BEAT_COLUMNS_IN else min(len(beats), 2 * rows)
    notes = _beat_notes(unplaced, len(beats) - shown)
    if notes:
        wrapped = _wrap(figure, notes, table_right - left, MIN_FONT_PT)
        _text(figure, left, low - 0.05, wrapped, fontsize=MIN_FONT_PT)


def _beat_notes(unplaced: set[str], left_out: int) -> str:
    notes = ["* not numbered on the map: too small at this scale."] if unplaced else []
    if left_out:
        beats = "beat does" if left_out == 1 else "beats do"
        notes.append(f"{left_out} more {beats} not fit here: see the dashboard.")
    return " ".join(notes)


def _beat_table(
    figure: Figure,
    beats: pd.DataFrame,
    unplaced: set[str],
    top_left: tuple[float, float],
    heads: tuple[str, str],
    shape: TableShape,
) -> float:
    """'beat: this year vs last year, verdict', in beat order, the swatch repeating the
    map's class; beats whose number found no room on the map are starred. Returns the
    table's bottom in inches."""
    cells = [
        [
            "",
            str(r.area).lstrip("0") + ("*" if str(r.area).lstrip("0") in unplaced else ""),
            str(r.current),
            str(r.previous),
            shape.verdicts.get(str(r.verdict), str(r.verdict)),
        ]
        for r in beats.itertuples()
    ]
    left, top = top_left
    height = shape.row * (len(cells) + 1)
    ax = _axes(figure, left, top - height, sum(shape.columns), height)
    ax.set_axis_off()
    table = ax.table(
        cellText=cells,
        colLabels=["", "beat", *heads, "verdict"],
        bbox=Bbox.from_bounds(0, 0, 1, 1),
        cellLoc="center",
        colWidths=[w / sum(shape.columns) for w in shape.columns],
    )
    _style_table(table, MIN_FONT_PT)
    for i, category in enumerate(beats["category"], start=1):
        style = STYLES.get(str(category))
        if style is not None:
            table[i, 0].set_facecolor(style.fill)
            if style.hatch:
                table[i, 0].set_hatch(style.hatch)
    return top - height


def _history_chart(figure: Figure, data: BriefData, box: tuple[float, float, float, float]) -> None:
    """The same span in each of the last five years, as bars with their numbers."""
    left, right, bottom, top = box
    heading = figure.text(
        left / PAGE_INCHES[0],
        top / PAGE_INCHES[1],
        data.history_heading,
        fontsize=MIN_FONT_PT,
        fontweight="bold",
        va="top",
        linespacing=1.15,
    )
    top -= _text_height(figure, heading) + 0.1
    years = data.history
    height = min(top - bottom, 0.32 * len(years))
    ax = _axes(figure, left + 0.5, top - height, right - left - 0.5, height)
    counts = years["count"].fillna(0).astype(int).to_list()
    positions = list(range(len(years)))[::-1]  # newest at the bottom, as read down a list
    ax.barh(
        positions,
        counts,
        height=0.6,
        color=["#bbbbbb"] * (len(years) - 1) + ["#333333"],
        edgecolor="black",
        linewidth=0.6,
    )
    ax.set_yticks(positions, [str(y) for y in years["year"]])
    ax.set_xlim(0, max(max(counts), 1) * 1.6)
    for y, n, missing in zip(positions, years["count"], years["missing_months"], strict=True):
        label = "n/a" if pd.isna(n) else f"{n}{'+' if missing else ''}"
        ax.text(0 if pd.isna(n) else n, y, f" {label}", va="center", fontsize=MIN_FONT_PT)
    ax.tick_params(labelsize=MIN_FONT_PT, length=0)
    ax.xaxis.set_visible(False)
    ax.spines[["top", "right", "bottom"]].set_visible(False)


def _text_height(figure: Figure, text: matplotlib.text.Text) -> float:
    """A drawn text's height in inches, as rendered."""
    extent = text.get_window_extent(figure.canvas.get_renderer())  # type: ignore[attr-defined]
    return float(extent.height) / figure.dpi


def save(figure: Figure, output: Path) -> Path:
    """Write atomically (temp file, then rename): a failed run leaves no file."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}{output.suffix}")
    try:
        figure.savefig(tmp, dpi=PNG_DPI, format=output.suffix.lower().lstrip("."))
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return output
