"""Point-in-polygon assignment of victims to the current boundary layers.

Modelled on geopandas' `sjoin`: check, query a spatial index, join left. Every
point keeps a row; points in no polygon get None ("unassigned"), never dropped.
A point on a shared border belongs to the polygon with the smallest key, so
the answer never depends on input order.

Large batches go through a `CellGrid` first: the layer rasterised once on a fine
lon/lat grid, where a cell that one polygon alone touches and covers answers for
every point in it, and a cell no polygon touches answers "none". Only the points
in cells a border crosses get the exact test, so the answer is the exact one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from geo.layers import CRS, BoundaryLayer

#: Cell values of a `CellGrid` besides a polygon's index.
NO_POLYGON = -1
BORDER = -2
#: Cells per side of a `CellGrid` (a power of two): about 40 x 45 m over Chicago.
GRID_CELLS = 1024
#: Cells per side of the first, coarsest pass; finer passes only split mixed cells.
GRID_START = 16
#: Each cell is tested grown by this many degrees (~0.1 mm), far more than the rounding
#: of a point's cell index, so a point always lies in the box its cell was tested as.
GRID_MARGIN = 1e-9
#: A read tests its points directly while it has placed at most this many; a batch that
#: takes it past builds the grids. They cost about as much as testing 250,000 points
#: (measured on the real layers: ~1.3 s for four, against ~5 us a point): a SODA sync of
#: 60,000 rows never builds them, a file read does at its first block (32 MB: 85,000
#: rows of the real export, 150,000 of the synthetic file).
GRID_MIN_POINTS = 80_000


def assign_points(lon: np.ndarray, lat: np.ndarray, layer: BoundaryLayer) -> np.ndarray:
    """Key of the polygon covering each (lon, lat) point (EPSG:4326), or None.

    Border points (covered by two polygons) go to the smallest key.
    """
    return assign_to_layers(lon, lat, [layer])[0]


def assign_to_layers(
    lon: np.ndarray, lat: np.ndarray, layers: list[BoundaryLayer]
) -> list[np.ndarray]:
    """`assign_points` for several layers, indexing the points once."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    for layer in layers:
        _check_lonlat(lon, lat, layer)
    found = _exact_polygons(lon, lat, layers)
    return [_keys_of(each, layer) for each, layer in zip(found, layers, strict=True)]


def _exact_polygons(
    lon: np.ndarray, lat: np.ndarray, layers: list[BoundaryLayer]
) -> list[np.ndarray]:
    """Index of the polygon covering each point in each layer (NO_POLYGON where none),
    testing every point."""
    known = np.flatnonzero(~(np.isnan(lon) | np.isnan(lat)))
    # Index the points and query with the polygons: shapely prepares the query
    # geometry, so each polygon is prepared once instead of testing every point
    # against raw polygons.
    tree = shapely.STRtree(shapely.points(lon[known], lat[known])) if len(known) else None
    return [_covering_polygons(tree, known, len(lon), layer) for layer in layers]


def _keys_of(found: np.ndarray, layer: BoundaryLayer) -> np.ndarray:
    result = np.full(len(found), None, dtype=object)
    hit = found >= 0
    result[hit] = layer.keys[found[hit]]
    return result


def _covering_polygons(
    tree: shapely.STRtree | None, known: np.ndarray, size: int, layer: BoundaryLayer
) -> np.ndarray:
    """Index (in `layer`) of the polygon covering each point, NO_POLYGON where none; the
    tree holds the points at positions `known` of `size` points."""
    result = np.full(size, NO_POLYGON, dtype=np.int32)
    if tree is None or not len(layer):
        return result
    polygon_idx, point_idx = tree.query(layer.geometries, predicate="intersects")
    if not len(point_idx):
        return result
    # Layer keys are sorted, so the lowest polygon index is the smallest key.
    order = np.lexsort((polygon_idx, point_idx))
    point_idx, polygon_idx = point_idx[order], polygon_idx[order]
    first = np.r_[True, point_idx[1:] != point_idx[:-1]]
    result[known[point_idx[first]]] = polygon_idx[first]
    return result


