"""The one-page brief: one page, the same numbers as `compare`, readable type, clean failures;
on the real snapshot: no two text boxes overlap, nothing within 0.4 in of the paper's edge,
sources by portal id, community areas counted only inside, and the numbers `compare` prints."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import shapely
from matplotlib.text import Text
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar
from PIL import Image
from pypdf import PdfReader

from geo.staticmap import (
    AreaStyle,
    Shaded,
    boxes_overlap,
    draw_change_map,
    expand_to_shape,
    fits,
)
from pipeline import stats
from pipeline.brief import make_brief
from pipeline.brief.content import gather
from pipeline.brief.drawing import HATCHES, STYLES, draw
from pipeline.cli import main
from pipeline.compstat import compare_areas
from pipeline.store import Store
from pipeline.trends import year_to_date
from tests.conftest import ROWS, build_store, needs_snapshot, sync_real_snapshot

ARTIFACTS = Path(__file__).parent / "artifacts"
REAL_AREAS = [("district", "17"), ("beat", "1713"), ("community_area", "ALBANY PARK")]
REAL_AS_OF = date(2020, 11, 29)
MARGIN_PT = 0.4 * 72  # printers clip up to ~0.25 in; the brief keeps 0.4 in clear

AREAS = [("--district", "1"), ("--beat", "0111"), ("--community-area", "austin")]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("brief"), ROWS)


def compare_rows(capsys, store: Path, *argv: str) -> list[list[str]]:
    """The table rows `compare` prints, split into cells (kinds joined back together)."""
    assert main(["compare", "--data-dir", str(store), *argv]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("kind"))
    rows = []
    for line in lines[start + 1 : start + 5]:
        words = line.split()
        split = next(i for i, w in enumerate(words) if w.lstrip("+-").isdigit())
        rows.append([" ".join(words[:split]), *words[split:]])
    return rows


def pdf_words(path: Path) -> list[str]:
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text().split()


def contains_in_order(words: list[str], wanted: list[str]) -> bool:
    position = 0
    for word in wanted:
        try:
            position = words.index(word, position) + 1
        except ValueError:
            return False
    return True


@pytest.mark.parametrize(("flag", "area"), AREAS, ids=["district", "beat", "community-area"])
def test_one_page_with_exactly_the_compare_numbers(store, tmp_path, capsys, flag, area) -> None:
    out = tmp_path / "brief.pdf"
    assert (
        main(
            ["brief", "--data-dir", str(store), flag, area, "--as-of", "2025-03-05", "-o", str(out)]
        )
        == 0
    )
    words = pdf_words(out)
    for row in compare_rows(capsys, store, flag, area, "--as-of", "2025-03-05"):
        assert contains_in_order(words, " ".join(row).split()), row
    assert "2025-03-05" in " ".join(words) or "05 March 2025" in " ".join(words)
    assert not [w for w in words if w.upper() in ("SECRETFIRST", "SECRETLAST")]


def test_png_output_and_pdftoppm_rendering(store, tmp_path) -> None:
    png = tmp_path / "brief.png"
    assert main(["brief", "--data-dir", str(store), "--district", "1", "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian package poppler-utils) not installed; .ci/run installs it")
    pdf = tmp_path / "brief.pdf"
    assert main(["brief", "--data-dir", str(store), "--district", "1", "-o", str(pdf)]) == 0
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1 and pages[0].stat().st_size > 10_000


def test_nothing_on_the_page_is_under_11_points(store) -> None:
    with Store(store / "store.duckdb").reader() as q:
        figure = draw(gather(q, "district", "1", date(2025, 3, 5), "victims"))
    sizes = [float(t.get_fontsize()) for t in figure.findobj(Text) if t.get_text().strip()]
    assert sizes and min(sizes) >= 11


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--district", "99"], "district was '99' but is not in the current boundaries"),
        (["--beat", "0111", "--as-of", "2031-01-01"], "after the last record in the store"),
        (["--district", "1", "-o", "brief.docx"], "must end in .pdf or .png"),
    ],
    ids=["unknown-area", "as-of-past-data", "bad-format"],
)
def test_bad_requests_write_nothing(store, tmp_path, capsys, argv, message) -> None:
    argv = [*argv, "-o", str(tmp_path / "out.pdf")] if "-o" not in argv else argv
    code = main(["brief", "--data-dir", str(store), *argv])
    err = capsys.readouterr().err
    assert code != 0 and message in err and err.count("\n") == 1
    assert not list(tmp_path.glob("*.pdf")) and not list(tmp_path.glob("*.docx"))


def test_empty_store_writes_nothing(tmp_path, capsys) -> None:
    out = tmp_path / "out.pdf"
    assert (
        main(["brief", "--data-dir", str(tmp_path / "none"), "--beat", "0111", "-o", str(out)]) == 1
    )
    assert "no store at" in capsys.readouterr().err and not out.exists()


# -- reading the page back -----------------------------------------------------------


def pdf_chars(path: Path) -> list[LTChar]:
    """Every glyph drawn on the one page, with its box in points (pdfminer)."""
    found: list[LTChar] = []

    def walk(item: object) -> None:
        if isinstance(item, LTChar):
            found.append(item)
        elif hasattr(item, "__iter__"):
            for child in item:
                walk(child)

    pages = list(extract_pages(path))
    assert len(pages) == 1
    walk(pages[0])
    return [c for c in found if c.get_text().strip()]


KERNING_PT = 2.5  # kerned pairs ("Ye", "r.", "PA" at 18 pt) overlap by up to ~2 pt


def word_boxes(path: Path) -> list[tuple[str, tuple[float, float, float, float]]]:
    """The page's words with their boxes in points: runs of glyphs in drawing order that
    sit on one baseline, each starting where the one before ends (within kerning). A
    space, a jump back or a new line starts a new word, so two texts drawn over each
    other become two words."""
    words: list[tuple[str, list[float]]] = []
    last: LTChar | None = None
    for c in pdf_chars(path):
        joined = (
            last is not None
            and abs(c.y0 - last.y0) < 0.5
            and last.x1 - KERNING_PT <= c.x0 <= last.x1 + 1.0
        )
        if joined:
            text, box = words[-1]
            words[-1] = (text + c.get_text(), [box[0], min(box[1], c.y0), c.x1, max(box[3], c.y1)])
        else:
            words.append((c.get_text(), list(c.bbox)))
        last = c
    return [(text, (box[0], box[1], box[2], box[3])) for text, box in words]


def overlapping_words(
    words: list[tuple[str, tuple[float, float, float, float]]], gap: float = 1.0
) -> list[tuple[str, str]]:
    """Pairs of words that overlap or touch: side by side they must be `gap` points apart
    (words of one line are a space, ~3 pt, apart; "6 vs 421 vs 7" was two labels
    touching); above each other they may share 0.5 pt (glyph boxes are one em tall)."""
    grow = np.array([-gap / 2, 0.5, gap / 2, -0.5])
    boxes = np.array([box for _, box in words]) + grow
    x0, y0, x1, y1 = (boxes[:, i][:, None] for i in range(4))
    hits = (x0 < x1.T) & (x1 > x0.T) & (y0 < y1.T) & (y1 > y0.T)
    first, second = np.nonzero(np.triu(hits, k=1))

    def name(i: int) -> str:
        text, box = words[i]
        return f"{text!r} at ({box[0]:.0f}, {box[1]:.0f})"

    return [(name(int(i)), name(int(j))) for i, j in zip(first, second, strict=True)]


def test_the_overlap_check_catches_overlapping_text(tmp_path) -> None:
    """The check below can fail: two labels drawn on top of each other are caught (the
    old brief's "6 vs 421 vs 7")."""
    figure = plt.figure(figsize=(4, 2))
    figure.text(0.2, 0.5, "6 vs 4", fontsize=11)
    figure.text(0.26, 0.5, "21 vs 7", fontsize=11)
    figure.text(0.2, 0.2, "apart", fontsize=11)
    figure.savefig(tmp_path / "overlap.pdf")
    plt.close(figure)
    pairs = overlapping_words(word_boxes(tmp_path / "overlap.pdf"))
    assert pairs and not any("apart" in a or "apart" in b for a, b in pairs)


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [((0, 0, 2, 2), (1, 1, 3, 3), True), ((0, 0, 1, 1), (1, 0, 2, 1), False)],
    ids=["crossing", "touching"],
)
def test_boxes_overlap(a, b, overlap) -> None:
    assert boxes_overlap(a, b) is overlap
    assert fits(b, (0, 0, 3, 3), [a]) is not overlap


