"""The pydeck map: areas coloured by the view's metric, labels, the selected outline.

No base-map tiles are needed: the boundaries and labels carry the map, so it
works in a meeting room with no internet.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pydeck as pdk

from pipeline import stats

LAYER_ID = "areas"
CHICAGO_VIEW = pdk.ViewState(latitude=41.835, longitude=-87.69, zoom=9.4, pitch=0)
SELECTED_ZOOM = {"district": 10.6, "beat": 12.0, "community_area": 11.4}
LABEL_SIZE = {"district": 15, "beat": 9, "community_area": 9}
OUTLINE = [30, 30, 30]
SELECTED_OUTLINE = [0, 0, 0]


def features(
    shapes: list[dict[str, Any]], table: pd.DataFrame, labels: dict[str, str]
) -> list[dict[str, Any]]:
    """GeoJSON features with what the tooltip shows; areas missing from `table` show 0."""
    rows = table.set_index("area").to_dict("index")
    out = []
    for shape in shapes:
        row = rows.get(shape["key"], {})
        current, previous = row.get("current", 0), row.get("previous", 0)
        out.append(
            {
                "type": "Feature",
                "geometry": shape["geometry"],
                "properties": {
                    "key": shape["key"],
                    "name": _name(shape["key"], labels.get(shape["key"])),
                    "current": int(current),
                    "previous": int(previous),
                    "change": f"{int(current - previous):+d} "
                    f"({stats.describe_pct(current, previous)})",
                    "verdict": row.get("verdict", stats.TOO_FEW),
                    "rate": row.get("rate", 0.0),
                    "category": row.get("category", ""),
                    "fill": row.get("fill", [255, 255, 255]),
                },
            }
        )
    return out


def _labelled(level: str, key: str, selected: str) -> bool:
    """274 beat numbers would bury the city: label only the selected beat's district."""
    if level != "beat":
        return True
    return bool(selected) and key[:2] == selected[:2]


def _name(key: str, label: str | None) -> str:
    return f"{key} ({label})" if label and label != key else key


def deck(
    shapes: list[dict[str, Any]],
    table: pd.DataFrame,
    labels: dict[str, str],
    level: str,
    selected: str,
) -> pdk.Deck:
    area_features = features(shapes, table, labels)
    collection = {"type": "FeatureCollection", "features": area_features}
    layers = [
        pdk.Layer(
            "GeoJsonLayer",
            collection,
            id=LAYER_ID,
            pickable=True,
            stroked=True,
            filled=True,
            get_fill_color="properties.fill",
            get_line_color=OUTLINE,
            line_width_min_pixels=1,
            auto_highlight=True,
            highlight_color=[0, 0, 0, 60],
        ),
        pdk.Layer(
            "TextLayer",
            [
                {
                    "text": s["key"] if level != "community_area" else s["label"].title(),
                    "at": s["at"],
                }
                for s in shapes
                if _labelled(level, s["key"], selected)
            ],
            id="labels",
            get_position="at",
            get_text="text",
            get_size=LABEL_SIZE[level],
            get_color=[20, 20, 20],
            get_text_anchor="'middle'",
            get_alignment_baseline="'center'",
            font_weight=700,
            outline_width=2,
            outline_color=[255, 255, 255],
            font_settings={"sdf": True},
        ),
    ]
    chosen = [f for f in area_features if f["properties"]["key"] == selected]
    if chosen:
        layers.append(
            pdk.Layer(
                "GeoJsonLayer",
                {"type": "FeatureCollection", "features": chosen},
                id="selected",
                stroked=True,
                filled=False,
                get_line_color=SELECTED_OUTLINE,
                line_width_min_pixels=4,
            )
        )
    tooltip = {
        "html": "<b>{name}</b><br/>this period: {current}<br/>same period last year: "
        "{previous}<br/>change: {change}<br/>{verdict}",
        "style": {
            "backgroundColor": "white",
            "color": "black",
            "fontSize": "15px",
            "border": "1px solid black",
        },
    }
    return pdk.Deck(
        layers=layers,
        initial_view_state=view_for(shapes, level, selected),
        map_provider=None,
        map_style=None,
        tooltip=tooltip,
    )


def view_for(shapes: list[dict[str, Any]], level: str, selected: str) -> pdk.ViewState:
    """The whole city, or closer around the selected area so a phone shows it."""
    at = next((s["at"] for s in shapes if s["key"] == selected), None)
    if at is None:
        return CHICAGO_VIEW
    return pdk.ViewState(longitude=at[0], latitude=at[1], zoom=SELECTED_ZOOM[level], pitch=0)


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
