"""The pydeck map: areas coloured by the view's metric, labels, the selected outline.

No base-map tiles are needed: the boundaries and labels carry the map, so it
works in a meeting room with no internet.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import pandas as pd
import pydeck as pdk
import shapely.geometry

from pipeline import stats, trends
from ui import basemap

LAYER_ID = "areas"
CHICAGO_VIEW = pdk.ViewState(latitude=41.835, longitude=-87.69, zoom=9.4, pitch=0)
TOOLTIP = {
    "html": "<b>{name}</b><br/>this period: {current}<br/>same period last year: "
    "{previous}<br/>change: {change}<br/>{verdict}",
    "style": {
        "backgroundColor": "white",
        "color": "black",
        "fontSize": "15px",
        "border": "1px solid black",
    },
}
SELECTED_ZOOM = {"district": 10.6, "beat": 12.0, "community_area": 11.4, "zip_code": 11.4}
#: Label sizes, CSS px: at least 12 on the page, 22 in presentation mode (read from the
#: back of a room).
LABEL_SIZE = {"district": 16, "beat": 12, "community_area": 12}
DEFAULT_ZOOM, DEFAULT_LABEL_SIZE = 11.8, 12  # levels added to the registry later
PRESENT_LABEL_SIZE = 22
PRESENT_ZOOM_BY = 0.6  # the projected map is three times as wide as the page's
#: Every label sits on a near-opaque plate, so it reads on any fill, on a border line or
#: over a neighbouring area's colour (see `label_contrast`: at least 4.5:1, WCAG AA).
LABEL_COLOUR = [20, 20, 20]
PLATE_COLOUR = [255, 255, 255, 225]
RING_COLOUR = [0, 0, 0]
CODED_LEVELS = ("district", "beat", "zip_code")  # labelled by key; the others by name
OUTLINE = [30, 30, 30]
SELECTED_OUTLINE = [0, 0, 0]
CONTEXT_OUTLINE = [90, 0, 130]  # the selected beat's district: purple, unlike any class colour
#: The map's size in CSS pixels assumed when fitting an area into view (the page's map
#: is 600 px high; fit a phone's width, so the whole area shows there too).
FIT_PIXELS = (360, 500)
MAX_FIT_ZOOM = 13.0


def features(
    shapes: list[dict[str, Any]], table: pd.DataFrame, labels: dict[str, str]
) -> list[dict[str, Any]]:
    """GeoJSON features with what the tooltip shows; areas missing from `table` show 0."""
    rows = _rows_by_area(table, ("current", "previous", "verdict", "rate", "category", "fill"))
    out = []
    for shape in shapes:
        row = rows.get(shape["key"], {})
        current, previous = row.get("current", 0), row.get("previous", 0)
        change = (
            "not comparable (months missing)"
            if row.get("verdict") == trends.INCOMPLETE
            else f"{int(current - previous):+d} ({stats.describe_pct(current, previous)})"
        )
        out.append(
            {
                "type": "Feature",
                "geometry": shape["geometry"],
                "properties": {
                    "key": shape["key"],
                    "name": _name(shape["key"], labels.get(shape["key"])),
                    "current": int(current),
                    "previous": int(previous),
                    "change": change,
                    "verdict": row.get("verdict", stats.TOO_FEW),
                    "rate": row.get("rate", 0.0),
                    "category": row.get("category", ""),
                    "fill": row.get("fill", [255, 255, 255]),
                },
            }
        )
    return out


def _rows_by_area(table: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Area -> {column: value} for those of `columns` the table has, as Python values;
    a column at a time (`to_dict("index")` boxes every cell of every column: ~1.5 ms
    for the beats' table, on every new map)."""
    present = [name for name in columns if name in table]
    values = zip(*(table[name].tolist() for name in present), strict=True)
    return {
        area: dict(zip(present, row, strict=True))
        for area, row in zip(table["area"].tolist(), values, strict=True)
    }


def _labelled(level: str, key: str, selected: str) -> bool:
    """274 beat numbers would bury the city: label only the selected beat's district."""
    if level != "beat":
        return True
    return bool(selected) and key[:2] == selected[:2]