@pytest.mark.parametrize(
    ("view", "aspect", "ratio"),
    [((0, 1, 0, 1), 1.0, 2.0), ((0, 4, 0, 1), 1.0, 1.0), ((-87.8, -87.7, 41.9, 42.0), 1.34, 1.5)],
    ids=["widen", "heighten", "chicago"],
)
def test_the_map_view_takes_the_axes_shape_and_keeps_the_area(view, aspect, ratio) -> None:
    x0, x1, y0, y1 = expand_to_shape(view, aspect, ratio)
    assert x0 <= view[0] and x1 >= view[1] and y0 <= view[2] and y1 >= view[3]
    assert (x1 - x0) / ((y1 - y0) * aspect) == pytest.approx(ratio)
    assert (x0 + x1) / 2 == pytest.approx((view[0] + view[1]) / 2)
    assert (y0 + y1) / 2 == pytest.approx((view[2] + view[3]) / 2)


def test_labels_with_no_room_are_left_off_the_map_and_reported() -> None:
    """Two big squares get their labels; a sliver too thin for one is reported back, and
    no two placed labels overlap as rendered."""
    style = {"x": AreaStyle((0.9, 0.9, 0.9), None, "x")}
    shapes = [
        Shaded(shapely.box(0, 0, 1, 1), "1111", "x"),
        Shaded(shapely.box(1, 0, 2, 1), "2222", "x"),
        Shaded(shapely.box(2, 0, 2.01, 1), "3333", "x"),
    ]
    figure = plt.figure(figsize=(4, 2))
    ax = figure.add_axes((0, 0, 1, 1))
    missing = draw_change_map(ax, shapes, style)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    plt.close(figure)
    assert missing == {"3333"}
    assert sorted(t.get_text() for t in ax.texts) == ["1111", "2222"]
    assert not boxes[0].overlaps(boxes[1])


