"""The page in a real browser (Debian's headless Chromium via Playwright) on the real sample.

Starts `streamlit run dashboard.py` on 127.0.0.1 against a store synced from
../shared/data/chicago, waits for the map canvas and the table, selects the
17th District, opens presentation mode, checks a 390 px phone has no sideways
scrolling, and saves screenshots in tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

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
        env=dict(os.environ, DATA_DIR=str(data)),
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
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.wait_for_selector("canvas", timeout=60_000)  # the deck.gl map
    page.wait_for_selector('[data-testid="stTable"]', timeout=60_000)
    page.wait_for_timeout(1500)  # let the map draw before a screenshot
    return page


def table_text(page) -> str:
    return page.locator('[data-testid="stTable"]').first.inner_text()


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
    assert "69" in district and "34" in district  # shooting victims 2020 vs 2019 YTD
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
    # click as a person would, on whatever is on top of the canvas there.
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        r"() => /District \d+/.test(document.querySelector('h1').innerText)", timeout=30_000
    )
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
