"""Boundary layers as arrays of shapely geometries, their checks, and simplified copies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

CRS = "EPSG:4326"

#: Share of a beat's area that must lie in the district its `district` property
#: names. The real 2012 beat map nests in the district map to > 99.9 %.
NESTING_MIN_SHARE = 0.99

#: Web-map simplification tolerance in degrees (about 10 m at Chicago's latitude);
#: coverage simplification keeps neighbouring borders identical.
WEB_TOLERANCE_DEG = 1e-4
WEB_DECIMALS = 4  # about 10 m, like the simplification tolerance


class BoundaryError(ValueError):
    """A boundary layer is unusable for assignment."""


@dataclass(frozen=True)
class BoundaryLayer:
    """One layer: parallel arrays of keys, labels, geometries (EPSG:4326) and properties."""

    name: str
    keys: np.ndarray  # object array of str, unique, sorted
    labels: np.ndarray
    geometries: np.ndarray  # shapely (Multi)Polygons, prepared
    properties: tuple[dict[str, Any], ...]
    crs: str = CRS

    @classmethod
    def from_rows(cls, name: str, rows: list[tuple[str, str, bytes, str]]) -> BoundaryLayer:
        """From (key, label, WKB, properties JSON) rows; sorted by key for deterministic ties."""
        rows = sorted(rows, key=lambda r: r[0])
        geometries = shapely.from_wkb([bytes(r[2]) for r in rows])
        shapely.prepare(geometries)
        return cls(
            name=name,
            keys=np.array([r[0] for r in rows], dtype=object),
            labels=np.array([r[1] for r in rows], dtype=object),
            geometries=geometries,
            properties=tuple(json.loads(r[3]) for r in rows),
        )

    def __len__(self) -> int:
        return len(self.keys)


def check_layer(layer: BoundaryLayer) -> None:
    """Raise BoundaryError unless the layer has unique keys and valid polygons in EPSG:4326."""
    if layer.crs != CRS:
        raise BoundaryError(f"{layer.name}: CRS was {layer.crs!r} but must be {CRS}")
    if len(set(layer.keys)) != len(layer.keys):
        raise BoundaryError(f"{layer.name}: keys repeat")
    # One vectorised call, not one per polygon: a sync runs this beside a download
    # thread, and every call into GEOS hands the interpreter lock back and forth.
    valid = shapely.is_valid(layer.geometries)
    invalid = [
        f"{k} ({shapely.is_valid_reason(g)})"
        for k, g, ok in zip(layer.keys, layer.geometries, valid, strict=True)
        if not ok
    ]
    if invalid:
        raise BoundaryError(f"{layer.name}: invalid polygons: {', '.join(invalid[:5])}")


def parent_keys(layer: BoundaryLayer, prop: str) -> dict[str, str]:
    """Area key -> the key of the area containing it, from each feature's `prop`
    property; numbers lose leading zeros ('08' -> '8')."""
    return {
        key: str(int(parent)) if str(parent).strip().isdigit() else str(parent).strip().upper()
        for key, props in zip(layer.keys, layer.properties, strict=True)
        if (parent := props.get(prop)) is not None
    }


def beat_districts(beats: BoundaryLayer) -> dict[str, str]:
    """Beat key -> district key, from each beat's `district` property ('08' -> '8')."""
    return parent_keys(beats, "district")


def check_nesting(beats: BoundaryLayer, districts: BoundaryLayer) -> None:
    """Raise BoundaryError unless each beat lies (>= 99 % of its area) in the district it names."""
    position = {key: i for i, key in enumerate(districts.keys)}
    named = np.array(list(beat_districts(beats).values()), dtype=object)
    known = np.array([d in position for d in named], dtype=bool)
    problems = [
        f"beat {beat} names district {district}, which is not in the layer"
        for beat, district in zip(beats.keys[~known], named[~known], strict=True)
    ]
    own = beats.geometries[known]
    theirs = districts.geometries[[position[d] for d in named[known]]]
    shares = shapely.area(shapely.intersection(own, theirs)) / shapely.area(own)
    problems += [
        f"beat {beat} lies only {share:.0%} inside district {district}"
        for beat, district, share in zip(beats.keys[known], named[known], shares, strict=True)
        if share < NESTING_MIN_SHARE
    ]
    if problems:
        raise BoundaryError("beats do not nest in districts: " + "; ".join(problems[:5]))


def web_geometries(layer: BoundaryLayer, tolerance_deg: float = WEB_TOLERANCE_DEG) -> list[str]:
    """Simplified GeoJSON geometry per feature, for maps only (never for assignment)."""
    simplified = shapely.coverage_simplify(layer.geometries, tolerance_deg)
    rounded = shapely.set_precision(simplified, 10.0**-WEB_DECIMALS)
    return [str(g) for g in shapely.to_geojson(rounded)]