def test_too_few_to_judge_does_not_look_like_outside_the_area() -> None:
    """'Too few to judge' is grey and cross-hatched; the area's neighbours are drawn
    unfilled (white) with a dashed edge; every other class has its own look."""
    too_few = STYLES[stats.TOO_FEW]
    assert too_few.hatch and too_few.fill != (1.0, 1.0, 1.0)
    looks = {(s.fill, s.hatch) for s in STYLES.values()}
    assert len(looks) == len(HATCHES)


# -- the real snapshot ---------------------------------------------------------------


@pytest.fixture(scope="module")
def real_store(tmp_path_factory) -> Path:
    return sync_real_snapshot(tmp_path_factory.mktemp("brief-real") / "data")


@pytest.fixture(scope="module")
def real_briefs(real_store, tmp_path_factory) -> dict[str, Path]:
    """The three briefs as PDFs; also rendered at 80 dpi into tests/artifacts/ to look at."""
    folder = tmp_path_factory.mktemp("briefs")
    store = Store(real_store / "store.duckdb")
    out = {}
    for by, key in REAL_AREAS:
        out[by] = make_brief(store, by, key, folder / f"{by}.pdf", REAL_AS_OF)
        if shutil.which("pdftoppm"):
            ARTIFACTS.mkdir(exist_ok=True)
            name = f"brief_{by}_{key.replace(' ', '_').lower()}"
            subprocess.run(
                [
                    "pdftoppm",
                    "-png",
                    "-r",
                    "80",
                    "-singlefile",
                    str(out[by]),
                    str(ARTIFACTS / name),
                ],
                check=True,
            )
    return out


@needs_snapshot
@pytest.mark.parametrize("by", [by for by, _ in REAL_AREAS])
def test_no_two_text_boxes_overlap(real_briefs, by) -> None:
    words = word_boxes(real_briefs[by])
    assert len(words) > 200  # the whole page was read: tables, map labels, footer
    assert overlapping_words(words) == []


