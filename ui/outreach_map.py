"""The Outreach map: hot-spot (or emerging) classes per area and open windows as circles."""

from __future__ import annotations

import functools
import html
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pydeck as pdk
import streamlit

from geo.emerging import CATEGORIES
from geo.hotspots import CLASSES, NOT_SIGNIFICANT
from ui import basemap
from ui.mapview import CHICAGO_VIEW, fitted_view

#: Classes of a cell that is neither hot, cold nor emerging: such a cell with no shooting
#: is left off the hexagon map (thousands of them, only the streets under them matter).
QUIET = {NOT_SIGNIFICANT, CATEGORIES[-1]}
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
TEAM_OUTLINE = [90, 0, 130]  # the team area's edge: purple, unlike any class colour

TOOLTIP = {
    "html": "<b>{name}</b><br/>{label}<br/>{detail}",
    "style": {
        "backgroundColor": "white",
        "color": "black",
        "fontSize": "15px",
        "border": "1px solid black",
    },
}


def area_features(
    shapes: list[dict[str, Any]],
    table: pd.DataFrame,
    column: str,
    colours: dict[str, RGB],
    names: dict[str, str] | None = None,
    wording: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The areas in `table` with a place name, the class in words, count and colour (areas
    not in `table` are left out: a team area's map shows only its own). A shape with a
    `hexagon` (an H3 id) gives a flat item the browser draws from the id alone (a few
    bytes instead of a polygon; quiet empty cells left out); one with a `polygon` ring or
    a GeoJSON `geometry` gives a GeoJSON feature."""
    rows = table.set_index("area").to_dict("index")
    out = []
    for shape in shapes:
        if shape["key"] not in rows:
            continue
        row = rows[shape["key"]]
        label = str(row.get(column, ""))
        count = int(row.get("count", row.get("total", 0)))
        properties = {
            "name": (names or {}).get(shape["key"], shape["key"]),
            "label": (wording or {}).get(label, label),
            "count": count,
            "detail": f"{count} shooting{'s' if count != 1 else ''} in the 12 months",
            "fill": colours.get(label, [255, 255, 255]),
        }
        if "hexagon" in shape:
            if count or label not in QUIET:  # a quiet empty cell says nothing over streets
                out.append({"hex": shape["hexagon"], **properties})
            continue
        geometry = shape.get("geometry") or {"type": "Polygon", "coordinates": [shape["polygon"]]}
        out.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return out


def areas_layer(hexagons: bool, tiles: bool) -> pdk.Layer:
    """H3 cells drawn by deck.gl from their ids, or GeoJSON polygons (beats)."""
    common: dict[str, Any] = dict(
        id="areas",
        pickable=True,
        stroked=True,
        filled=True,
        get_line_color=[120, 120, 120],
        line_width_min_pixels=0.5,
        opacity=basemap.fill_opacity(tiles),
        auto_highlight=True,
        highlight_color=[0, 0, 0, 60],
    )
    if hexagons:
        return pdk.Layer(
            "H3HexagonLayer", [], get_hexagon="hex", get_fill_color="fill", extruded=False, **common
        )
    return pdk.Layer("GeoJsonLayer", [], get_fill_color="properties.fill", **common)


def deck_json(
    shapes: list[dict[str, Any]],
    table: pd.DataFrame,
    column: str,
    colours: dict[str, RGB],
    windows: pd.DataFrame,
    radius_m: float,
    names: dict[str, str] | None = None,
    wording: dict[str, str] | None = None,
    team: dict[str, Any] | None = None,
    tiles: bool = False,
) -> str:
    """Compact deck.gl JSON: classes per area of `table`, a circle of `radius_m` per open
    window; `team`, a GeoJSON geometry: outlined, the view fitted to it; `tiles`: a
    street base map under areas drawn see-through (see `ui.basemap`)."""
    circles = [
        {
            "at": [float(r["longitude"]), float(r["latitude"])],
            "name": str(r["block"]),
            "label": f"window open until {r['window_end']}",
            "count": int(r["followups"]),
            "detail": f"{int(r['followups'])} follow-up shootings within {radius_m:g} m so far",
        }
        for r in windows.to_dict("records")
    ]
    features = area_features(shapes, table, column, colours, names, wording)
    hexagons = any("hexagon" in shape for shape in shapes[:1])
    data: dict[str, Any] = {
        "areas": features if hexagons else {"type": "FeatureCollection", "features": features},
        "windows": circles,
        "team": {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": team, "properties": {}}] if team else [],
        },
    }
    layers = [
        areas_layer(hexagons, tiles),
        pdk.Layer(
            "GeoJsonLayer",
            [],
            id="team",
            stroked=True,
            filled=False,
            get_line_color=TEAM_OUTLINE,
            line_width_min_pixels=3,
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
        initial_view_state=fitted_view(team) if team else CHICAGO_VIEW,
        **basemap.deck_style(tiles),
        tooltip=TOOLTIP,
    )
    skeleton = json.loads(deck.to_json())
    for layer in skeleton["layers"]:
        layer["data"] = data[layer["id"]]
    return json.dumps(skeleton, separators=(",", ":"))


#: Streamlit's browser chunks the page's first screen needs: the map (deck.gl, 3 MB)
#: and the tables. The browser asks for each only when its element arrives.
FIRST_SCREEN_CHUNKS = ("DeckGlJsonChart", "DataFrame", "arrowFormatUtils")


@functools.cache
def chunk_preloads(base_url_path: str = "") -> str:
    """`<link rel="modulepreload">` tags for `FIRST_SCREEN_CHUNKS`, put in the page's first
    element: the browser fetches and compiles them while the server is still computing
    (on a cold page the map otherwise waited ~1.5 s for its script after its data).
    Names come from Streamlit's own static folder (they carry a build hash); a name
    that is not there is left out, and a wrong link costs one failed preload, no more."""
    folder = Path(streamlit.__file__).parent / "static" / "static" / "js"
    prefix = "/" + "/".join(p for p in (base_url_path.strip("/"), "static/js") if p)
    names = sorted(p.name for c in FIRST_SCREEN_CHUNKS for p in folder.glob(f"{c}.*.js"))
    return "".join(
        f'<link rel="modulepreload" href="{html.escape(f"{prefix}/{n}")}">' for n in names
    )
