"""The one-page brief: one page, the same numbers as `compare`, readable type, clean failures."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from matplotlib.text import Text
from pypdf import PdfReader

from pipeline.brief import draw, gather
from pipeline.cli import main
from pipeline.store import Store
from tests.conftest import ROWS, build_store

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
