"""Start-up is part of every command's time: each command imports only what it uses.

Each test runs `python -m pipeline ...` as a user does, in a fresh interpreter, and
reads back which heavy libraries ended up in `sys.modules`; a top-level import
added to `pipeline.cli` or to a command's module makes these fail. And the
faster paths give the same answers: the hot spots the sync stored equal the ones
computed from counts per cell; a community area's counts per beat, read only for
cases with a victim in the spans, still count each incident on its first victim;
the brief's line breaking by bisection equals adding words one by one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from geo import hotspots
from pipeline import outreach
from pipeline.brief.drawing import longest_fitting_prefix
from pipeline.commands.outreach import grid_counts, hotspot_table
from pipeline.settings import PROJECT_ROOT
from pipeline.store import Store
from pipeline.trends import Span, year_to_date
from tests.conftest import IN_0111, IN_0212, ROWS, build_store, row

#: Libraries that cost a second or more to import, and the only commands that need them.
HEAVY = (
    "pandas",
    "duckdb",
    "scipy.stats",
    "scipy.spatial",
    "esda",
    "libpysal",
    "geopandas",
    "matplotlib",
    "matplotlib.pyplot",
    "sodapy",
    "tqdm",
)
#: Runs `pipeline.cli.main` on argv, then prints which of HEAVY it loaded, as JSON
#: (after `--help` too, which argparse ends with SystemExit).
PROBE = (
    "import json, sys\n"
    "from pipeline.cli import main\n"
    "try:\n"
    "    code = main(sys.argv[2:])\n"
    "except SystemExit as stop:\n"
    "    code = stop.code\n"
    "print(json.dumps(sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules)))\n"
    "sys.exit(code)\n"
)


def loaded_by(*argv: str) -> set[str]:
    """The HEAVY modules a fresh `python -m pipeline <argv>` process imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(HEAVY), *argv],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("startup"), ROWS)


def test_help_loads_no_data_library() -> None:
    assert loaded_by("--help") == set()


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (["compare", "--district", "01"], {"pandas", "duckdb"}),
        (["compare", "--all-beats", "--format", "json"], {"pandas", "duckdb"}),
        (["counts", "--by", "beat"], {"pandas", "duckdb"}),
        (["status"], {"pandas", "duckdb"}),
        # The default window was computed at sync: read back, no esda or libpysal.
        (["hotspots"], {"pandas", "duckdb"}),
        (["brief", "--district", "01", "-o", "{tmp}/b.pdf"], {"pandas", "duckdb", "matplotlib"}),
    ],
    ids=["compare", "compare-all", "counts", "status", "hotspots", "brief"],
)
def test_command_imports_only_what_it_uses(
    store: Path, tmp_path: Path, argv: list[str], allowed: set[str]
) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    loaded = loaded_by(*args, "--data-dir", str(store))
    assert loaded <= allowed, f"{argv[0]} also imported {sorted(loaded - allowed)}"
    assert {"pandas", "duckdb"} <= loaded  # the probe sees what a command does load


@pytest.mark.parametrize("level", outreach.LEVELS)
def test_stored_hotspots_equal_those_computed_from_counts_per_cell(store: Path, level) -> None:
    with Store(store / "store.duckdb").reader() as q:
        end = q.latest_date()
        span = Span(end - timedelta(days=outreach.HOTSPOT_DAYS - 1), end)
        stored = hotspot_table(q, level, span, "shootings")
        grid = outreach.grid_of(q.con, level)
        counts = grid_counts(q, grid, span, "shootings")
    assert counts.sum() > 0  # the window holds shootings, so the comparison means something
    computed = hotspots.gi_star(counts, grid.neighbours, weights=grid.weights)
    pd.testing.assert_frame_equal(stored, computed, check_dtype=True)


#: One incident either side of New Year: its first victim (2024-12-31, beat 0111) lies
#: before both year-to-date spans, its second (2025-01-01, beat 0212) inside this year's;
#: both are inside the community area Austin.
ACROSS_NEW_YEAR = [
    row(100, "2024-12-31T23:50:00", IN_0111, case_number="JJ999999"),
    row(101, "2025-01-01T00:10:00", IN_0212, case_number="JJ999999"),
]


@pytest.mark.parametrize(("measure", "new_year_count"), [("victims", 1), ("incidents", 0)])
def test_a_community_areas_beats_sum_to_its_count_with_incidents_on_their_first_victim(
    tmp_path: Path, measure: str, new_year_count: int
) -> None:
    data = build_store(tmp_path, ROWS + ACROSS_NEW_YEAR)
    with Store(data / "store.duckdb").reader() as q:
        area = q.resolve_area("community_area", "austin")
        spans = list(year_to_date(q.latest_date()))
        args = (spans, measure, "geometry", "shootings")
        parts = q.span_counts_within("community_area", area, "beat", *args)
        whole = q.span_counts("community_area", *args, key=area)
        lone = q.span_counts_within(
            "community_area", area, "beat", [Span(*[date(2025, 1, 1)] * 2)], *args[1:]
        )
    assert parts.groupby("span")["n"].sum().to_dict() == whole.groupby("span")["n"].sum().to_dict()
    assert int(lone["n"].sum()) == new_year_count


def greedy_prefix(words: list[str], fits) -> int:
    """The brief's former line breaking: add words while the line still fits."""
    line, take = words[0], 1
    for word in words[1:]:
        if not fits(f"{line} {word}"):
            break
        line, take = f"{line} {word}", take + 1
    return take


def break_lines(words: list[str], take) -> list[int]:
    """Words per line when each line takes `take(rest)` of the words left."""
    lines = []
    while words:
        lines.append(take(words))
        words = words[lines[-1] :]
    return lines


@pytest.mark.parametrize("limit", [0, 3, 10, 17, 40, 1000])
def test_bisection_breaks_lines_where_adding_words_one_by_one_does(limit: int) -> None:
    text = "the same span in each of the last five years, counted as victims, a"
    words = text.split(" ")
    fits = lambda line: len(line) <= limit  # noqa: E731  (width grows with every word)
    by_bisection = break_lines(words, lambda rest: longest_fitting_prefix(rest, fits))
    assert by_bisection == break_lines(words, lambda rest: greedy_prefix(rest, fits))
    assert sum(by_bisection) == len(words)
