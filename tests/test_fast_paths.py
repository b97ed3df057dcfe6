"""The sync's fast paths give exactly the answers of the plain ones: the grid pre-pass of
`geo.assign` against a point-in-polygon test of every point (real boundaries, points on
and beside their edges and corners), and Arrow's reading of plain ISO timestamps
against pandas'; the file reader's read-ahead thread keeps order, errors and cleanup,
and its blocks of CSV, parsed in one reused buffer, keep every row's text."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings

import geo.assign as assign
from geo.assign import BORDER, NO_POLYGON, Placement, build_grid, covering_polygons
from geo.layers import BoundaryLayer, beat_districts
from pipeline import schema
from pipeline.boundaries import boundary_rows
from pipeline.config import LAYERS
from pipeline.errors import InputFileError
from pipeline.sources.files import read_ahead, read_victims_pages
from tests.conftest import BOUNDARY_FILES, needs_snapshot, tiny_layers


def layer_from(name: str, collection: dict) -> BoundaryLayer:
    rows = boundary_rows(LAYERS[name], collection, "test")
    columns = rows[["key", "name", "geometry", "properties"]]
    return BoundaryLayer.from_rows(name, list(columns.itertuples(index=False, name=None)))


def plain_answer(lon: np.ndarray, lat: np.ndarray, layer: BoundaryLayer) -> np.ndarray:
    """The reference: shapely's STRtree over the polygons, every point tested, ties to the
    smallest key (keys are sorted, so the lowest index)."""
    found = np.full(len(lon), NO_POLYGON)
    tree = shapely.STRtree(layer.geometries)
    point_idx, polygon_idx = tree.query(shapely.points(lon, lat), predicate="intersects")
    for point, polygon in zip(point_idx, polygon_idx, strict=True):
        if found[point] == NO_POLYGON or polygon < found[point]:
            found[point] = polygon
    return found


def edge_points(layer: BoundaryLayer, seed: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Every vertex, every edge's midpoint, vertices nudged by 1e-12 .. 1e-5 degrees, and
    random points over (and beyond) the layer's bounds, plus a NaN."""
    rng = np.random.default_rng(seed)
    vertices = shapely.get_coordinates(shapely.boundary(layer.geometries))
    midpoints = (vertices[:-1] + vertices[1:]) / 2
    nudged = [vertices + rng.normal(0, scale, vertices.shape) for scale in (1e-12, 1e-9, 1e-5)]
    minx, miny, maxx, maxy = shapely.total_bounds(layer.geometries)
    spread = rng.uniform((minx - 0.01, miny - 0.01), (maxx + 0.01, maxy + 0.01), (50_000, 2))
    corners = np.array([(minx, miny), (maxx, maxy), (np.nan, miny)])
    points = np.concatenate([vertices, midpoints, *nudged, spread, corners])
    return points[:, 0], points[:, 1]


@needs_snapshot
@pytest.mark.parametrize("name", ["beats", "community_areas", "zip_codes", "neighborhoods"])
def test_grid_places_real_points_exactly_as_testing_every_point(name: str) -> None:
    layer = layer_from(name, json.loads(BOUNDARY_FILES[name].read_text()))
    lon, lat = edge_points(layer)
    grid = build_grid(layer)
    fast = covering_polygons(lon, lat, layer, grid)
    np.testing.assert_array_equal(fast, plain_answer(lon, lat, layer))
    # The grid did the work: most cells answer alone, few need the exact test.
    assert (grid.cells == BORDER).mean() < 0.1
    assert (grid.cells >= 0).mean() > 0.3


def test_grid_on_shared_borders_and_corners_of_tiny_squares() -> None:
    beats = layer_from("beats", tiny_layers()["beats"])
    lon, lat = edge_points(beats)
    on_lines = np.linspace(-87.75, -87.65, 401)  # every border and corner of the squares
    lon = np.concatenate([lon, np.repeat(on_lines, 3), np.full(401, -87.70)])
    lat = np.concatenate([lat, np.tile([41.80, 41.85, 41.90], 401), np.linspace(41.8, 41.9, 401)])
    fast = covering_polygons(lon, lat, beats, build_grid(beats))
    np.testing.assert_array_equal(fast, plain_answer(lon, lat, beats))
    assert (fast >= 0).sum() > 1000, "the points must fall in the squares, not beside them"


def test_place_victims_is_the_same_through_the_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    beats = layer_from("beats", tiny_layers()["beats"])
    where = Placement(
        {
            "geo_beat": beats,
            "geo_community_area": layer_from("community_areas", tiny_layers()["community_areas"]),
        },
        {"geo_district": ("geo_beat", beat_districts(beats))},
    )
    rng = np.random.default_rng(3)
    grid_lines = np.round(rng.uniform(-87.8, -87.6, 3000), 2)  # many exactly on borders
    victims = pd.DataFrame(
        {
            "unique_id": [f"v{i}" for i in range(3000)],
            "longitude": np.where(
                rng.random(3000) < 0.5, grid_lines, rng.uniform(-87.8, -87.6, 3000)
            ),
            "latitude": np.round(rng.uniform(41.75, 41.95, 3000), 2),
        }
    )
    monkeypatch.setattr(assign, "GRID_MIN_POINTS", 0)
    through_grid = assign.place_victims(victims, where)
    assert where.grids, "the grid path was not taken"
    monkeypatch.setattr(assign, "GRID_MIN_POINTS", 10**9)
    plain = assign.place_victims(victims, Placement(where.layers, where.derived))
    pd.testing.assert_frame_equal(through_grid, plain)
    assert through_grid["geo_district"].notna().sum() > 100