def _name(key: str, label: str | None) -> str:
    return f"{key} ({label})" if label and label != key else key


def layer_data(
    shapes: list[dict[str, Any]],
    table: pd.DataFrame,
    labels: dict[str, str],
    level: str,
    selected: str,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The data of each layer, by layer id: areas, labels, (if any) the selected outline
    and the outline of the area around it (`context`: a selected beat's district)."""
    area_features = features(shapes, table, labels)
    data: dict[str, Any] = {
        LAYER_ID: {"type": "FeatureCollection", "features": area_features},
        "labels": [
            {"text": s["key"] if level in CODED_LEVELS else s["label"].title(), "at": s["at"]}
            for s in sorted(shapes, key=lambda s: s["key"] != selected)  # kept first
            if _labelled(level, s["key"], selected)
        ],
    }
    chosen = [f for f in area_features if f["properties"]["key"] == selected]
    if chosen:
        data["selected"] = {"type": "FeatureCollection", "features": chosen}
    if context is not None:
        data["context"] = {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": context["geometry"], "properties": {}}],
        }
    order = [LAYER_ID, "context", "selected", "labels"]  # labels on top of every outline
    return {i: data[i] for i in order if i in data}


def deck(
    data: dict[str, Any], level: str, view_state: pdk.ViewState, tiles: bool | None = None
) -> pdk.Deck:
    """A deck with a layer for each entry of `data` (see `layer_data`); `tiles`: a street
    map under the areas (default: unless turned off, `basemap.tiles_wanted`)."""
    styles: dict[str, dict[str, Any]] = {
        LAYER_ID: dict(
            type="GeoJsonLayer",
            pickable=True,
            stroked=True,
            filled=True,
            get_fill_color="properties.fill",
            get_line_color=OUTLINE,
            line_width_min_pixels=1,
            auto_highlight=True,
            highlight_color=[0, 0, 0, 60],
        ),
        "labels": dict(
            type="TextLayer",
            get_position="at",
            get_text="text",
            get_size=LABEL_SIZE.get(level, DEFAULT_LABEL_SIZE),
            get_color=LABEL_COLOUR,
            get_text_anchor="'middle'",
            get_alignment_baseline="'center'",
            font_weight=700,
            background=True,
            get_background_color=PLATE_COLOUR,
            background_padding=[3, 1, 3, 1],
        ),
        "selected": dict(
            type="GeoJsonLayer",
            stroked=True,
            filled=False,
            get_line_color=SELECTED_OUTLINE,
            line_width_min_pixels=4,
        ),
        "context": dict(
            type="GeoJsonLayer",
            stroked=True,
            filled=False,
            get_line_color=CONTEXT_OUTLINE,
            line_width_min_pixels=3,
        ),
    }
    tiles = basemap.tiles_wanted() if tiles is None else tiles
    styles[LAYER_ID]["opacity"] = basemap.fill_opacity(tiles)
    layers = [pdk.Layer(styles[i].pop("type"), data[i], id=i, **styles[i]) for i in data]
    return pdk.Deck(
        layers=layers,
        initial_view_state=view_state,
        **basemap.deck_style(tiles),
        tooltip=TOOLTIP,
    )


def deck_json(
    shapes: list[dict[str, Any]],
    table: pd.DataFrame,
    labels: dict[str, str],
    level: str,
    selected: str,
    context: dict[str, Any] | None = None,
) -> str:
    """The deck.gl JSON the page sends, compact. `context`: a shape (as `layer_shapes`
    gives it) outlined around the selection, and the view fitted to it.

    pydeck's serializer walks every coordinate through Python hooks and indents
    the result; here it only serializes the small skeleton, and the layer data
    (plain lists and dicts) goes through `json.dumps` directly.
    """
    data = layer_data(shapes, table, labels, level, selected, context)
    view = fitted_view(context["geometry"]) if context else view_for(shapes, level, selected)
    # Labels thinned here, for the view as built: `with_overlay` thins them again only
    # when it changes the zoom or their size (thinning twice keeps the same labels).
    size = LABEL_SIZE.get(level, DEFAULT_LABEL_SIZE)
    data["labels"] = uncluttered(data["labels"], view.zoom, size)
    at = (view.latitude, view.longitude, view.zoom)
    skeleton = json.loads(_skeleton(tuple(data), level, at, basemap.tiles_wanted()))
    for layer in skeleton["layers"]:
        layer["data"] = data[layer["id"]]
    return json.dumps(skeleton, separators=(",", ":"))


@functools.lru_cache(maxsize=64)
def _skeleton(
    layer_ids: tuple[str, ...], level: str, at: tuple[float, float, float], tiles: bool
) -> str:
    """The deck's JSON with empty layers, for a view `at` (latitude, longitude, zoom): the
    same for every view of a level but the selected area's, and ~3 ms of pydeck to build."""
    view = pdk.ViewState(latitude=at[0], longitude=at[1], zoom=at[2], pitch=0)
    return str(deck({i: [] for i in layer_ids}, level, view, tiles).to_json())


class SerializedDeck(pdk.Deck):
    """A deck already turned into JSON (cached per view), so a rerun skips pydeck's
    serializer; `st.pydeck_chart` only needs `to_json()` and the tooltip, which must be
    the one of the layers in `spec` (the Outreach map's fields are not the dashboard's)."""

    def __init__(self, spec: str, tooltip: dict[str, Any] | None = None):
        # Not pydeck's __init__: it probes for Jupyter (failed imports) and reads API keys
        # from the environment, ~3 ms a rerun. These are the attributes Streamlit reads.
        self._spec = spec
        self._tooltip = tooltip or TOOLTIP
        self.layers: list[pdk.Layer] = []
        self.mapbox_key = None
        self.deck_widget = None
        self.width = "100%"

    def to_json(self) -> str:
        return self._spec


def view_for(shapes: list[dict[str, Any]], level: str, selected: str) -> pdk.ViewState:
    """The whole city, or closer around the selected area so a phone shows it."""
    at = next((s["at"] for s in shapes if s["key"] == selected), None)
    if at is None:
        return CHICAGO_VIEW
    return pdk.ViewState(
        longitude=at[0], latitude=at[1], zoom=SELECTED_ZOOM.get(level, DEFAULT_ZOOM), pitch=0
    )


def fitted_view(geometry: dict[str, Any], max_zoom: float = MAX_FIT_ZOOM) -> pdk.ViewState:
    """A view centred on a GeoJSON geometry (EPSG:4326 degrees), zoomed so it fits
    FIT_PIXELS (deck.gl: the world is 512 px wide at zoom 0, Web Mercator)."""
    west, south, east, north = shapely.geometry.shape(geometry).bounds

    def mercator_y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)

    width = max((east - west) / 360, 1e-9)
    height = max(mercator_y(north) - mercator_y(south), 1e-9)
    zoom = math.log2(min(FIT_PIXELS[0] / (512 * width), FIT_PIXELS[1] / (512 * height)))
    return pdk.ViewState(
        longitude=round((west + east) / 2, 5),
        latitude=round((south + north) / 2, 5),
        zoom=round(min(zoom, max_zoom), 2),
        pitch=0,
    )


def relative_luminance(rgb: list[int] | tuple[int, ...]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0-255 channels; alpha ignored)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: list[int] | tuple[int, ...], b: list[int] | tuple[int, ...]) -> float:
    """WCAG 2 contrast ratio, 1 to 21."""
    light, dark = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def over(top: list[int], under: list[int] | tuple[int, ...]) -> list[int]:
    """`top` (RGBA, alpha 0-255) composited over an opaque `under`."""
    alpha = top[3] / 255 if len(top) > 3 else 1.0
    return [round(t * alpha + u * (1 - alpha)) for t, u in zip(top[:3], under[:3], strict=True)]


