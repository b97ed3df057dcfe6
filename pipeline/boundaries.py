"""Boundary layers: which property is each layer's key, and GeoJSON -> store rows.

Checks here are the ones that make a layer unusable at all (wrong CRS, missing
or repeated keys, non-polygon geometry); topology checks belong to `geo/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import shapely

from pipeline.errors import InputFileError

WGS84_NAMES = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326"}


@dataclass(frozen=True)
class Layer:
    """How to read one boundary layer's features."""

    name: str  # store name: beats | districts | community_areas
    key_property: str  # property holding the key victims rows are matched on
    label_property: str  # property holding a label for people
    key_width: int = 0  # zero-pad numeric keys to this width (beats: 4)
    numeric_key: bool = False  # strip leading zeros ('08' -> '8')


#: The layer behind each area column of the victims table.
LAYER_OF_AREA = {"district": "districts", "beat": "beats", "community_area": "community_areas"}

LAYERS: dict[str, Layer] = {
    "beats": Layer("beats", "beat_num", "beat_num", key_width=4),
    "districts": Layer("districts", "dist_num", "dist_label", numeric_key=True),
    "community_areas": Layer("community_areas", "community", "community"),
}


def boundary_rows(layer: Layer, collection: dict[str, Any], origin: str) -> pd.DataFrame:
    """One row per feature: layer, key, name, geometry (WKB, EPSG:4326), properties (JSON)."""
    _check_crs(collection, origin)
    features = collection.get("features") or []
    if not features:
        raise InputFileError(f"{layer.name} from {origin}: the layer has no features")
    rows = [_feature_row(layer, f, origin, i) for i, f in enumerate(features)]
    frame = pd.DataFrame(rows, columns=["layer", "key", "name", "geometry", "properties"])
    repeated = sorted(frame.loc[frame["key"].duplicated(), "key"].unique())
    if repeated:
        raise InputFileError(
            f"{layer.name} from {origin}: key {layer.key_property!r} repeats "
            f"for {repeated[:10]}; each area must appear once"
        )
    return frame


def _check_crs(collection: dict[str, Any], origin: str) -> None:
    crs = ((collection.get("crs") or {}).get("properties") or {}).get("name")
    if crs is not None and crs not in WGS84_NAMES:
        raise InputFileError(f"{origin}: CRS was {crs!r} but must be EPSG:4326 / CRS84")


def _feature_row(layer: Layer, feature: dict[str, Any], origin: str, index: int) -> list[Any]:
    props = dict(feature.get("properties") or {})
    key = _key(layer, props.get(layer.key_property))
    if key is None:
        raise InputFileError(
            f"{layer.name} from {origin}: feature {index} has no "
            f"{layer.key_property!r}; properties are {sorted(props)}"
        )
    try:
        geom = shapely.geometry.shape(feature["geometry"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputFileError(f"{layer.name} {key} from {origin}: unreadable geometry") from exc
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputFileError(
            f"{layer.name} {key} from {origin}: geometry was "
            f"{geom.geom_type} but must be Polygon or MultiPolygon"
        )
    min_x, min_y, max_x, max_y = geom.bounds
    if not (min_x > -89 and max_x < -86 and min_y > 41 and max_y < 43):
        raise InputFileError(
            f"{layer.name} {key} from {origin}: coordinates {geom.bounds} are "
            "not lon/lat around Chicago; is the file in a projected CRS?"
        )
    label = str(props.get(layer.label_property) or key).strip()
    return [layer.name, key, label, shapely.to_wkb(geom), json.dumps(props, default=str)]


def _key(layer: Layer, value: object) -> str | None:
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
