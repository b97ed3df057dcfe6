"""The page in a real browser (Debian's headless Chromium via Playwright) on the real sample.

Starts `streamlit run dashboard.py` on 127.0.0.1 against a store synced from
../shared/data/chicago, waits for the map canvas and the table, selects the
17th District, opens presentation mode, checks a 390 px phone has no sideways
scrolling, and saves screenshots in tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from pypdf import PdfReader

from pipeline.settings import PROJECT_ROOT
from tests.conftest import needs_snapshot, sync_real_snapshot

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    needs_snapshot,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Chromium not installed (Debian packages chromium, "
        "chromium-driver; .ci/run installs them)",
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    data = sync_real_snapshot(tmp_path_factory.mktemp("browser") / "data")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=PROJECT_ROOT,
        # The address service is a closed local port: the page's "could not reach" path,
        # and never a request off this machine.
        env=dict(os.environ, DATA_DIR=str(data), GEOCODER_URL=f"http://127.0.0.1:{free_port()}"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("streamlit did not start") from None
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def open_page(browser, url: str, width: int = 1400, height: int = 1100):
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    page.goto(url)
    page.wait_for_selector("canvas", timeout=60_000)  # the deck.gl map
    page.wait_for_selector('[data-testid="stTable"]', timeout=60_000)
    page.wait_for_timeout(1500)  # let the map draw before a screenshot
    return page


def table_text(page) -> str:
    return page.locator('[data-testid="stTable"]').first.inner_text()


def table_rows(page) -> dict[str, list[str]]:
    """The CompStat table's rows by their first cell (header row under 'what')."""
    rows = page.locator('[data-testid="stTable"]').first.evaluate(
        "table => Array.from(table.querySelectorAll('tr')).map(row => "
        "Array.from(row.querySelectorAll('th, td')).map(cell => cell.innerText.trim()))"
    )
    return {row[0]: row[1:] for row in rows if row}


def test_map_and_table_then_district_17(server, browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser, f"{server}/?as_of=2020-11-29")
    assert page.locator("h1").first.inner_text().endswith("Chicago")
    citywide = table_text(page)
    page.screenshot(path=ARTIFACTS / "desktop_city.png", full_page=True)
    page.get_by_role("button", name="District 17").click()
    page.wait_for_function(
        "() => document.querySelector('h1') && document.querySelector('h1')"
        ".innerText.includes('District 17')",
        timeout=30_000,
    )
    page.wait_for_timeout(1500)
    district = table_text(page)
    assert district != citywide
    # Shooting victims 2020 against 2019, year to date, on CPD's recorded codes (the
    # default basis for districts): 70 against 34 (69 by location on the current map).
    assert "70" in district and "34" in district
    assert "area=17" in page.url  # the URL follows the selection
    page.screenshot(path=ARTIFACTS / "desktop_district17.png", full_page=True)
    page.close()


def test_clicking_the_map_selects_an_area(server, browser) -> None:
    page = open_page(browser, f"{server}/?as_of=2020-11-29")
    canvas = page.locator("canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    # The middle of the map is inside the city (districts 9/10/12 at the default view);
    # click as a person would, on whatever is on top of the canvas there. deck.gl picks
    # only once it has drawn: a click that comes too early is tried again.
    for attempt in range(3):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        try:
            page.wait_for_function(
                r"() => /District \d+/.test(document.querySelector('h1').innerText)",
                timeout=15_000,
            )
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    assert "area=" in page.url
    page.close()


def test_presentation_mode_hides_the_controls(server, browser) -> None:
    page = open_page(browser, f"{server}/?area=17&as_of=2020-11-29&present=1")
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    size = page.locator('[data-testid="stTable"] td').first.evaluate(
        "cell => parseFloat(getComputedStyle(cell).fontSize)"
    )
    assert size >= 24  # readable from the back of a room
    page.screenshot(path=ARTIFACTS / "present_district17.png", full_page=True)
    page.close()


def test_a_phone_has_no_sideways_scrolling(server, browser) -> None:
    page = open_page(browser, f"{server}/?area=17&as_of=2020-11-29", width=390, height=844)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=ARTIFACTS / "phone_district17.png", full_page=True)
    page.close()


