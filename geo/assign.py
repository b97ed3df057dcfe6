"""Point-in-polygon assignment of victims to current beats, districts and community areas.

Modelled on geopandas' `sjoin`: check, query a spatial index, join left. Every
point keeps a row; points in no polygon get None ("unassigned"), never dropped.
A point on a shared border belongs to the polygon with the smallest key, so
the answer never depends on input order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo.layers import CRS, BoundaryLayer, beat_districts

#: Columns `place_victims` adds: geometric codes beside the recorded ones.
PLACED_COLUMNS = ("geo_beat", "geo_district", "geo_community_area")


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
    known = np.flatnonzero(~(np.isnan(lon) | np.isnan(lat)))
    # Index the points and query with the polygons: shapely prepares the query
    # geometry, so each polygon is prepared once instead of testing every point
    # against raw polygons.
    tree = shapely.STRtree(shapely.points(lon[known], lat[known])) if len(known) else None
    return [_covering_keys(tree, known, len(lon), layer) for layer in layers]


def _covering_keys(
    tree: shapely.STRtree | None, known: np.ndarray, size: int, layer: BoundaryLayer
) -> np.ndarray:
    result = np.full(size, None, dtype=object)
    if tree is None or not len(layer):
        return result
    polygon_idx, point_idx = tree.query(layer.geometries, predicate="intersects")
    if not len(point_idx):
        return result
    # Layer keys are sorted, so the lowest polygon index is the smallest key.
    order = np.lexsort((polygon_idx, point_idx))
    point_idx, polygon_idx = point_idx[order], polygon_idx[order]
    first = np.r_[True, point_idx[1:] != point_idx[:-1]]
    result[known[point_idx[first]]] = layer.keys[polygon_idx[first]]
    return result


def _check_lonlat(lon: np.ndarray, lat: np.ndarray, layer: BoundaryLayer) -> None:
    if lon.shape != lat.shape:
        raise ValueError(f"lon has {lon.shape} values but lat has {lat.shape}")
    if layer.crs != CRS:
        raise ValueError(f"layer {layer.name} is in {layer.crs} but points are in {CRS}")
    if np.nanmax(np.abs(lon), initial=0) > 180 or np.nanmax(np.abs(lat), initial=0) > 90:
        raise ValueError("points are not lon/lat degrees (EPSG:4326); were they projected?")


def place_victims(
    victims: pd.DataFrame, beats: BoundaryLayer, community_areas: BoundaryLayer
) -> pd.DataFrame:
    """`unique_id` plus the current beat, district and community area of each victim's point.

    The district is the district of the point's beat, so beats always sum to
    their district; points outside every beat have no district either.
    """
    lon, lat = victims["longitude"].to_numpy(float), victims["latitude"].to_numpy(float)
    beat, community_area = assign_to_layers(lon, lat, [beats, community_areas])
    district = pd.Series(beat, dtype=object).map(beat_districts(beats))
    return pd.DataFrame(
        {
            "unique_id": victims["unique_id"].to_numpy(),
            "geo_beat": pd.Series(beat, dtype="string"),
            "geo_district": district.astype("string"),
            "geo_community_area": pd.Series(community_area, dtype="string"),
        }
    )
