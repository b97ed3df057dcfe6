"""The Outreach map: hot-spot (or emerging) classes per area and open windows as circles."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pydeck as pdk

from geo.hotspots import CLASSES
from ui.mapview import CHICAGO_VIEW

RGB = list[int]
# Red for hot, blue for cold (ColorBrewer RdBu, colour-blind safe); quiet areas light.
CLASS_COLOURS: dict[str, RGB] = dict(
    zip(
        CLASSES,
        [
            [178, 24, 43],
            [239, 138, 98],
            [253, 219, 199],
            [247, 247, 247],
            [209, 229, 240],
            [103, 169, 207],
            [33, 102, 172],
        ],
        strict=True,
    )
)
EMERGING_COLOURS: dict[str, RGB] = {
    "new": [253, 219, 199],
    "consecutive": [244, 165, 130],
    "intensifying": [178, 24, 43],
    "persistent": [214, 96, 77],
    "diminishing": [146, 197, 222],
    "sporadic": [253, 174, 97],
    "historical": [190, 190, 190],
    "no pattern": [247, 247, 247],
}
WINDOW_COLOUR = [0, 0, 0]

TOOLTIP = {
    "html": "<b>{name}</b><br/>{label}<br/>shootings: {count}",
    "style": {
        "backgroundColor": "white",
        "color": "black",
        "fontSize": "15px",
        "border": "1px solid black",
    },
}


def area_features(
    shapes: list[dict[str, Any]], table: pd.DataFrame, column: str, colours: dict[str, RGB]
) -> list[dict[str, Any]]:
    """Polygons (`polygon` rings or GeoJSON `geometry`) with class, count and colour."""
    rows = table.set_index("area").to_dict("index")
    out = []
    for shape in shapes:
        row = rows.get(shape["key"], {})
        label = str(row.get(column, ""))
        geometry = shape.get("geometry") or {"type": "Polygon", "coordinates": [shape["polygon"]]}
        out.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "name": shape["key"],
                    "label": label,
                    "count": int(row.get("count", row.get("total", 0))),
                    "fill": colours.get(label, [255, 255, 255]),
                },
            }
        )
    return out


def deck_json(
    shapes: list[dict[str, Any]],
    table: pd.DataFrame,
    column: str,
    colours: dict[str, RGB],
    windows: pd.DataFrame,
    radius_m: float,
) -> str:
    """Compact deck.gl JSON: classes per area, a circle of `radius_m` per open window."""
    circles = [
        {
            "at": [float(r["longitude"]), float(r["latitude"])],
            "name": str(r["block"]),
            "label": f"window open until {r['window_end']}",
            "count": int(r["followups"]),
        }
        for r in windows.to_dict("records")
    ]
    data = {
        "areas": {
            "type": "FeatureCollection",
            "features": area_features(shapes, table, column, colours),
        },
        "windows": circles,
    }
    layers = [
        pdk.Layer(
            "GeoJsonLayer",
            [],
            id="areas",
            pickable=True,
            stroked=True,
            filled=True,
            get_fill_color="properties.fill",
            get_line_color=[120, 120, 120],
            line_width_min_pixels=0.5,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            [],
            id="windows",
            pickable=True,
            stroked=True,
            filled=False,
            get_position="at",
            get_radius=radius_m,
            radius_units="'meters'",
            get_line_color=WINDOW_COLOUR,
            line_width_min_pixels=2,
        ),
    ]
    deck = pdk.Deck(
        layers=layers,
        initial_view_state=CHICAGO_VIEW,
        map_provider=None,
        map_style=None,
        tooltip=TOOLTIP,
    )
    skeleton = json.loads(deck.to_json())
    for layer in skeleton["layers"]:
        layer["data"] = data[layer["id"]]
    return json.dumps(skeleton, separators=(",", ":"))
