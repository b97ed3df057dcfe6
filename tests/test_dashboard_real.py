"""The page on the real snapshot (issue 13): CPD-comparable figures by default, what a
period is compared against, complete downloads, months missing from the store."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import needs_snapshot, sync_real_snapshot
from tests.test_dashboard import app_on, compstat, downloads, headline, open_tab, shown, texts

pytestmark = needs_snapshot
downloads = downloads  # the fixture, used here too
FRESH = date(2026, 8, 10)  # a week after the snapshot's newest record (3 Aug 2026)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return sync_real_snapshot(tmp_path_factory.mktemp("real-page") / "data")


def district_17(store: Path, monkeypatch, **params: str) -> AppTest:
    at = app_on(FRESH, store, monkeypatch, area="17", as_of="2020-11-29", **params)
    assert not at.exception
    return at


def test_district_17_shows_cpds_11_homicides_against_5_by_default(store, monkeypatch) -> None:
    """CPD and the press: 11 homicides in the 17th District by 29 Nov 2020, 5 a year
    before. One of them (JD334174, 036XX W Belmont) lies 43 m outside the district on
    the current map: by location there are 10."""
    at = district_17(store, monkeypatch)
    assert at.query_params["basis"] == "recorded"
    assert compstat(at)["homicides"] == (11, 5)
    line = next(t for t in texts(at) if t.startswith("Counted by CPD's recorded codes"))
    assert "By location on the current map, District 17 (17TH) would show" in line
    assert "10 homicides this year (1 fewer)" in line
    at = district_17(store, monkeypatch, basis="geometry")
    assert compstat(at)["homicides"] == (10, 5)
    line = next(t for t in texts(at) if t.startswith("Counted by location on the current map"))
    assert "By CPD's recorded codes, District 17 (17TH) would show" in line
    assert "11 homicides this year (1 more)" in line


def test_the_headline_and_the_csv_on_real_numbers(store, monkeypatch, downloads) -> None:
    at = district_17(store, monkeypatch)
    assert headline(at).startswith(
        "Likely increase: shootings are up 106 % this year, 70 against 34 last year."
    )
    table = pd.read_csv(io.StringIO(downloads["table_csv"][0]), dtype=str).set_index("kind")
    assert table.loc["shootings", "pct_change"] == "105.9"  # 70 against 34, 1 decimal
    assert list(table.loc["homicides", ["current", "previous", "basis"]]) == [
        "11",
        "5",
        "recorded",
    ]


def test_the_incidents_csv_is_complete_beyond_the_50_listed(store, monkeypatch, downloads) -> None:
    at = open_tab(district_17(store, monkeypatch, measure="incidents"), "Incidents")
    incidents_shown = next(d.value for d in at.dataframe if "case number" in d.value)
    assert len(incidents_shown) == 50  # the page lists the latest 50
    text, name = downloads["incidents_csv"]
    assert name == "incidents_district_17_shootings_2020-01-01_2020-11-29.csv"
    incidents = pd.read_csv(io.StringIO(text))
    assert len(incidents) == compstat(at)["shootings"][0] == 62  # 61 by location
    assert incidents["case number"].is_unique
    assert incidents["date"].between("2020-01-01", "2020-11-29").all()


def test_months_missing_from_the_store_are_listed(store, monkeypatch) -> None:
    """The snapshot has nothing from January 2023 to August 2024."""
    at = app_on(FRESH, store, monkeypatch, area="17", as_of="2024-10-01")
    note = next(w.value for w in at.warning if "no records at all" in w.value)
    assert "Jan 2024 – Aug 2024 (8 months) (this year, 1 Jan – 1 Oct 2024)" in note
    assert "Jan 2023 – Oct 2023 (10 months) (last year, 1 Jan – 1 Oct 2023)" in note
    table = at.table[0].value
    # Sep 2024 only; the number and its note are joined by a no-break space (phones)
    assert table.iloc[:, 0].str.replace("\u00a0", " ").str.endswith(" (incomplete)").all()
    assert set(table.iloc[:, 1]) == {"no data"} and set(table["change"]) == {"not comparable"}


def test_a_stale_store_says_so(store, monkeypatch) -> None:
    at = app_on(date(2026, 11, 27), store, monkeypatch)
    assert [shown(w.value) for w in at.warning] == [
        "The data may be out of date: the newest record is from 03 Aug 2026, 116 days "
        "before today (27 Nov 2026). Shootings since then are not counted."
    ]
