"""`where`: the place search, against the real snapshot and a local address service.

The address service is a stand-in for Nominatim on 127.0.0.1 that answers
`/search` in Nominatim's own JSON (`format=json`: a list of places, `lat` and
`lon` as strings, `display_name`, `boundingbox`, ...), with faults.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from pipeline.cli import main
from pipeline.errors import SourceError
from pipeline.geocode import UNREACHABLE, Geocoder, GeocoderSettings
from tests.conftest import RECONSTRUCTED, needs_snapshot, sync_real_snapshot

pytestmark = needs_snapshot

AS_OF = "2020-11-29"
FOSTER = {  # the shape of one Nominatim /search result (format=json)
    "place_id": 297331226,
    "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
    "osm_type": "node",
    "osm_id": 4423106021,
    "lat": "41.9758",
    "lon": "-87.7143",
    "class": "place",
    "type": "house",
    "place_rank": 30,
    "importance": 9.99999999995449e-06,
    "addresstype": "place",
    "name": "",
    "display_name": "3401, West Foster Avenue, North Park, Chicago, Cook County, Illinois, "
    "60625, United States",
    "boundingbox": ["41.9757500", "41.9758500", "-87.7143500", "-87.7142500"],
}
OUTSIDE = dict(FOSTER, lat="41.8781", lon="-87.2000", display_name="Lake Michigan")


@dataclass
class AddressService:
    """Nominatim's /search on 127.0.0.1: known queries -> places; faults queued."""

    places: dict[str, dict[str, Any]]
    faults: list[tuple[int, float]] = field(default_factory=list)  # (status, delay)
    seen: list[tuple[str, str]] = field(default_factory=list)  # (query, user agent)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                params = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
                query = params.get("q", "")
                service.seen.append((query, self.headers.get("User-Agent", "")))
                status, delay = service.faults.pop(0) if service.faults else (200, 0.0)
                time.sleep(delay)
                hits = [p for k, p in service.places.items() if query.lower().startswith(k)]
                body = json.dumps(hits[:1] if status == 200 else {"error": "injected"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


@pytest.fixture
def service() -> Iterator[tuple[AddressService, str]]:
    found = AddressService({"3401 w foster": FOSTER, "1 lake michigan": OUTSIDE})
    server = ThreadingHTTPServer(("127.0.0.1", 0), found.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield found, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    return sync_real_snapshot(tmp_path_factory.mktemp("where") / "data")


def where(capsys, store_dir: Path, *args: str) -> tuple[int, Any, str]:
    code = main(["where", "--data-dir", str(store_dir), "--as-of", AS_OF, *args])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 and "--format" in args else out, err


def compare_row(capsys, store_dir: Path, flag: str, key: str) -> tuple[int, int]:
    argv = ["compare", "--data-dir", str(store_dir), flag, key, "--as-of", AS_OF]
    assert main([*argv, "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)[0]
    return first["current"], first["previous"]


@pytest.mark.parametrize(
    ("query", "kind", "label", "flag", "key"),
    [
        ("60625", "zip_code", "60625", "--zip-code", "60625"),
        ("Albany park", "neighborhood", "Albany Park", "--neighborhood", "ALBANY PARK"),
        ("wicker prak", "neighborhood", "Wicker Park", "--neighborhood", "WICKER PARK"),
        ("Pilsen", "community_area", "Pilsen", "--community-area", "LOWER WEST SIDE"),
        ("Bronzeville", "community_area", "Bronzeville", "--community-area", "GRAND BOULEVARD"),
        ("NEAR NORTH SIDE", "community_area", "Near North Side", "--community-area",
         "NEAR NORTH SIDE"),
    ],
    ids=["zip", "neighbourhood", "typo", "alias-pilsen", "alias-bronzeville", "community-area"],
)  # fmt: skip
def test_named_places_give_the_compare_numbers(
    capsys, store_dir, query, kind, label, flag, key
) -> None:
    code, found, _ = where(capsys, store_dir, query, "--format", "json")
    assert code == 0
    assert (found["match"]["kind"], found["match"]["label"]) == (kind, label)
    row = next(r for r in found["compare"] if r["area"] == key)
    assert (row["current"], row["previous"]) == compare_row(capsys, store_dir, flag, key)
    assert sum(a["share"] for a in found["areas"]["community_areas"]) == pytest.approx(1, abs=0.05)


def test_bronzeville_names_both_community_areas(capsys, store_dir) -> None:
    _, found, _ = where(capsys, store_dir, "bronzeville", "--format", "json")
    assert [r["area"] for r in found["compare"]] == ["GRAND BOULEVARD", "DOUGLAS"]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def recount_near(lat: float, lon: float, radius: float) -> tuple[int, int]:
    """Gunshot victims within `radius` m, 2020 and 2019 to 29 Nov, from the CSV text."""
    import csv
    import gzip

    counted = {"2020": 0, "2019": 0}
    with gzip.open(RECONSTRUCTED, "rt", newline="") as handle:
        for r in csv.DictReader(handle):
            year, day = r["date"][:4], r["date"][5:10]
            if year in counted and day <= "11-29" and r["gunshot_injury_i"] == "YES":
                far = haversine_m(lat, lon, float(r["latitude"]), float(r["longitude"]))
                counted[year] += far <= radius
    return counted["2020"], counted["2019"]


def test_a_point_counts_the_shootings_around_it(capsys, store_dir) -> None:
    lat, lon = 41.8806, -87.7248  # West Garfield Park, where there are many
    code, found, _ = where(
        capsys, store_dir, f"{lat},{lon}", "--radius-m", "500", "--format", "json"
    )
    assert code == 0 and found["match"]["kind"] == "point"
    near = found["nearby"]["victims"]
    assert (near["current"], near["previous"]) == recount_near(lat, lon, 500)
    assert near["current"] > 5 and near["verdict"]
    assert found["areas"]["district"] == "11" and found["areas"]["zip_code"] == "60624"


def test_an_address_through_the_local_service(capsys, store_dir, service, monkeypatch) -> None:
    found, url = service
    monkeypatch.setenv("GEOCODER_URL", url)
    code, answer, _ = where(capsys, store_dir, "3401 W Foster Ave", "--format", "json")
    assert code == 0 and answer["match"]["kind"] == "address"
    assert (answer["match"]["lat"], answer["match"]["lon"]) == (41.9758, -87.7143)
    assert answer["areas"]["community_area"] == "NORTH PARK"
    near = answer["nearby"]["victims"]
    assert (near["current"], near["previous"]) == recount_near(41.9758, -87.7143, 400)
    query, agent = found.seen[0]
    assert query.lower().startswith("3401 w foster") and "chicago-shooting-trends" in agent
    # Asked again: answered from the cache, which holds a hash, never the address.
    assert where(capsys, store_dir, "3401 W Foster Ave")[0] == 0 and len(found.seen) == 1
    cached = (store_dir / "geocode_cache.json").read_text()
    assert "foster" not in cached.lower() and "3401" not in cached


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("1 Lake Michigan", "is outside Chicago"),
        ("999 Nowhere Street", "no Chicago address or place found"),
        ("99999", "is not a Chicago ZIP code"),
        ("40.7128,-74.0060", "is outside Chicago"),
    ],
    ids=["outside", "unknown", "zip-elsewhere", "point-elsewhere"],
)
def test_places_not_in_chicago_are_one_line_exit_1(
    capsys, store_dir, service, monkeypatch, query, message
) -> None:
    monkeypatch.setenv("GEOCODER_URL", service[1])
    code, out, err = where(capsys, store_dir, query)
    assert code == 1 and out == "" and message in err and err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "faults",
    [[(500, 0.0)] * 3, [(200, 1.0)] * 3],
    ids=["server-errors", "timeouts"],
)
def test_an_unreachable_service_says_what_to_try(service, faults) -> None:
    found, url = service
    found.faults = list(faults)
    geocoder = Geocoder(GeocoderSettings(url=url, timeout_s=0.3), sleep=lambda s: None)
    with pytest.raises(SourceError, match=UNREACHABLE):
        geocoder.locate("3401 w foster ave")
    assert len(found.seen) == 3  # retried


def test_a_service_that_recovers_is_retried(service) -> None:
    found, url = service
    found.faults = [(503, 0.0)]
    geocoder = Geocoder(GeocoderSettings(url=url, timeout_s=2), sleep=lambda s: None)
    assert geocoder.locate("3401 w foster ave") is not None and len(found.seen) == 2


def test_the_address_is_never_logged(capsys, store_dir, service, monkeypatch, caplog) -> None:
    found, url = service
    found.faults = [(500, 0.0)]
    monkeypatch.setenv("GEOCODER_URL", url)
    where(capsys, store_dir, "3401 W Foster Ave")
    assert "Foster" not in caplog.text and "3401" not in caplog.text
