"""Street addresses and intersections to points, through a geocoding service (geopy).

The only network I/O of the place search. The service is OpenStreetMap's
Nominatim by default (free, no key, handles "3401 W Foster Ave" and many
intersections); `GEOCODER_URL` points it at another Nominatim server, e.g. a
local one. Requests carry an identifying user agent, are bounded to the city's
box, time out and are retried; answers are cached on disk by a hash of the
normalised query, so the address itself is never written to disk or logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from geopy.adapters import RequestsAdapter
from geopy.exc import GeocoderServiceError, GeocoderTimedOut, GeocoderUnavailable, GeopyError
from geopy.geocoders import Nominatim

from pipeline.config import CITY
from pipeline.errors import SourceError

log = logging.getLogger(__name__)

UNREACHABLE = "could not reach the address service; try a ZIP code or a neighbourhood name"


@dataclass(frozen=True)
class GeocoderSettings:
    url: str = "https://nominatim.openstreetmap.org"  # env GEOCODER_URL
    #: Nominatim's usage policy asks for an agent that identifies the application.
    user_agent: str = "chicago-shooting-trends/1.0 (civic-tech dashboard; GEOCODER_USER_AGENT)"
    timeout_s: float = 5.0
    attempts: int = 3
    cache: Path | None = None  # a JSON file of {sha256(query): [lat, lon]}


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


class Geocoder:
    """`locate(query)` -> Point or None (no match); SourceError when unreachable."""

    def __init__(
        self, settings: GeocoderSettings, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        scheme, _, domain = settings.url.rstrip("/").partition("://")
        self.settings = settings
        self._service = Nominatim(
            user_agent=settings.user_agent,
            domain=domain or scheme,
            scheme=scheme if domain else "https",
            timeout=settings.timeout_s,
            # geopy's requests adapter retries twice on its own; the loop in `_ask`
            # is the one place retries are counted.
            adapter_factory=lambda proxies, ssl_context: RequestsAdapter(
                proxies=proxies, ssl_context=ssl_context, max_retries=0
            ),
        )
        self._sleep = sleep

    def locate(self, query: str) -> Point | None:
        key = hashlib.sha256(query.encode()).hexdigest()
        cached = self._cache().get(key)
        if cached is not None:
            return Point(*cached) if cached else None
        found = self._ask(query)
        self._remember(key, [found.lat, found.lon] if found else [])
        return found

    def _ask(self, query: str) -> Point | None:
        min_lon, min_lat, max_lon, max_lat = CITY.bbox
        for attempt in range(1, self.settings.attempts + 1):
            try:
                location = self._service.geocode(
                    f"{query}, {CITY.name}",
                    exactly_one=True,
                    viewbox=[(min_lat, min_lon), (max_lat, max_lon)],
                    bounded=True,
                    country_codes="us",
                )
            except (GeocoderTimedOut, GeocoderUnavailable, GeocoderServiceError) as exc:
                log.warning("address service: %s (attempt %d)", type(exc).__name__, attempt)
                if attempt == self.settings.attempts:
                    raise SourceError(UNREACHABLE) from exc
                self._sleep(min(2.0 ** (attempt - 1), 8.0))
            except GeopyError as exc:  # refused outright (e.g. bad configuration)
                raise SourceError(UNREACHABLE) from exc
            else:
                if location is None:
                    return None
                return Point(float(location.latitude), float(location.longitude))
        return None

    def _cache(self) -> dict[str, list[float]]:
        path = self.settings.cache
        if path is None or not path.is_file():
            return {}
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def _remember(self, key: str, value: list[float]) -> None:
        path = self.settings.cache
        if path is None:
            return
        cache = self._cache()
        cache[key] = value
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(cache))
            tmp.replace(path)
        except OSError:
            pass  # a cache that cannot be written only costs a repeated lookup
