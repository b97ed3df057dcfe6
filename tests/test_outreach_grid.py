"""The grids and counts behind the Outreach numbers, built the fast way, against the
slow reference each replaced: h3's polygon fill of the union, libpysal's fuzzy
contiguity, per-point cells, per-slice counting."""

from __future__ import annotations

from datetime import date, timedelta

import geopandas
import h3
import numpy as np
import pandas as pd
import shapely
from libpysal.graph import Graph

from geo import hexgrid, hotspots
from pipeline import outreach
from pipeline.aggregate import between_dates

# Three blocks of ~2 km near the Loop: two sharing an edge, one touching at a corner, and
# a ragged one with a 0.5 m gap to the first (a sliver, neighbours by the tolerance).
SHAPES = np.array(
    [
        shapely.box(-87.66, 41.86, -87.64, 41.88),
        shapely.box(-87.64, 41.86, -87.62, 41.88),
        shapely.box(-87.62, 41.88, -87.60, 41.90),
        shapely.Polygon(
            [(-87.68, 41.86), (-87.660005, 41.865), (-87.660005, 41.87), (-87.67, 41.875)]
        ),
        shapely.box(-87.70, 41.80, -87.69, 41.81),  # alone
    ]
)
KEYS = ["a", "b", "c", "d", "e"]


def test_cells_covering_are_the_cells_h3_fills_the_union_with() -> None:
    union = shapely.union_all(SHAPES)
    expected = sorted(h3.geo_to_cells(union.__geo_interface__, hexgrid.RESOLUTION))
    got = hexgrid.cells_covering(SHAPES)
    assert got == expected and len(got) > 100
    assert hexgrid.cells_covering(np.array([])) == []


def test_cells_of_points_are_looked_up_once_each_and_missing_ones_are_none() -> None:
    lat = np.array([41.87, 41.87, np.nan, 41.95, 41.87])
    lon = np.array([-87.65, -87.65, -87.65, -87.70, -87.65])
    got = hexgrid.cells_of(lat, lon)
    expected = [
        h3.latlng_to_cell(a, b, hexgrid.RESOLUTION) if a == a else None
        for a, b in zip(lat, lon, strict=True)
    ]
    assert got.tolist() == expected
    assert hexgrid.cells_of(np.array([]), np.array([])).tolist() == []


def test_touching_neighbours_are_libpysals_fuzzy_contiguity() -> None:
    tolerance = 1e-5
    graph = Graph.build_fuzzy_contiguity(
        geopandas.GeoSeries(SHAPES, index=KEYS), buffer=tolerance / 2
    )
    expected = {k: sorted(graph.neighbors[k]) for k in KEYS}
    assert hotspots.touching_neighbours(KEYS, SHAPES, tolerance) == expected
    assert expected["a"] == ["b", "d"] and expected["e"] == []


def test_slice_counts_are_the_counts_of_each_slice() -> None:
    rng = np.random.default_rng(4)
    as_of = date(2025, 3, 5)
    spans = outreach.slices(as_of, 4)
    first = spans[0][0] - timedelta(days=5)  # some victims before the first slice
    days = rng.integers(0, (as_of - first).days + 2, 300)  # and a few after as_of
    victims = pd.DataFrame(
        {
            "occurred_at": pd.Timestamp(first) + pd.to_timedelta(days * 86_400 + 3_600, "s"),
            "beat": rng.choice(np.array(["0111", "0112", "0211", None], dtype=object), 300),
        }
    )
    built = outreach.Grid("beat", ["0111", "0112", "0211", "0212"], {})
    got = outreach.slice_counts(victims, built, spans)
    for (start, end), column in zip(spans, got.columns, strict=True):
        inside = between_dates(victims, start, end)
        expected = inside["beat"].value_counts().reindex(built.keys, fill_value=0)
        assert got[column].tolist() == expected.tolist(), column
    assert list(got.columns) == [f"{end:%Y-%m-%d}" for _, end in spans]
    assert got.loc["0212"].sum() == 0 and got.to_numpy().sum() > 0
