"""The Outreach page in a real browser (headless Chromium) on the real snapshot.

Opens a link with a team area (District 11), checks that the windows and the tables are
cut to it, hovers the map for its tooltip, reads the page on a phone as cards without
sideways scrolling, times the first render and a few interactions, and saves
screenshots in tests/artifacts/. This machine reaches no tile server: the map shows the
offline fallback (layers without streets); that the deck asks for the tiles is tested
in tests/test_outreach_page.py.
"""

from __future__ import annotations

import json
import re
import time

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import BOUNDARY_FILES
from tests.test_browser import ARTIFACTS, browser, pytestmark, server  # noqa: F401

DESKTOP, PHONE = (1440, 900), (390, 844)
TEAM = "scope=district&district=11"


def beats_of_district(district: str) -> set[str]:
    features = json.loads(BOUNDARY_FILES["beats"].read_text())["features"]
    return {
        f["properties"]["beat_num"]
        for f in features
        if str(int(f["properties"]["district"])) == district
    }


def wait_until_idle(page, timeout_ms: int = 120_000) -> None:
    """Until Streamlit's script run is over (the page's attribute says so)."""
    page.wait_for_function(
        "() => { const app = document.querySelector('[data-testid=\"stApp\"]');"
        " return app && app.dataset.testScriptState === 'notRunning'; }",
        timeout=timeout_ms,
    )


def open_outreach(browser, url: str, size: tuple[int, int]):  # noqa: F811
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    try:
        return page, timed_visit(page, url)
    except PlaywrightTimeout:
        page.screenshot(path=ARTIFACTS / "outreach_timeout.png")
        raise


def caption_counts(text: str) -> list[tuple[int, int]]:
    """(shown, of) from the tables' captions: '12 of 15 beats here ...'."""
    return [(int(a), int(b)) for a, b in re.findall(r"(\d+) of (\d+) beats here", text)]


def test_a_team_area_link_cuts_windows_and_tables(server, browser) -> None:  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    page, cold = open_outreach(browser, f"{server}/Outreach?{TEAM}", DESKTOP)
    text = page.locator("body").inner_text()
    assert "District 11" in text
    district = beats_of_district("11")
    assert {of for _, of in caption_counts(text)} == {len(district)}  # not the city's 274
    cards = page.locator(".window-card").evaluate_all("cards => cards.map(c => c.textContent)")
    beats = {re.search(r"beat (\d{4})", c).group(1) for c in cards}  # type: ignore[union-attr]
    assert beats and beats <= district
    print(f"\ncold first render with a team area: {cold:.2f} s")
    assert cold <= 60  # the <= 5 s target is measured and reported; a loaded CI is slower
    page.screenshot(path=ARTIFACTS / "outreach_district11_1440x900.png")
    hover_tooltip(page)
    page.screenshot(path=ARTIFACTS / "outreach_district11_tooltip_1440x900.png")
    page.get_by_text("Significant hot and cold spots").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=ARTIFACTS / "outreach_district11_tables_1440x900.png")
    page.close()


def hover_tooltip(page) -> None:
    """Hover the map's middle (inside the fitted team area) until deck.gl's tooltip shows
    real numbers, not `{placeholders}`."""
    chart = page.locator('[data-testid="stDeckGlJsonChart"]').first
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)  # deck.gl picks only once it has drawn
    box = chart.bounding_box()
    assert box is not None
    for step in range(12):
        x = box["x"] + box["width"] * (0.4 + 0.02 * step)
        page.mouse.move(x, box["y"] + box["height"] / 2)
        page.wait_for_timeout(400)
        tip = page.locator(".deck-tooltip")
        if tip.count() and tip.first.is_visible() and tip.first.inner_text().strip():
            words = tip.first.inner_text()
            assert "{" not in words and re.search(r"\d+ shooting", words), words
            return
    page.screenshot(path=ARTIFACTS / "outreach_no_tooltip.png")
    raise AssertionError("no tooltip over the map")


def test_on_a_phone_each_window_is_a_card(server, browser) -> None:  # noqa: F811
    page, _ = open_outreach(browser, f"{server}/Outreach?{TEAM}", PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    cards = page.locator(".window-card")
    assert cards.count() > 0 and cards.first.is_visible()
    assert "days left" in cards.first.inner_text() or "day left" in cards.first.inner_text()
    page.screenshot(path=ARTIFACTS / "outreach_district11_390x844.png")
    hover_tooltip(page)
    page.screenshot(path=ARTIFACTS / "outreach_district11_tooltip_390x844.png")
    page.close()


#: Counts the script runs that finished on this page (the app's attribute turning to
#: 'notRunning'), so a timing waits for the run its click started, however late it starts.
COUNT_RUNS = """() => {
  if (window.runsDone !== undefined) return;
  window.runsDone = 0;
  const app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver(() => {
    if (app.dataset.testScriptState === 'notRunning') window.runsDone += 1;
  }).observe(app, { attributes: true, attributeFilter: ['data-test-script-state'] });
}"""
#: Resolves once the browser has drawn two frames: the map's new layers are on screen
#: (deck.gl draws in an animation frame after the data arrives; a frame waits for the
#: work blocking the page, e.g. building the layers or reading back a software canvas).
PAINTED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def timed(page, action) -> float:
    """Seconds from `action` (a click) until its rerun is over and the page has drawn it."""
    page.evaluate(COUNT_RUNS)
    before = page.evaluate("window.runsDone")
    started = time.perf_counter()
    action()
    page.wait_for_function(f"() => window.runsDone > {before}", timeout=120_000)
    wait_until_idle(page)
    page.evaluate(PAINTED)
    return time.perf_counter() - started


def timed_visit(page, url: str) -> float:
    """Seconds to open `url` in this tab (a new session) until its first run is drawn."""
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_function(
        "() => document.body.innerText.includes('Significant hot and cold spots')",
        timeout=120_000,
    )
    page.wait_for_selector("canvas", timeout=60_000)
    wait_until_idle(page)
    page.evaluate(PAINTED)
    return time.perf_counter() - started


def test_interactions_are_timed(server, browser) -> None:  # noqa: F811
    page, cold = open_outreach(browser, f"{server}/Outreach", DESKTOP)
    hexagons = page.get_by_text("hexagons (~350 m)")
    beats = page.get_by_text("police beats")
    figures = {
        "cold first render": cold,
        "hexagons, first time": timed(page, hexagons.click),
        "back to beats": timed(page, beats.click),
        "hexagons again": timed(page, hexagons.click),
        "emerging hot spots": timed(page, page.get_by_text("emerging hot spots").first.click),
        "team area: district 11 (a new session)": timed_visit(
            page, f"{server}/Outreach?{TEAM}&level=hex&shows=emerging"
        ),
    }
    print("\n" + "\n".join(f"{name}: {seconds:.2f} s" for name, seconds in figures.items()))
    page.locator('[data-testid="stDeckGlJsonChart"]').first.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    page.screenshot(path=ARTIFACTS / "outreach_district11_hex_emerging_1440x900.png")
    assert figures["back to beats"] <= 10 and figures["hexagons again"] <= 10
    page.close()
