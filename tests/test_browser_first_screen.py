"""The first screen in a real browser (issues 13 and 14): what a council sees at a desk
and on a projector, and what a resident on a phone gets from a link in three
interactions. Uses the server and browser of tests/test_browser.py (the real snapshot,
Debian's Chromium); screenshots go to tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import itertools
import re
import time

import pytest

from tests.test_browser import ARTIFACTS, browser, open_page, server  # noqa: F401 (fixtures)
from tests.test_browser import pytestmark as browser_marks

pytestmark = browser_marks

DESKTOP, PHONE = (1440, 900), (390, 844)
PROJECTORS = [(1920, 1080), (1024, 768)]
HEADLINE = "p.headline"
CARD = '[class*="st-key-answer_card"]'
WJ = "\u2060"  # `ui.text.plain` breaks Markdown patterns with invisible word joiners


def box(page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not drawn"
    return found


def settled(page) -> None:
    """Wait until the app has finished running and its elements have faded in."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )
    page.wait_for_timeout(1500)


def lines_of(page, selector: str) -> list[int]:
    """How many lines each matching element's text takes (those with a '%' or a swatch)."""
    return page.evaluate(
        """selector => Array.from(document.querySelectorAll(selector))
        .filter(e => e.innerText.includes('%') || e.querySelector('.swatch'))
        .map(e => { const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
          const tops = new Set(); const range = document.createRange();
          for (let t = walker.nextNode(); t; t = walker.nextNode()) {
            range.selectNodeContents(t);
            for (const r of range.getClientRects()) {
              if (r.width > 1) tops.add(Math.round(r.top / 4));
            }
          }
          return tops.size; })""",
        selector,
    )


def inside_viewport(found: dict[str, float], height: int) -> bool:
    return found["y"] >= 0 and found["y"] + found["height"] <= height


def test_headline_map_and_table_fill_the_first_screen_at_a_desk(server, browser) -> None:  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser, f"{server}/?area=17&as_of=2020-11-29", *DESKTOP)
    for selector in (HEADLINE, "canvas", '[data-testid="stTable"]'):
        assert inside_viewport(box(page, selector), DESKTOP[1]), selector
    # Map beside the table: the two share the screen's width.
    assert box(page, "canvas")["x"] < box(page, '[data-testid="stTable"]')["x"]
    assert page.get_by_text("Presentation mode").is_visible()
    assert "synced from" not in page.locator("body").inner_text()  # names: in definitions
    page.screenshot(path=ARTIFACTS / "first_screen_1440x900.png")
    page.close()


@pytest.mark.parametrize("size", PROJECTORS, ids=["1920x1080", "1024x768"])
def test_presentation_mode_reads_from_the_back_of_the_room(server, browser, size) -> None:  # noqa: F811
    page = open_page(browser, f"{server}/?area=17&as_of=2020-11-29&present=1", *size)
    headline = page.locator(HEADLINE).first
    assert headline.evaluate("p => parseFloat(getComputedStyle(p).fontSize)") >= 40
    assert inside_viewport(box(page, HEADLINE), size[1])
    canvas = box(page, "canvas")
    assert canvas["width"] >= 0.9 * size[0]  # the map across the screen
    assert canvas["y"] < size[1] * 0.6  # and on the first screen
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    text = page.locator("body").inner_text()
    assert "synced from" not in text and "duckdb" not in text
    controls = page.get_by_role("button", name=re.compile("Download|brief|location", re.I))
    assert not [c for c in controls.all() if c.is_visible()]  # nor the charts' toolbars
    zoom = page.locator(".mapboxgl-ctrl-zoom-in, .mapboxgl-ctrl-zoom-out").all()
    assert zoom and not [z for z in zoom if z.is_visible()]  # nor the map's zoom buttons
    boxes = page.locator('input[type="text"]').all()  # the hidden sidebar's are not seen
    assert not [b for b in boxes if b.is_visible()]  # no search box
    page.screenshot(path=ARTIFACTS / f"present_{size[0]}x{size[1]}.png")
    page.close()


