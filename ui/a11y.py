"""Accessible names for what Streamlit's map draws, which no page code can reach.

`st.pydeck_chart` draws the map on canvases: mapbox labels its own canvas only "Map",
deck.gl's focusable layer has no name at all, and the zoom buttons are named only by a
`title` tooltip. `name_maps` mounts a small trusted script that gives each map on the
page one named region (the layer that takes the keyboard) whose name says where the
same figures are as text (a table on the page), names the zoom buttons, and hides the
two canvases, which are pictures of that table, from assistive technology.

The label travels as data and is set with `setAttribute` (never parsed as HTML).
"""

from __future__ import annotations

import streamlit as st

from ui.state import LEVELS

_NAME_MAPS = st.components.v2.component(
    "name_maps",
    js="""
export default function ({ data }) {
  const label = String((data && data.label) || "Map");
  const name = () => {
    for (const chart of document.querySelectorAll('[data-testid="stDeckGlJsonChart"]')) {
      const region = chart.querySelector(".deck-events-root");  // takes focus and keys
      if (region) {
        region.setAttribute("role", "region");
        region.setAttribute("aria-label", label);
      }
      for (const canvas of chart.querySelectorAll("canvas")) {
        canvas.removeAttribute("role");
        canvas.removeAttribute("aria-label");
        canvas.setAttribute("aria-hidden", "true");
        if (canvas.hasAttribute("tabindex")) canvas.setAttribute("tabindex", "-1");
      }
      for (const [css, words] of [[".mapboxgl-ctrl-zoom-in", "Zoom in on the map"],
                                  [".mapboxgl-ctrl-zoom-out", "Zoom out of the map"]]) {
        for (const button of chart.querySelectorAll(css)) {
          button.setAttribute("aria-label", words);
        }
      }
    }
  };
  name();
  // The map is redrawn (new elements) when the view changes: name it again each time.
  const observer = new MutationObserver(name);
  observer.observe(document.body, { childList: true, subtree: true });
  return () => observer.disconnect();
}
""",
)


def dashboard_map_label(level: str) -> str:
    """The dashboard map's name: what it shows and the ranked table that says it in
    text (`ui.context.show_ranked`'s heading)."""
    words = LEVELS[level].lower()
    return (
        f"Map of shootings by {words}. The same figures as text: "
        f"the table “Every {words}, ranked” below."
    )


def name_maps(label: str) -> None:
    """Name every map on the page `label` (a constant sentence, shown to screen readers)."""
    _NAME_MAPS(key="a11y_name_maps", data={"label": label}, height=0)