def label_contrast(fill: list[int] | tuple[int, ...]) -> float:
    """The contrast of a label's text with what is behind it: its plate over `fill`."""
    return contrast_ratio(LABEL_COLOUR, over(PLATE_COLOUR, fill))


def with_overlay(
    spec: str,
    label_px: int | None = None,
    ring: tuple[float, float, float] | None = None,
    zoom_by: float = 0.0,
) -> str:
    """A deck JSON (from `deck_json`) with labels resized and the view zoomed in by
    `zoom_by` (presentation mode: a wider map) and, for a searched point, a ring of
    `ring` = (lat, lon, radius in metres) around it and the view fitted to the ring."""
    deck_spec = json.loads(spec)
    view = deck_spec["initialViewState"]
    view["zoom"] += zoom_by
    if ring is not None:
        lat, lon, radius = ring
        deck_spec["layers"].append(_ring_layer(lat, lon, radius))
        # Fit twice the ring: the streets around it show too.
        fitted = fitted_view(_circle(lat, lon, 2 * radius), max_zoom=16.0)
        view.update(latitude=fitted.latitude, longitude=fitted.longitude, zoom=fitted.zoom)
    for layer in deck_spec["layers"]:
        if layer.get("id") == "labels":
            if label_px is not None:
                layer["getSize"] = label_px
            layer["data"] = uncluttered(layer["data"], view["zoom"], layer["getSize"])
    return json.dumps(deck_spec, separators=(",", ":"))