def test_a_phone_gets_from_a_link_to_the_answer_in_three_interactions(server, browser) -> None:  # noqa: F811
    """Open the link, tap the box, type 'Pilsen', press Enter: the answer sentence is on
    the first screen. The time from opening the page to the sentence is printed."""
    page = browser.new_page(viewport={"width": PHONE[0], "height": PHONE[1]})
    started = time.monotonic()
    page.goto(f"{server}/?as_of=2020-11-26")
    search = page.get_by_role("textbox", name="Your address, ZIP code or neighbourhood")
    search.click(timeout=60_000)  # 1
    page.keyboard.type("Pilsen")  # 2
    page.keyboard.press("Enter")  # 3
    answer = page.locator(CARD).get_by_text(re.compile(f"^Pilsen:{WJ}? \\d+ this year against"))
    answer.wait_for(timeout=60_000)
    seconds = time.monotonic() - started
    print(f"\nphone 390x844: page open to the answer sentence in {seconds:.1f} s")
    sentence = answer.inner_text().replace(WJ, "")
    assert re.search(
        r"by 26 Nov; (a likely (in|de)crease|too few to judge|within normal)", sentence
    )
    assert inside_viewport(answer.bounding_box() or {}, PHONE[1])
    assert "Police district 12" in page.locator(CARD).inner_text()  # for reference
    assert "q=Pilsen" in page.url and "level=community_area" in page.url  # shareable
    h1 = page.locator("h1").first.bounding_box()
    assert h1 is not None and h1["height"] <= 2.6 * 1.45 * 16  # at most two lines
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    # "+22 (+81 %)" and each legend swatch with its label: never split across lines.
    changes = lines_of(page, '[data-testid="stTable"] td')
    assert changes and max(changes) == 1
    legend = lines_of(page, ".legend .item")
    assert legend and max(legend) == 1
    page.wait_for_timeout(1500)
    page.screenshot(path=ARTIFACTS / "phone_search_pilsen_390x844.png")
    page.close()


def test_the_same_numbers_as_the_command_line(server, browser) -> None:  # noqa: F811
    """The card's figures are `python -m pipeline where` figures (District 17's Albany
    Park neighbourhood through 26 Nov 2020: 37 shooting victims against 14)."""
    page = open_page(browser, f"{server}/?as_of=2020-11-26&q=Albany%20Park", *PHONE)
    card = page.locator(CARD).inner_text().replace(WJ, "")
    assert "Albany Park: 37 this year against 14 last year by 26 Nov; a likely increase." in card
    page.close()


def test_an_unreachable_address_service_leaves_the_page_working(server, browser) -> None:  # noqa: F811
    page = open_page(browser, f"{server}/?as_of=2020-11-26", *PHONE)
    page.get_by_role("textbox", name="Your address, ZIP code or neighbourhood").fill(
        "3401 W Foster Ave"
    )
    page.keyboard.press("Enter")
    note = page.get_by_text("could not reach the address service; try a ZIP code or a")
    note.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stTable"]').first.is_visible()
    page.close()


def test_a_point_in_a_link_draws_a_ring_and_hostile_words_stay_text(server, browser) -> None:  # noqa: F811
    hostile = "[Click](http://example.invalid)"
    page = open_page(
        browser, f"{server}/?as_of=2020-11-26&q={hostile}&at=41.975870,-87.710000", *PHONE
    )
    card = page.locator(CARD).inner_text()
    assert f"Shootings within two blocks of {hostile}:" in card.replace(WJ, "")
    assert page.locator('a[href*="example.invalid"]').count() == 0
    page.locator("canvas").first.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    page.screenshot(path=ARTIFACTS / "phone_point_ring_390x844.png")
    page.close()


@pytest.mark.parametrize("allowed", [True, False], ids=["allowed", "refused"])
def test_use_my_location(server, browser, allowed) -> None:  # noqa: F811
    context = browser.new_context(
        viewport={"width": PHONE[0], "height": PHONE[1]},
        geolocation={"latitude": 41.97587, "longitude": -87.71},
        permissions=["geolocation"] if allowed else [],
    )
    page = context.new_page()
    page.goto(f"{server}/?as_of=2020-11-26")
    page.get_by_role("button", name="Use my location").click(timeout=60_000)
    wanted = (
        "Shootings within two blocks of your location:"
        if allowed
        else "Your browser did not share your location"
    )
    page.get_by_text(wanted).wait_for(timeout=60_000)
    context.close()


@pytest.mark.parametrize(
    ("query", "size"),
    # Home, phone and presentation views without a search: tests/test_accessibility.py.
    [("?q=Pilsen&as_of=2020-11-26", PHONE)],
    ids=["phone-search"],
)
def test_axe_finds_no_violations_and_headings_never_skip_a_level(
    server,  # noqa: F811
    browser,  # noqa: F811
    query,
    size,
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = open_page(browser, f"{server}/{query}", *size)
    settled(page)  # a rerun dims the page: contrast is measured on the page at rest
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    levels = page.evaluate(
        '() => Array.from(document.querySelectorAll(\'[data-testid="stMain"] :is(h1, h2, h3, h4,'
        " h5, h6)'))"
        ".filter(h => h.offsetParent !== null).map(h => Number(h.tagName[1]))"
    )
    assert levels[0] == 1  # the page's own headings: h1, then h2s, never a skipped level
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    page.close()
