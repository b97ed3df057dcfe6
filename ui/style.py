"""CSS: readable everywhere, and a projector mode with large type and no controls."""

from __future__ import annotations

import streamlit as st

BASE = """
<style>
/* Keep the main column inside a phone's width: wrap, never scroll sideways. */
.main .block-container, [data-testid="stMainBlockContainer"] { max-width: 1600px;
  padding: 2.2rem 2rem 2rem 2rem; }
[data-testid="stMarkdownContainer"] p { overflow-wrap: break-word; }
/* Header and row-label cells default to a light grey; darken them for WCAG AA contrast. */
[data-testid="stTable"] th { color: #1a1a1a !important; }
/* A short title and section headings: the headline, map and table fit a 900 px screen. */
h1 { font-size: 2rem !important; padding: 0 0 0.25rem 0 !important; line-height: 1.2 !important; }
[data-testid="stMain"] h2 { font-size: 1.25rem !important; padding: 0.25rem 0 !important; }
.freshness { color: #1a1a1a; font-size: 0.95rem; margin: 0 0 0.25rem 0; }
.headline { font-size: 1.35rem; font-weight: 700; margin: 0.25rem 0 0 0; line-height: 1.3; }
.legend .item { white-space: nowrap; display: inline-block; margin-right: 0.8em; }
.legend span.swatch { display: inline-block; width: 1.1em; height: 1.1em;
  border: 1px solid #333; vertical-align: middle; margin: 0 0.3em 0 0; }
[data-testid="stAlert"] > div { padding: 0.45rem 0.8rem; }
/* Captions are faded to 60 % (3.9:1 on white): a solid grey meets WCAG AA (7:1). */
[data-testid="stCaptionContainer"] { opacity: 1 !important; color: #595959 !important; }
[data-testid="stCaptionContainer"] p { color: #595959 !important; }
[data-testid="stMain"] [data-testid="stTable"] td, [data-testid="stMain"] [data-testid="stTable"] th
  { font-size: 0.9rem; padding: 0.3rem 0.45rem; }
/* Phones: a two-line title, tabs that wrap instead of running off the edge. */
@media (max-width: 640px) {
  h1 { font-size: 1.45rem !important; }
  .headline { font-size: 1.15rem; }
  [data-testid="stMainBlockContainer"] { padding-top: 3.5rem; padding-left: 0.8rem;
    padding-right: 0.8rem; }
  [role="tablist"] { flex-wrap: wrap; row-gap: 0.25rem; overflow-x: auto; }
}
</style>
"""

PRESENT = """
<style>
/* Projector: controls hidden, the map across the screen, big high-contrast type. */
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="collapsedControl"], [data-testid="stExpandSidebarButton"],
header[data-testid="stHeader"], [data-testid="stElementToolbar"],
.mapboxgl-ctrl-zoom-in, .mapboxgl-ctrl-zoom-out, .mapboxgl-ctrl-group { display: none !important; }
.main .block-container, [data-testid="stMainBlockContainer"] { max-width: 100% !important;
  padding: 1rem 1.5rem !important; }
html, body, [data-testid="stAppViewContainer"] { background: #ffffff !important;
  color: #000000 !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
.freshness { font-size: 1.5rem !important; color: #000 !important; }
h1 { font-size: 2.6rem !important; } [data-testid="stMain"] h2 { font-size: 2.2rem !important; }
[data-testid="stMarkdownContainer"] p.headline { font-size: 2.75rem !important;
  line-height: 1.2 !important; }
.legend, .legend b { font-size: 1.6rem !important; }
[data-testid="stTable"] td, [data-testid="stTable"] th { font-size: 1.6rem !important;
  color: #000 !important; padding: 0.4rem 0.8rem !important; }
</style>
"""

# A date typed into a date field applies on Enter, not only when the field loses focus:
# Streamlit's date field commits when focus leaves it while its calendar is closed, so
# Enter acts as a click outside (which closes the calendar) and then leaves the field.
# Trusted, constant code, registered once per process (this module is imported once).
ENTER_APPLIES_DATES = st.components.v2.component(
    "enter_applies_dates",
    js="""
export default function () {
  const onKey = (event) => {
    const target = event.target;
    if (event.key !== "Enter" || event.isComposing || !(target instanceof HTMLElement)) return;
    if (!target.closest('[data-testid="stDateInputField"]')) return;
    for (const type of ["pointerdown", "mousedown", "pointerup", "mouseup"]) {
      document.body.dispatchEvent(new PointerEvent(type, { bubbles: true }));
    }
    target.blur();
  };
  document.addEventListener("keydown", onKey, true);
  return () => document.removeEventListener("keydown", onKey, true);
}
""",
)
