"""axe-core (WCAG 2.x A/AA rules and best practices) in a real browser on the real sample.

Four views a person uses: the dashboard at 1440x900, on a 390x844 phone, in
presentation mode at 1920x1080, and the Outreach page. Each must have zero violations;
a failure lists each rule with its impact and the first elements it found.

Every rule axe runs by default is checked (WCAG A/AA and best practices, colour
contrast included) and none is excluded. Beyond axe: each map names the table that is
its text equivalent (and that table's heading exists), its zoom buttons have names, and
the main column's headings go h1 -> h2 -> h3 without a jump (`ui.a11y` names the map).
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.test_browser import ARTIFACTS, open_page

# The shared fixtures (a module-scoped server on the real snapshot, one Chromium).
from tests.test_browser import browser as browser
from tests.test_browser import pytestmark as browser_marks
from tests.test_browser import server as server

pytestmark = browser_marks

DESKTOP, PHONE, PROJECTOR = (1440, 900), (390, 844), (1920, 1080)
FIRST_NODES = 3  # elements listed per rule in a failure message

AXE_OPTIONS = {"resultTypes": ["violations"]}  # only violations carry node details


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per rule: id, impact, how many elements and the first few of them."""
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:FIRST_NODES]]
        lines.append(
            f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']}\n"
            + "\n".join(f"    {t}" for t in targets)
        )
    return "\n".join(lines)


def violations_on(page) -> list[dict[str, Any]]:
    wait_until_idle(page)
    return list(Axe().run(page, options=AXE_OPTIONS).response["violations"])


def wait_until_idle(page) -> None:
    """Streamlit has finished its script run (the state its own tests wait for) and shows
    no stale, faded element (which would fail colour contrast); the map is named."""
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000
    )
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')", timeout=30_000)
    page.wait_for_timeout(1000)


MAP_FACTS = """() => ({
  maps: Array.from(document.querySelectorAll('[data-testid="stDeckGlJsonChart"]')).map(c => ({
    region: (c.querySelector('[role="region"]') || {getAttribute: () => null})
      .getAttribute('aria-label'),
    zoom: Array.from(c.querySelectorAll('button[class*="zoom"]'))
      .map(b => b.getAttribute('aria-label')),
    visibleCanvases: Array.from(c.querySelectorAll('canvas'))
      .filter(e => e.getAttribute('aria-hidden') !== 'true').length,
  })),
  headings: Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6'))
    .map(h => h.innerText.trim()),
})"""
MAIN_HEADING_LEVELS = """() => Array.from(document.querySelectorAll(
  '[data-testid="stMain"] :is(h1, h2, h3, h4, h5, h6)')).map(h => Number(h.tagName[1]))"""
QUOTED = re.compile("“([^”]+)”")


def map_problems(facts: dict[str, Any]) -> list[str]:
    """What keeps a screen reader from a map: no named region, a name pointing to a table
    the page has no heading for, zoom buttons without a name, canvases left exposed."""
    problems = [] if facts["maps"] else ["no map on the page"]
    for chart in facts["maps"]:
        label = chart["region"] or ""
        tables = QUOTED.findall(label)
        if not tables:
            problems.append(f"map region does not name its text equivalent: {label!r}")
        missing = [t for t in tables if t not in facts["headings"]]
        problems += [f"map names a table the page does not have: {t!r}" for t in missing]
        if len(chart["zoom"]) != 2 or not all(chart["zoom"]):
            problems.append(f"zoom buttons' names: {chart['zoom']}")
        if chart["visibleCanvases"]:
            problems.append(f"{chart['visibleCanvases']} canvas(es) exposed as unnamed images")
    return problems


def heading_jumps(levels: list[int]) -> list[str]:
    """The main column's headings start at h1 and never skip a level going down."""
    if not levels or levels[0] != 1:
        return [f"the first heading is not an h1: {levels[:3]}"]
    return [
        f"h{before} is followed by h{after}"
        for before, after in itertools.pairwise(levels)
        if after > before + 1
    ]


def assert_accessible(page, name: str) -> None:
    """Zero axe violations, the map named after its text equivalent, headings in order."""
    found = violations_on(page)
    problems = map_problems(page.evaluate(MAP_FACTS))
    problems += heading_jumps(page.evaluate(MAIN_HEADING_LEVELS))
    if found or problems:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"axe_{name}.png")
    assert not found, f"axe found {len(found)} rule(s) broken on {name}:\n{describe(found)}"
    assert not problems, f"{name}: " + "; ".join(problems)


@pytest.mark.parametrize(
    ("name", "query", "size"),
    [
        ("home_1440x900", "/", DESKTOP),
        ("phone_390x844", "/?area=17&as_of=2020-11-29", PHONE),
        ("present_1920x1080", "/?area=17&as_of=2020-11-29&present=1", PROJECTOR),
    ],
)
def test_dashboard_is_accessible(server, browser, name, query, size) -> None:
    page = open_page(browser, f"{server}{query}", *size)
    assert_accessible(page, name)
    page.close()


def test_outreach_page_is_accessible(server, browser) -> None:
    page = browser.new_page(viewport={"width": DESKTOP[0], "height": DESKTOP[1]})
    page.goto(f"{server}/Outreach")
    page.wait_for_selector("canvas", timeout=90_000)
    page.wait_for_function(
        "() => document.body.innerText.includes('Emerging hot spots')", timeout=90_000
    )
    assert_accessible(page, "outreach_1440x900")
    page.close()


def test_the_checks_catch_what_they_look_for(server, browser) -> None:
    """The checks can fail: on the real page, a button with no name and a heading that
    skips two levels are reported; so are a map without its name, and a name pointing to
    a table the page does not have."""
    page = open_page(browser, f"{server}/", *DESKTOP)
    wait_until_idle(page)
    page.evaluate(
        """() => {
      const button = document.createElement('button');
      button.id = 'nameless';
      const heading = document.createElement('h4');
      heading.textContent = 'Skipped two levels';
      document.querySelector('[data-testid="stMain"]').append(button, heading);
    }"""
    )
    found = describe(violations_on(page))
    assert "button-name" in found and "#nameless" in found
    assert "heading-order" in found
    assert heading_jumps(page.evaluate(MAIN_HEADING_LEVELS))[-1] == "h2 is followed by h4"
    facts = page.evaluate(MAP_FACTS)
    assert map_problems(facts) == []
    unnamed = {**facts, "maps": [{**facts["maps"][0], "region": None}]}
    assert map_problems(unnamed) == ["map region does not name its text equivalent: ''"]
    no_table = {**facts, "headings": [h for h in facts["headings"] if "ranked" not in h]}
    assert map_problems(no_table) == [
        "map names a table the page does not have: 'Every police district, ranked'"
    ]
    page.close()
