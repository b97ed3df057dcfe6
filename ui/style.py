"""CSS: readable everywhere, and a projector mode with large type and no controls."""

from __future__ import annotations

import streamlit as st

BASE = """
<style>
/* Keep the main column inside a phone's width: wrap, never scroll sideways. */
.main .block-container, [data-testid="stMainBlockContainer"] { max-width: 1400px; }
[data-testid="stMarkdownContainer"] p { overflow-wrap: anywhere; }
/* Header and row-label cells default to a light grey; darken them for WCAG AA contrast. */
[data-testid="stTable"] th { color: #1a1a1a !important; }
.freshness { color: #1a1a1a; font-size: 0.95rem; margin: 0 0 0.5rem 0; }
.legend span.swatch { display: inline-block; width: 1.1em; height: 1.1em;
  border: 1px solid #333; vertical-align: middle; margin: 0 0.3em 0 0.8em; }
</style>
"""

PRESENT = """
<style>
/* Projector: controls hidden, big high-contrast type. */
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="collapsedControl"], header[data-testid="stHeader"] { display: none !important; }
html, body, [data-testid="stAppViewContainer"] { background: #ffffff !important;
  color: #000000 !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
.freshness { font-size: 1.5rem !important; color: #000 !important; }
h1 { font-size: 3rem !important; } h2, h3 { font-size: 2.2rem !important; }
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
