"""Point-in-polygon assignment of victims to the current boundary layers.

Modelled on geopandas' `sjoin`: check, query a spatial index, join left. Every
point keeps a row; points in no polygon get None ("unassigned"), never dropped.
A point on a shared border belongs to the polygon with the smallest key, so
the answer never depends on input order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from geo.layers import CRS, BoundaryLayer


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


@dataclass(frozen=True)
class Placement:
    """What to place points in: layers matched by geometry (output column -> layer), and
    columns derived from one of those through a key mapping (a beat's district)."""

    layers: dict[str, BoundaryLayer]
    derived: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [*self.layers, *self.derived]


def place_victims(victims: pd.DataFrame, placement: Placement) -> pd.DataFrame:
    """`unique_id` plus the key of each victim's point in every layer of `placement`
    (None where the point is in no polygon), and the derived columns: a district is
    the district of the point's beat, so beats always sum to their district and a
    point outside every beat has no district either."""
    lon, lat = victims["longitude"].to_numpy(float), victims["latitude"].to_numpy(float)
    found = assign_to_layers(lon, lat, list(placement.layers.values()))
    out: dict[str, object] = {"unique_id": victims["unique_id"].to_numpy()}
    for column, keys in zip(placement.layers, found, strict=True):
        out[column] = pd.Series(keys, dtype="string")
    for column, (source, mapping) in placement.derived.items():
        parent = pd.Series(found[list(placement.layers).index(source)], dtype=object).map(mapping)
        out[column] = parent.astype("string")
    return pd.DataFrame(out)