def uncluttered(labels: list[dict[str, Any]], zoom: float, size_px: float) -> list[dict[str, Any]]:
    """The labels that do not overlap one placed before them at `zoom` (first come, first
    kept): 77 names at 22 px would print over each other. Boxes are estimated from the
    text's length (bold sans, about 0.62 em a character) plus the plate's padding."""
    kept: list[dict[str, Any]] = []
    boxes: list[tuple[float, float, float, float]] = []
    for label in labels:
        x, y = _pixels(label["at"][0], label["at"][1], zoom)
        half_w = (len(str(label["text"])) * 0.62 * size_px + 8) / 2
        half_h = (size_px * 1.25 + 4) / 2
        box = (x - half_w, y - half_h, x + half_w, y + half_h)
        if any(_overlap(box, other) for other in boxes):
            continue
        kept.append(label)
        boxes.append(box)
    return kept


def _pixels(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Web Mercator pixel position at `zoom` (deck.gl: the world is 512 px at zoom 0)."""
    scale = 512 * 2**zoom
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return scale * (lon + 180) / 360, scale * (1 - y / math.pi) / 2


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _ring_layer(lat: float, lon: float, radius: float) -> dict[str, Any]:
    """A ring of `radius` metres and a dot at the searched point, as deck.gl JSON."""
    layer = pdk.Layer(
        "ScatterplotLayer",
        [{"at": [lon, lat], "r": radius}],
        id="ring",
        get_position="at",
        get_radius="r",
        radius_units="'meters'",
        stroked=True,
        filled=False,
        get_line_color=RING_COLOUR,
        line_width_min_pixels=3,
    )
    skeleton = json.loads(pdk.Deck(layers=[layer], map_provider=None, map_style=None).to_json())
    ring: dict[str, Any] = skeleton["layers"][0]
    return ring


def _circle(lat: float, lon: float, radius: float, points: int = 32) -> dict[str, Any]:
    """A circle of `radius` metres as a GeoJSON polygon in degrees (for fitting only)."""
    dlat = radius / 111_320
    dlon = dlat / math.cos(math.radians(lat))
    ring = [
        [lon + dlon * math.cos(a), lat + dlat * math.sin(a)]
        for a in (2 * math.pi * i / points for i in range(points + 1))
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def picked_area(selection: Any) -> str | None:
    """The area key clicked on the map, from `st.pydeck_chart`'s selection state."""
    try:
        objects = selection["selection"]["objects"].get(LAYER_ID) or []
        first = objects[0]
    except (KeyError, TypeError, AttributeError, IndexError):
        return None
    props = first.get("properties", first) if isinstance(first, dict) else {}
    key = props.get("key")
    return str(key) if key is not None else None
