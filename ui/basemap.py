"""The street base map under the page's maps: CARTO's light ("positron") tiles, no API key.

Streamlit's deck.gl chart draws the base map with MapLibre beneath the deck's
layers, so the coloured areas are drawn with some transparency (`FILL_OPACITY`)
to keep street and place names readable through them. When the tiles cannot load
(offline, a firewall) MapLibre fails quietly and the layers draw as before.

Without a `mapStyle`, Streamlit adds CARTO tiles by itself; pydeck's sentinel
`__MAP_STYLE__` is the one value that makes it draw none, so "off" sends that.
The projector view and the printed brief keep their own high-contrast look: no
tiles, opaque colours.
"""

from __future__ import annotations

from typing import Any

from pipeline.settings import Settings

POSITRON = "https://basemaps.cartocdn.com/gl/positron-gl-style/style.json"
NO_TILES = "__MAP_STYLE__"  # Streamlit: draw no base map at all
#: Opacity of the coloured areas over the tiles (names stay readable); 1 without tiles.
FILL_OPACITY = 0.55


def tiles_wanted(settings: Settings | None = None, present: bool = False) -> bool:
    """Tiles unless turned off (env MAP_TILES=0) or shown on a projector."""
    return (settings or Settings.from_env()).map_tiles and not present


def deck_style(tiles: bool) -> dict[str, Any]:
    """`map_provider` and `map_style` for `pydeck.Deck`."""
    if tiles:
        return {"map_provider": "carto", "map_style": POSITRON}
    return {"map_provider": None, "map_style": NO_TILES}


def fill_opacity(tiles: bool) -> float:
    return FILL_OPACITY if tiles else 1.0


def spec_style(tiles: bool) -> dict[str, Any]:
    """The same as top-level keys of a deck.gl JSON spec."""
    if tiles:
        return {"mapProvider": "carto", "mapStyle": POSITRON}
    return {"mapStyle": NO_TILES}