@needs_snapshot
@pytest.mark.parametrize("by", [by for by, _ in REAL_AREAS])
def test_margins_of_at_least_0_4_inches(real_briefs, by, tmp_path) -> None:
    """No glyph within 0.4 in of the edge, and, rasterised, the outer 0.4 in band is
    blank (lines and shapes included)."""
    chars = pdf_chars(real_briefs[by])
    reader = PdfReader(real_briefs[by])
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (width, height) == (792.0, 612.0)  # US Letter, landscape
    assert min(c.x0 for c in chars) >= MARGIN_PT and max(c.x1 for c in chars) <= width - MARGIN_PT
    assert min(c.y0 for c in chars) >= MARGIN_PT and max(c.y1 for c in chars) <= height - MARGIN_PT
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian package poppler-utils) not installed; .ci/run installs it")
    dpi = 50
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            str(dpi),
            "-singlefile",
            str(real_briefs[by]),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    pixels = np.asarray(Image.open(tmp_path / "p.png").convert("L"))
    band = int(0.4 * dpi)
    inner = pixels[band:-band, band:-band]
    outer = pixels.copy()
    outer[band:-band, band:-band] = 255
    assert outer.min() == 255, "something is drawn within 0.4 in of the paper's edge"
    assert inner.min() < 100  # the page itself is not blank


@needs_snapshot
@pytest.mark.parametrize("by", [by for by, _ in REAL_AREAS])
def test_footer_names_portal_datasets_not_local_files(real_briefs, by) -> None:
    text = " ".join(PdfReader(real_briefs[by]).pages[0].extract_text().split())
    assert "Victims of Homicides and Non-Fatal Shootings (gumc-mgzr)" in text
    assert "Police Beats (aerh-rz74)" in text
    wanted = {"district": "fthy-xz3r", "community_area": "cauq-8yn6"}.get(by)
    assert wanted is None or wanted in text
    assert "store last synced 20" in text and "Data through 2026-08-03" in text
    for local in ("victims_api_sample", ".csv", ".geojson", "local files", "/tmp", "file:"):
        assert local not in text


@needs_snapshot
@pytest.mark.parametrize(
    ("basis", "homicides"), [("geometry", "10"), ("recorded", "11")], ids=["geometry", "recorded"]
)
def test_district_17_brief_shows_what_compare_prints(
    real_store, tmp_path, capsys, basis, homicides
) -> None:
    """Through 2020-11-29 CPD reported 11 homicides against 5 (recorded codes); one of
    them lies 43 m outside the district, so the geometry basis counts 10."""
    pdf = make_brief(
        Store(real_store / "store.duckdb"),
        "district",
        "17",
        tmp_path / "b.pdf",
        REAL_AS_OF,
        basis=basis,
    )
    words = " ".join(PdfReader(pdf).pages[0].extract_text().split()).split()
    argv = ["--district", "17", "--as-of", str(REAL_AS_OF), "--basis", basis]
    rows = compare_rows(capsys, real_store, *argv)
    assert rows[3][:3] == ["homicides", homicides, "5"]
    for row in rows:
        assert contains_in_order(words, " ".join(row).split()), row


@needs_snapshot
def test_community_area_counts_beats_only_inside_it(real_store) -> None:
    """Albany Park: the beats' counts add up to the area's own, and a beat that runs
    past the area's edge (1723, whole: 21 vs 7) counts only its part inside."""
    current, previous = year_to_date(REAL_AS_OF)
    with Store(real_store / "store.duckdb").reader() as q:
        data = gather(q, "community_area", "ALBANY PARK", REAL_AS_OF, "victims")
        whole = compare_areas(q, "beat", current, previous).table.set_index("area")
    area = data.compstat.set_index("kind").loc["shootings"]
    assert data.beats["current"].sum() == area["current"]
    assert data.beats["previous"].sum() == area["previous"]
    inside = data.beats.set_index("area")
    partial = [b for b in inside.index if inside.loc[b, "current"] < whole.loc[b, "current"]]
    assert "1723" in partial
    assert all(inside.loc[b, "current"] <= whole.loc[b, "current"] for b in inside.index)
