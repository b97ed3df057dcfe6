"""Boundary layers: GeoJSON -> store rows, by the registry in `pipeline.config`.

Checks here are the ones that make a layer unusable at all (wrong CRS, missing
or repeated keys, non-polygon geometry); topology checks belong to `geo/`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import shapely
import shapely.errors
import shapely.geometry

from pipeline.config import LEVELS, Level
from pipeline.errors import InputFileError

POLYGON_TYPE_IDS = (3, 6)  # shapely.get_type_id: Polygon, MultiPolygon
WGS84_NAMES = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326"}


#: The layer behind each area column of the victims table ('district' -> 'districts').
LAYER_OF_AREA = {level.area: level.layer for level in LEVELS.values()}


def boundary_rows(layer: Level, collection: dict[str, Any], origin: str) -> pd.DataFrame:
    """One row per feature: layer, key, name, geometry (WKB, EPSG:4326), properties (JSON)."""
    _check_crs(collection, origin)
    features = collection.get("features") or []
    if not features:
        raise InputFileError(f"{layer.layer} from {origin}: the layer has no features")
    properties = [dict(f.get("properties") or {}) for f in features]
    keys = [_feature_key(layer, p, origin, i) for i, p in enumerate(properties)]
    labels = [
        str(p.get(layer.label_property) or k).strip() for p, k in zip(properties, keys, strict=True)
    ]
    geometries = _polygons(layer, features, keys, origin)
    if layer.merge_pieces:
        keys, labels, geometries, properties = _merged(keys, labels, geometries, properties)
    frame = pd.DataFrame(
        {
            "layer": layer.layer,
            "key": keys,
            "name": labels,
            "geometry": shapely.to_wkb(geometries),
            "properties": [json.dumps(p, default=str) for p in properties],
        }
    )
    repeated = sorted(frame.loc[frame["key"].duplicated(), "key"].unique())
    if repeated:
        raise InputFileError(
            f"{layer.layer} from {origin}: key {layer.key_property!r} repeats "
            f"for {repeated[:10]}; each area must appear once"
        )
    return frame


def _merged(
    keys: list[str], labels: list[str], geometries: np.ndarray, properties: list[dict[str, Any]]
) -> tuple[list[str], list[str], np.ndarray, list[dict[str, Any]]]:
    """One area per key: pieces sharing a key become one (multi)polygon, with the first
    piece's label and properties."""
    order = list(dict.fromkeys(keys))
    first = {key: keys.index(key) for key in order}
    merged = [
        shapely.union_all([g for k, g in zip(keys, geometries, strict=True) if k == key])
        for key in order
    ]
    return (
        order,
        [labels[first[k]] for k in order],
        np.array(merged, dtype=object),
        [properties[first[k]] for k in order],
    )


def _check_crs(collection: dict[str, Any], origin: str) -> None:
    crs = ((collection.get("crs") or {}).get("properties") or {}).get("name")
    if crs is not None and crs not in WGS84_NAMES:
        raise InputFileError(f"{origin}: CRS was {crs!r} but must be EPSG:4326 / CRS84")


def _feature_key(layer: Level, properties: dict[str, Any], origin: str, index: int) -> str:
    key = _key(layer, properties.get(layer.key_property))
    if key is None:
        raise InputFileError(
            f"{layer.layer} from {origin}: feature {index} has no "
            f"{layer.key_property!r}; properties are {sorted(properties)}"
        )
    return key


def _polygons(
    layer: Level, features: list[dict[str, Any]], keys: list[str], origin: str
) -> np.ndarray:
    """Every feature's geometry, parsed and checked: polygons, in lon/lat near Chicago."""
    geometries = np.array(
        [_shape(layer, f, k, origin) for f, k in zip(features, keys, strict=True)]
    )
    kinds = shapely.get_type_id(geometries)
    bounds = shapely.bounds(geometries)
    around_chicago = (
        (bounds[:, 0] > -89) & (bounds[:, 2] < -86) & (bounds[:, 1] > 41) & (bounds[:, 3] < 43)
    )
    for key, geometry, kind, box, near in zip(
        keys, geometries, kinds, bounds, around_chicago, strict=True
    ):
        where = f"{layer.layer} {key} from {origin}"
        if kind not in POLYGON_TYPE_IDS:
            raise InputFileError(
                f"{where}: geometry was {geometry.geom_type} but must be Polygon or MultiPolygon"
            )
        if not near:
            raise InputFileError(
                f"{where}: coordinates {tuple(box.tolist())} are not lon/lat around Chicago; "
                "is the file in a projected CRS?"
            )
    return geometries


def _shape(layer: Level, feature: dict[str, Any], key: str, origin: str) -> shapely.Geometry:
    # `shape` reads the coordinate lists directly: 4x faster than GeoJSON text through
    # `shapely.from_geojson`.
    try:
        return shapely.geometry.shape(feature["geometry"])
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
        raise InputFileError(f"{layer.layer} {key} from {origin}: unreadable geometry") from exc


def _key(layer: Level, value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if layer.numeric_key or layer.key_width:
        try:
            text = str(int(float(text)))
        except ValueError:
            return text.upper()
        return text.zfill(layer.key_width)
    return text.upper()