def _check_lonlat(lon: np.ndarray, lat: np.ndarray, layer: BoundaryLayer) -> None:
    if lon.shape != lat.shape:
        raise ValueError(f"lon has {lon.shape} values but lat has {lat.shape}")
    if layer.crs != CRS:
        raise ValueError(f"layer {layer.name} is in {layer.crs} but points are in {CRS}")
    if np.nanmax(np.abs(lon), initial=0) > 180 or np.nanmax(np.abs(lat), initial=0) > 90:
        raise ValueError("points are not lon/lat degrees (EPSG:4326); were they projected?")


# --- the grid pre-pass ----------------------------------------------------------------


@dataclass(frozen=True)
class CellGrid:
    """A layer rasterised on `GRID_CELLS` x `GRID_CELLS` lon/lat cells over its bounds
    (EPSG:4326 degrees): each cell holds the index of the one polygon that touches and
    covers it, NO_POLYGON if none touches it, or BORDER (test its points exactly)."""

    x0: float
    y0: float
    dx: float
    dy: float
    cells: np.ndarray  # int32, (rows = latitude, columns = longitude)

    def lookup(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Cell value of each point; NO_POLYGON outside the grid (beyond every polygon's
        bounds) and for NaN coordinates."""
        size = self.cells.shape[0]
        with np.errstate(invalid="ignore"):
            col = np.floor((lon - self.x0) / self.dx)
            row = np.floor((lat - self.y0) / self.dy)
            inside = (col >= 0) & (col < size) & (row >= 0) & (row < size)
        found = np.full(len(lon), NO_POLYGON, dtype=np.int32)
        found[inside] = self.cells[row[inside].astype(np.intp), col[inside].astype(np.intp)]
        return found


def build_grid(layer: BoundaryLayer) -> CellGrid:
    """Rasterise `layer`: start from `GRID_START` blocks a side and split only the blocks
    that a border crosses, so the work follows the borders' length, not the area."""
    minx, miny, maxx, maxy = shapely.total_bounds(layer.geometries)
    # Padded so that a point on the bounds' far edge still falls in the last cell.
    pad_x, pad_y = (maxx - minx) * 1e-6 + GRID_MARGIN, (maxy - miny) * 1e-6 + GRID_MARGIN
    grid = CellGrid(
        minx - pad_x,
        miny - pad_y,
        (maxx - minx + 2 * pad_x) / GRID_CELLS,
        (maxy - miny + 2 * pad_y) / GRID_CELLS,
        np.full((GRID_CELLS, GRID_CELLS), BORDER, dtype=np.int32),
    )
    span = GRID_CELLS // GRID_START
    steps = np.arange(0, GRID_CELLS, span)
    rows, cols = (a.ravel() for a in np.meshgrid(steps, steps, indexing="ij"))
    while len(rows):
        mixed = _fill_resolved(grid, layer, rows, cols, span)
        if span == 1:
            break  # mixed single cells stay BORDER
        span //= 2
        rows, cols = _split(rows[mixed], cols[mixed], span)
    return grid


def _fill_resolved(
    grid: CellGrid,
    layer: BoundaryLayer,
    rows: np.ndarray,
    cols: np.ndarray,
    span: int,
) -> np.ndarray:
    """Fill the blocks (`span` cells a side, lower-left cell at rows/cols) that no polygon
    touches or that one polygon alone touches and covers; return the mask of the others."""
    x0 = grid.x0 + cols * grid.dx - GRID_MARGIN
    y0 = grid.y0 + rows * grid.dy - GRID_MARGIN
    boxes = shapely.box(
        x0,
        y0,
        grid.x0 + (cols + span) * grid.dx + GRID_MARGIN,
        grid.y0 + (rows + span) * grid.dy + GRID_MARGIN,
    )
    # The polygons query the boxes: shapely prepares each polygon once for its boxes.
    polygon_idx, box_idx = shapely.STRtree(boxes).query(layer.geometries, predicate="intersects")
    touching = np.bincount(box_idx, minlength=len(boxes))
    only = np.full(len(boxes), NO_POLYGON, dtype=np.int32)
    single = touching[box_idx] == 1
    only[box_idx[single]] = polygon_idx[single]
    alone = only >= 0
    covered = np.zeros(len(boxes), dtype=bool)
    covered[alone] = shapely.covers(layer.geometries[only[alone]], boxes[alone])
    resolved = (touching == 0) | covered
    if span == 1:  # the finest pass resolves the most blocks: one vectorised write
        grid.cells[rows[resolved], cols[resolved]] = only[resolved]
        return ~resolved
    for r, c, value in zip(rows[resolved], cols[resolved], only[resolved], strict=True):
        grid.cells[r : r + span, c : c + span] = value
    return ~resolved


def _split(rows: np.ndarray, cols: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """The four quarters (`span` cells a side) of each block at rows/cols."""
    offsets = np.array([(0, 0), (0, span), (span, 0), (span, span)])
    return (
        (rows[:, None] + offsets[:, 0]).ravel(),
        (cols[:, None] + offsets[:, 1]).ravel(),
    )


def covering_polygons(
    lon: np.ndarray, lat: np.ndarray, layer: BoundaryLayer, grid: CellGrid
) -> np.ndarray:
    """`_covering_polygons` through `grid`: the exact test only for points in BORDER
    cells. Same answer as testing every point (tests/test_fast_paths.py compares them)."""
    found = grid.lookup(lon, lat)
    border = np.flatnonzero(found == BORDER)
    if len(border):
        tree = shapely.STRtree(shapely.points(lon[border], lat[border]))
        found[border] = _covering_polygons(tree, np.arange(len(border)), len(border), layer)
    return found


# --- victims ----------------------------------------------------------------------------


@dataclass
class Placement:
    """What to place points in: layers matched by geometry (output column -> layer), and
    columns derived from one of those through a key mapping (a beat's district)."""

    layers: dict[str, BoundaryLayer]
    derived: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    #: Each layer's grid, built once a read is large (`GRID_MIN_POINTS`), kept after.
    grids: dict[str, CellGrid] = field(default_factory=dict, compare=False, repr=False)
    #: Points placed so far through this placement.
    placed: int = field(default=0, compare=False, repr=False)

    @property
    def columns(self) -> list[str]:
        return [*self.layers, *self.derived]

    def grid(self, column: str) -> CellGrid:
        if column not in self.grids:
            self.grids[column] = build_grid(self.layers[column])
        return self.grids[column]


def place_victims(victims: pd.DataFrame, placement: Placement) -> pd.DataFrame:
    """`unique_id` plus the key of each victim's point in every layer of `placement`
    (None where the point is in no polygon), and the derived columns: a district is
    the district of the point's beat, so beats always sum to their district and a
    point outside every beat has no district either."""
    lon, lat = victims["longitude"].to_numpy(float), victims["latitude"].to_numpy(float)
    found = polygons_of(lon, lat, placement)
    # The ids as they are (Arrow strings from a read): no Python string for each.
    out: dict[str, object] = {"unique_id": victims["unique_id"].array}
    for column, layer in placement.layers.items():
        out[column] = _key_strings(found[column], layer.keys)
    for column, (source, mapping) in placement.derived.items():
        keys = placement.layers[source].keys
        parents = np.array([mapping.get(k) for k in keys], dtype=object)
        out[column] = _key_strings(found[source], parents)
    return pd.DataFrame(out)


def polygons_of(lon: np.ndarray, lat: np.ndarray, placement: Placement) -> dict[str, np.ndarray]:
    """Index of the polygon holding each point in every geometric layer of `placement`
    (NO_POLYGON where none): through each layer's grid once the read is large."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    layers = placement.layers
    for layer in layers.values():
        _check_lonlat(lon, lat, layer)
    placement.placed += len(lon)
    if placement.placed <= GRID_MIN_POINTS or not all(len(layer) for layer in layers.values()):
        return dict(zip(layers, _exact_polygons(lon, lat, list(layers.values())), strict=True))
    return {
        column: covering_polygons(lon, lat, layer, placement.grid(column))
        for column, layer in layers.items()
    }


def _key_strings(found: np.ndarray, keys: np.ndarray) -> pd.Series:
    """keys[found] as a string Series, NA where `found` is negative (or the key None):
    decoded by Arrow from the codes, without a Python string per row."""
    dictionary = pa.array(list(keys), type=pa.string())
    codes = pa.array(found, mask=found < 0, type=pa.int32())
    # Decoded once, into the large strings pandas holds (a cast to string would be a second).
    return pd.Series(pd.arrays.ArrowStringArray(pa.DictionaryArray.from_arrays(codes, dictionary)))