plain_iso = st.builds(
    lambda y, mo, d, h, mi, s, frac: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}",
    st.integers(1890, 2110),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 60),
    st.integers(0, 61),
    st.sampled_from(["", ".000", ".5", ".123456", ".1234567", "Z", "+02:00"]),
)
odd = st.sampled_from(["", "12/31/2020 11:05:00 PM", "2020-01-01", "2020-01-01 10:00:00", "x"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(plain_iso, odd, st.none()), min_size=1, max_size=30))
def test_arrow_reads_timestamps_as_pandas_does(values: list[str | None]) -> None:
    text = pd.Series(values, dtype="string", name="date")
    pd.testing.assert_series_equal(schema._timestamps(text), schema._any_timestamps(text))


def test_plain_timestamps_take_the_fast_path() -> None:
    text = pd.Series(["2020-02-29T23:59:59.000", None, "2001-01-01T00:00:00"], dtype="string")
    fast = schema._plain_timestamps(text)
    assert fast is not None
    assert fast.tolist()[0] == pd.Timestamp("2020-02-29 23:59:59")
    assert schema._plain_timestamps(pd.Series(["2021-02-29T00:00:00"], dtype="string")) is None


def test_reasons_name_each_broken_rule_of_the_few_bad_rows() -> None:
    broken = {
        "missing id": pd.Series([True, False, False, True]),
        "bad number": pd.Series([False, False, True, True]),
    }
    assert schema.reasons_of(broken).tolist() == [
        "missing id",
        pd.NA,
        "bad number",
        "missing id; bad number",
    ]


def test_read_ahead_keeps_order_and_raises_after_the_items_before_the_error() -> None:
    def items() -> Iterator[int]:
        yield from range(5)
        raise EOFError("cut short")

    seen: list[int] = []
    with pytest.raises(EOFError, match="cut short"):
        for item in read_ahead(items()):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


def test_read_ahead_stops_its_thread_and_closes_the_reader_when_left_early() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(1_000)
        finally:
            closed.set()

    ahead = read_ahead(items())
    assert next(ahead) == 0
    ahead.close()
    assert closed.is_set()
    assert not any(t.name == "read-ahead" for t in threading.enumerate())


def test_a_cut_gzip_file_is_still_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "victims.csv.gz"
    body = "unique_id,date\n" + "".join(f"u{i},2020-01-01T00:00:00\n" for i in range(50_000))
    data = gzip.compress(body.encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="cut short"):
        list(read_victims_pages(path, block_bytes=64 << 10))


def csv_pages(path: Path) -> list[pd.DataFrame]:
    """The pages of a CSV file read in blocks of 4 kB (frames of text)."""
    pages = [page for page, _ in read_victims_pages(path, block_bytes=4_000)]
    assert all(isinstance(page, pd.DataFrame) for page in pages)
    return cast(list[pd.DataFrame], pages)


def block_row(i: int) -> list[str | None]:
    """Row `i` as read: a value with a comma (in one row longer than a block), one padded
    with spaces, blanks (NA)."""
    block = f"{i} S STATE, UNIT {i % 7}" + ("Z" * 9_000 if i == 1_234 else "")
    return [f"u{i}", block, " padded " if i % 5 else None, str(i) * (i % 3)]


@pytest.mark.parametrize("name", ["victims.csv", "victims.csv.gz"])
def test_a_csv_read_in_small_blocks_gives_the_text_of_every_row(tmp_path: Path, name: str) -> None:
    """Blocks are parsed under the header's names without the header before them, in one
    buffer used again: every row keeps its values (quoted commas, spaces, blanks as NA)
    whatever the cut, after every later block was read."""
    rows = [block_row(i) for i in range(3_000)]
    quoted_blank = '""'  # NA as well
    lines = [f'"{u}","{block}",{note or quoted_blank},{last}' for u, block, note, last in rows]
    text = '"unique_id","block",note,last\n' + "".join(line + "\n" for line in lines)
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    pages = csv_pages(path)
    assert len(pages) > 10
    frame = pd.concat(pages, ignore_index=True)
    assert list(frame.columns) == ["unique_id", "block", "note", "last"]
    assert all(isinstance(dtype, pd.StringDtype) for dtype in frame.dtypes)
    expected = [[value or None for value in row] for row in rows]
    assert frame.astype(object).where(frame.notna(), None).values.tolist() == expected


def test_a_header_only_csv_gives_one_empty_page_with_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "victims.csv"
    path.write_text("unique_id,date\n")
    pages = csv_pages(path)
    assert [list(page.columns) for page in pages] == [["unique_id", "date"]]
    assert not len(pages[0])
