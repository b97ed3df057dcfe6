"""An H3 hexagon grid over the city: resolution 9 cells are about 350 m across.

Cells cover the city's outline (the union of the beats), so quiet cells count
as zeros; neighbours are the first ring (the six cells touching each cell).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

RESOLUTION = 9  # ~0.105 km2 per cell, ~350 m across


def cells_covering(area: shapely.Geometry, resolution: int = RESOLUTION) -> list[str]:
    """Cells whose centres lie in `area` (EPSG:4326), sorted."""
    import h3

    return sorted(h3.geo_to_cells(area.__geo_interface__, resolution))


def cells_of(lat: np.ndarray, lon: np.ndarray, resolution: int = RESOLUTION) -> np.ndarray:
    """The cell of each point (None where a coordinate is missing)."""
    import h3

    return np.array(
        [
            h3.latlng_to_cell(a, b, resolution) if a == a and b == b else None
            for a, b in zip(lat, lon, strict=True)
        ],
        dtype=object,
    )


def ring_neighbours(cells: Sequence[str]) -> dict[str, list[str]]:
    """Each cell's touching cells that are part of the grid."""
    import h3

    grid = set(cells)
    return {c: sorted(n for n in h3.grid_disk(c, 1) if n != c and n in grid) for c in cells}


def cell_centre(cell: str) -> tuple[float, float]:
    """The cell's centre as (lon, lat), EPSG:4326 degrees."""
    import h3

    lat, lng = h3.cell_to_latlng(cell)
    return lng, lat
