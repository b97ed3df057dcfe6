"""Boundary checks and point-in-polygon placement on hand-drawn squares."""

from __future__ import annotations

import json

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings

from geo.assign import Placement, assign_points, place_victims
from geo.layers import (
    BoundaryError,
    BoundaryLayer,
    beat_districts,
    check_layer,
    check_nesting,
    web_geometries,
)
from pipeline.boundaries import boundary_rows
from pipeline.config import LAYERS
from pipeline.errors import InputFileError
from tests.conftest import BOUNDARY_FILES, needs_snapshot, square, tiny_layers


def layer(name: str, collection: dict | None = None) -> BoundaryLayer:
    rows = boundary_rows(LAYERS[name], collection or tiny_layers()[name], "test")
    columns = rows[["key", "name", "geometry", "properties"]]
    return BoundaryLayer.from_rows(name, list(columns.itertuples(index=False, name=None)))


# Beats: 0111 [-87.75,-87.70]x[41.80,41.85], 0112 east of it, 0211/0212 north of them.
@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (-87.72, 41.82, "0111"),
        (-87.68, 41.82, "0112"),
        (-87.72, 41.87, "0211"),
        (-87.70, 41.82, "0111"),  # on the 0111/0112 border: the smaller key
        (-87.70, 41.80 + 0.05, "0111"),  # the corner all four share (same float as the squares)
        (-87.60, 41.82, None),  # east of every beat
        (np.nan, 41.82, None),
    ],
    ids=["inside-0111", "inside-0112", "inside-0211", "border", "corner", "outside", "nan"],
)
def test_each_point_gets_one_beat_or_none(lon, lat, expected) -> None:
    assert assign_points(np.array([lon]), np.array([lat]), layer("beats"))[0] == expected


def test_border_rule_does_not_depend_on_feature_order() -> None:
    reversed_beats = dict(tiny_layers()["beats"])
    reversed_beats["features"] = reversed_beats["features"][::-1]
    points = (np.array([-87.70, -87.70, -87.75]), np.array([41.82, 41.85, 41.85]))
    assert (
        assign_points(*points, layer("beats")).tolist()
        == assign_points(*points, layer("beats", reversed_beats)).tolist()
    )


def test_projected_points_are_refused() -> None:
    with pytest.raises(ValueError, match="not lon/lat degrees"):
        assign_points(np.array([1_160_000.0]), np.array([1_900_000.0]), layer("beats"))


def tiny_placement() -> Placement:
    """Beats and community areas by geometry, districts through the beats' `district`."""
    beats = layer("beats")
    return Placement(
        {"geo_beat": beats, "geo_community_area": layer("community_areas")},
        {"geo_district": ("geo_beat", beat_districts(beats))},
    )


def test_place_victims_uses_the_beats_district() -> None:
    victims = pd.DataFrame(
        {
            "unique_id": ["a", "b", "c"],
            "longitude": [-87.72, -87.68, -87.0],
            "latitude": [41.87, 41.82, 41.82],
        }
    )
    placed = place_victims(victims, tiny_placement())
    shown = placed.fillna("-")
    assert shown["geo_beat"].tolist() == ["0211", "0112", "-"]
    assert shown["geo_district"].tolist() == ["2", "1", "-"]
    assert shown["geo_community_area"].tolist() == ["AUSTIN", "AUSTIN", "-"]


def test_repeated_keys_and_invalid_polygons_are_refused() -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[-87.7, 41.8], [-87.6, 41.9], [-87.6, 41.8], [-87.7, 41.9], [-87.7, 41.8]]
        ],
    }
    collection = tiny_layers()["beats"]
    collection["features"][0]["geometry"] = bowtie
    with pytest.raises(BoundaryError, match=r"invalid polygons: 0111 \(Self-intersection"):
        check_layer(layer("beats", collection))


def test_beat_outside_its_district_is_refused() -> None:
    beats = tiny_layers()["beats"]
    beats["features"][0]["properties"]["district"] = "2"  # 0111 lies in district 1
    with pytest.raises(BoundaryError, match="beat 0111 lies only 0% inside district 2"):
        check_nesting(layer("beats", beats), layer("districts"))


def test_beat_naming_a_missing_district_is_refused() -> None:
    beats = tiny_layers()["beats"]
    beats["features"][3]["properties"]["district"] = "9"
    with pytest.raises(
        BoundaryError, match="beat 0212 names district 9, which is not in the layer"
    ):
        check_nesting(layer("beats", beats), layer("districts"))


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        (None, "beats 0112 from test: unreadable geometry"),
        ({"type": "Polygon", "coordinates": "x"}, "beats 0112 from test: unreadable geometry"),
        (
            {"type": "Point", "coordinates": [-87.7, 41.8]},
            "geometry was Point but must be Polygon or MultiPolygon",
        ),
        (
            square(1_160_000, 1_900_000, 500),
            r"beats 0112 from test: coordinates \(1160000.0, .* projected CRS",
        ),
    ],
    ids=["null", "garbled", "point", "projected"],
)
def test_unusable_feature_geometry_is_refused_by_key(geometry, message) -> None:
    beats = tiny_layers()["beats"]
    beats["features"][1]["geometry"] = geometry
    with pytest.raises(InputFileError, match=message):
        boundary_rows(LAYERS["beats"], beats, "test")


def test_boundary_rows_keep_key_label_and_geometry() -> None:
    rows = boundary_rows(LAYERS["districts"], tiny_layers()["districts"], "test")
    assert rows["key"].tolist() == ["1", "2"]  # '02' loses its zero
    assert rows["name"].tolist() == ["1ST", "2ND"]
    assert shapely.from_wkb(rows["geometry"][1]).equals(
        shapely.geometry.shape(square(-87.75, 41.85, 0.1))
    )
    assert json.loads(rows["properties"][1]) == {"dist_num": "02", "dist_label": "2ND"}


coordinate = st.floats(-87.80, -87.60, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(coordinate, st.floats(41.75, 41.95, allow_nan=False)), min_size=1, max_size=60
    )
)
def test_beats_sum_to_districts_and_nothing_is_lost(points) -> None:
    victims = pd.DataFrame(
        {
            "unique_id": [str(i) for i in range(len(points))],
            "longitude": [p[0] for p in points],
            "latitude": [p[1] for p in points],
        }
    )
    placed = place_victims(victims, tiny_placement())
    assert len(placed) == len(victims)
    by_district = placed["geo_district"].fillna("unassigned").value_counts()
    assert by_district.sum() == len(victims)
    beats_district = (
        placed.dropna(subset=["geo_beat"])
        .groupby("geo_beat")
        .size()
        .groupby(lambda beat: str(int(beat[:2])))
        .sum()
    )
    assert beats_district.to_dict() == by_district.drop("unassigned", errors="ignore").to_dict()


@needs_snapshot
def test_real_layers_are_valid_nested_and_light_enough_for_the_web() -> None:
    real = {
        name: layer(name, json.loads(path.read_text())) for name, path in BOUNDARY_FILES.items()
    }
    for each in real.values():
        check_layer(each)
    check_nesting(real["beats"], real["districts"])
    web = web_geometries(real["beats"])
    size = len(",".join(web).encode())
    assert size < 1_000_000, f"{size:,} bytes of simplified beats"
    # Simplified shapes stay close: each keeps > 97 % of its exact area.
    simplified = shapely.from_geojson(web)
    ratio = shapely.area(simplified) / shapely.area(real["beats"].geometries)
    assert ratio.min() > 0.97


def test_square_helper_is_counter_clockwise() -> None:
    assert shapely.geometry.shape(square(0, 0)).exterior.is_ccw