def test_outreach_page_shows_hot_spots_and_windows(server, browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(f"{server}/Outreach")
    page.wait_for_selector("canvas", timeout=90_000)
    page.wait_for_function(
        "() => document.body.innerText.includes('Open retaliation-risk windows')", timeout=90_000
    )
    text = page.locator("body").inner_text()
    assert "Significant hot and cold spots" in text and "Emerging hot spots" in text
    page.wait_for_timeout(1500)
    page.screenshot(path=ARTIFACTS / "outreach.png", full_page=True)
    page.close()


# -- issue 13: basis, periods, selection, downloads, freshness (what a person sees) --------

DESKTOP, PHONE = (1440, 900), (390, 844)


def h1(page) -> str:
    return page.locator("h1").first.inner_text()


def wait_for_title(page, text: str) -> None:
    page.wait_for_function(
        "text => document.querySelector('h1') && document.querySelector('h1')"
        ".innerText.includes(text)",
        arg=text,
        timeout=30_000,
    )
    page.wait_for_timeout(1500)


def body(page) -> str:
    return page.locator("body").inner_text()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_district_17_reads_as_cpd_counted_it(server, browser, size) -> None:
    """11 homicides against 5 (CPD's codes) and one line on the current map's 10; the
    period says what it is compared with; the stale-data banner (the snapshot ends on
    3 Aug 2026, long before today's clock) is on the page."""
    page = open_page(browser, f"{server}/?area=17&as_of=2020-11-29", *size)
    rows = table_rows(page)
    assert rows["what"][:2] == [
        "this year (1 Jan – 29 Nov 2020)",
        "last year (1 Jan – 29 Nov 2019)",
    ]
    assert rows["homicides"][:2] == ["11", "5"]
    text = body(page)
    assert "10 homicides this year (1 fewer)" in text.replace("\u2060", "")
    assert "The data may be out of date: the newest record is from 03 Aug 2026" in text
    page.screenshot(path=ARTIFACTS / f"district17_{size[0]}x{size[1]}.png")
    page.close()


def test_28_days_are_compared_with_the_same_28_days_last_year(server, browser) -> None:
    page = open_page(browser, f"{server}/?area=17&as_of=2020-11-29&period=28d", *DESKTOP)
    table = table_text(page)
    assert "last 28 days (2 Nov – 29 Nov 2020)" in table
    assert "same 28 days last year (2 Nov – 29 Nov 2019)" in table
    assert "Compared with the same 28 days last year." in body(page)
    page.screenshot(path=ARTIFACTS / "district17_28d_1440x900.png")
    page.close()


def test_months_missing_from_the_store_are_named_on_the_page(server, browser) -> None:
    page = open_page(browser, f"{server}/?area=17&as_of=2024-10-01", *DESKTOP)
    note = page.locator('[data-testid="stAlert"]').filter(has_text="no records at all")
    assert "Jan 2023 – Oct 2023 (10 months)" in note.inner_text()
    assert "no data" in table_text(page) and "(new)" not in table_text(page)
    page.screenshot(path=ARTIFACTS / "district17_gap_1440x900.png")
    page.close()


def test_a_typed_date_applies_on_enter(server, browser) -> None:
    page = open_page(browser, f"{server}/?area=17&as_of=2020-11-29", *DESKTOP)
    page.get_by_role("spinbutton", name="day, As of").click()
    page.keyboard.type("15")
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.search.includes('as_of=2020-11-15')", timeout=30_000)
    page.wait_for_timeout(1500)
    assert "this year (1 Jan – 15 Nov 2020)" in table_text(page)
    page.close()


def test_areas_are_found_by_typing_their_name(server, browser) -> None:
    page = open_page(browser, f"{server}/?level=community_area&as_of=2020-11-29", *DESKTOP)
    area = page.locator('[data-testid="stSelectbox"]').filter(has_text="Area (type to search)")
    area.locator("input").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    names = [o.inner_text() for o in options.all()[:4]]
    assert names == ["Whole city", "Albany Park", "Archer Heights", "Armour Square"]
    page.keyboard.type("albany")
    page.wait_for_timeout(500)
    assert [o.inner_text() for o in page.get_by_role("option").all()] == ["Albany Park"]
    page.keyboard.press("Enter")
    wait_for_title(page, "Albany Park")
    assert h1(page) == "Shootings (fatal and non-fatal): Albany Park"
    page.close()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_district_to_beats_keeps_the_district(server, browser, size) -> None:
    page = open_page(browser, f"{server}/?area=17&as_of=2020-11-29", *size)
    if size == PHONE:  # the sidebar starts collapsed on a phone
        page.locator('[data-testid="stExpandSidebarButton"]').click()
    page.get_by_text("Police beat", exact=True).click()
    wait_for_title(page, "Beat 1711")
    assert "area=1711" in page.url and "level=beat" in page.url
    assert "outlined in purple" in body(page)
    if size == PHONE:
        page.keyboard.press("Escape")
        page.locator('[data-testid="stSidebarCollapseButton"] button').click()
        page.wait_for_timeout(1000)
    page.locator("canvas").first.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    page.screenshot(path=ARTIFACTS / f"beats_of_17_{size[0]}x{size[1]}.png")
    page.close()


def test_downloads_carry_their_context_and_every_incident(server, browser) -> None:
    page = open_page(browser, f"{server}/?area=17&as_of=2020-11-29", *DESKTOP)
    with page.expect_download() as table_download:
        page.get_by_role("button", name="Download this table (CSV)").click()
    table = table_download.value
    assert table.suggested_filename == "compstat_district_17_2020-01-01_2020-11-29.csv"
    header = Path(table.path()).read_text().splitlines()[0]
    assert header == (
        "area,area_name,level,period,period_start,period_end,compared_with,comparison_start,"
        "comparison_end,measure,basis,kind,current,previous,change,pct_change,p_value,verdict"
    )
    page.get_by_role("tab", name="Incidents").click()
    with page.expect_download() as incidents_download:
        page.get_by_role("button", name="Download every incident of the period (CSV)").click()
    incidents = incidents_download.value
    assert incidents.suggested_filename == (
        "incidents_district_17_shootings_2020-01-01_2020-11-29.csv"
    )
    rows = Path(incidents.path()).read_text().splitlines()
    assert len(rows) - 1 == 62  # every incident of the period, not the 50 listed
    page.close()


def test_five_years_and_every_area_ranked_with_rates(server, browser) -> None:
    """Issue 13 items 5 and 6 on the page: the 5-year section, the ranked table (the
    map's text equivalent) and the city-wide rate per 100,000 beside the area's."""
    page = open_page(browser, f"{server}/?level=community_area&area=ALBANY%20PARK&as_of=2020-11-29")
    wait_for_title(page, "Albany Park")
    page.get_by_text("Every community area, ranked").scroll_into_view_if_needed()
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "This year in each of the last 5 years: Albany Park" in text
    assert "Every community area, ranked" in text
    assert re.search(r"City-wide rate: \d+\.\d per 100,000 residents", text)
    page.close()


def test_the_brief_counts_on_the_pages_basis(server, browser) -> None:
    """The page opens District 17 on CPD's recorded codes (11 homicides against 5 through
    29 Nov 2020); the brief it hands out must say the same, not the location's 10."""
    page = open_page(browser, f"{server}/?area=17&as_of=2020-11-29", *DESKTOP)
    page.get_by_role("button", name="Prepare a one-page brief (PDF)").click()
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download the brief (PDF)").click(timeout=120_000)
    words = " ".join(PdfReader(download.value.path()).pages[0].extract_text().split())
    assert re.search(r"homicides 11 5\b", words), words[:400]
    page.close()
