"""All network I/O: Socrata's SODA 2.x API through `sodapy`, with ordering and retries.

`sodapy.Socrata.get_all` adds no `$order` and never retries, so paging is done
here with `OffsetPaginator` and every request goes through `_get`, which
retries 429 (honouring Retry-After), 5xx, timeouts, connection errors and
unreadable bodies with exponential backoff, then fails with one message naming
the dataset, the offset and the last status. The app token is handed to
sodapy's session header and never appears in a message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import requests
from sodapy import Socrata

from pipeline.errors import SourceError
from pipeline.paging import OffsetPaginator, even_page_size
from pipeline.retry import Backoff, is_retryable_status
from pipeline.settings import Settings
from pipeline.sources.transport import WholeBodyAdapter

log = logging.getLogger(__name__)


def split_domain(domain: str) -> tuple[str, str]:
    """('http://127.0.0.1:8080/') -> ('127.0.0.1:8080', 'http://'); bare hosts use https."""
    domain = domain.strip().rstrip("/")
    for scheme in ("https://", "http://"):
        if domain.lower().startswith(scheme):
            return domain[len(scheme) :], scheme
    if "://" in domain:
        raise ValueError(f"domain was {domain!r} but the scheme must be http:// or https://")
    return domain, "https://"


class _Retryable(Exception):
    """One failed attempt worth repeating; carries what to report if all attempts fail."""

    def __init__(self, status: str, retry_after: str | None = None):
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


class SocrataClient:
    """A sodapy client for one domain, with retries. One per sync."""

    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep):
        host, scheme = split_domain(settings.domain)
        self.host = host
        self.page_size = settings.page_size
        self.backoff = Backoff(
            settings.backoff_base_s, settings.backoff_max_s, settings.max_attempts
        )
        self._sleep = sleep
        self._settings = settings
        self._scheme = scheme
        self._client: Socrata | None = None

    @property
    def sodapy(self) -> Socrata:
        """The sodapy client, made on first use (sodapy warns at creation without a token)."""
        if self._client is None:
            self._client = Socrata(
                self.host,
                self._settings.app_token,
                timeout=self._settings.timeout_s,
                session_adapter={"prefix": self._scheme, "adapter": WholeBodyAdapter()},
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def get(self, dataset: str, **params: Any) -> Any:
        """One request (sodapy `get` keywords), retried; SourceError after the last attempt."""
        offset = params.get("offset", 0)
        last = "no response"
        for attempt in range(1, self.backoff.max_attempts + 1):
            try:
                return self._attempt(dataset, **params)
            except _Retryable as failure:
                last = failure.status
                if attempt == self.backoff.max_attempts:
                    break
                wait = self.backoff.delay(attempt, failure.retry_after)
                log.warning(
                    "%s offset %d: %s; retrying in %.1f s (attempt %d of %d)",
                    dataset,
                    offset,
                    last,
                    wait,
                    attempt + 1,
                    self.backoff.max_attempts,
                )
                self._sleep(wait)
        hint = (
            " (is this machine online? To sync from exported files instead, pass "
            "--victims/--beats/--districts/--community-areas PATH)"
            if last.startswith("connection error")
            else ""
        )
        raise SourceError(
            f"{dataset} on {self.host}: gave up at offset {offset} after "
            f"{self.backoff.max_attempts} attempts; last error: {last}{hint}"
        )

    def _attempt(self, dataset: str, **params: Any) -> Any:
        try:
            result = self.sodapy.get(dataset, **params)
        except requests.HTTPError as exc:
            response = exc.response
            status = response.status_code if response is not None else None
            text = f"HTTP {status}" if status else str(exc)
            if is_retryable_status(status):
                retry_after = response.headers.get("Retry-After") if response is not None else None
                raise _Retryable(text, retry_after) from exc
            raise SourceError(f"{dataset} on {self.host}: request refused ({text}): {exc}") from exc
        except requests.Timeout as exc:
            raise _Retryable(f"timeout after {self._settings.timeout_s} s") from exc
        except requests.ConnectionError as exc:
            raise _Retryable(f"connection error ({type(exc).__name__})") from exc
        except requests.JSONDecodeError as exc:
            raise _Retryable(f"unreadable response body ({exc})") from exc
        except requests.RequestException as exc:  # e.g. the body was cut off mid-transfer
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # sodapy raises bare Exception for unknown content types
            if "Unknown response format" in str(exc):
                raise _Retryable(str(exc)) from exc
            raise
        return result


class SocrataVictims:
    """Victim rows from a SODA dataset, paged by `:id` (or `:updated_at, :id`)."""

    incremental = True

    def __init__(self, client: SocrataClient, dataset: str):
        self.client = client
        self.dataset = dataset
        self.description = client.host

    def count(self, since: str | None = None) -> int | None:
        where = OffsetPaginator(since=since).where
        result = self.client.get(self.dataset, select="count(*) AS n", where=where)
        try:
            return int(result[0]["n"])
        except (LookupError, TypeError, ValueError):
            return None  # only the progress bar needs it

    def pages(
        self, since: str | None = None, expected: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages in order, evenly sized when the row count is `expected`; the next page
        downloads while the caller works on this one."""
        size = even_page_size(expected, self.client.page_size)
        paginator = OffsetPaginator(limit=size, since=since)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="page") as prefetch:
            pending: Future[Any] | None = prefetch.submit(self._page, paginator)
            while pending is not None:
                rows = pending.result()
                paginator.update_state(len(rows))
                pending = prefetch.submit(self._page, paginator) if paginator.has_more else None
                if rows:
                    yield rows

    def _page(self, paginator: OffsetPaginator) -> list[dict[str, Any]]:
        request = paginator.update_request({"exclude_system_fields": "false"})
        rows = self.client.get(self.dataset, **request)
        if not isinstance(rows, list):
            raise SourceError(
                f"{self.dataset} on {self.client.host}: expected a JSON list of rows at "
                f"offset {request['offset']}, received {type(rows).__name__}"
            )
        return rows


class SocrataBoundary:
    """A boundary layer from a SODA dataset, read as GeoJSON."""

    def __init__(self, client: SocrataClient, dataset: str):
        self.client = client
        self.dataset = dataset
        self.description = client.host

    def feature_collection(self) -> dict[str, Any]:
        features: list[dict[str, Any]] = []
        paginator = OffsetPaginator(limit=self.client.page_size)
        while paginator.has_more:
            page = self.client.get(
                self.dataset, content_type="geojson", **paginator.update_request({})
            )
            if not isinstance(page, dict) or not isinstance(page.get("features"), list):
                raise SourceError(
                    f"{self.dataset} on {self.client.host}: response is not "
                    f"a GeoJSON FeatureCollection"
                )
            features.extend(page["features"])
            paginator.update_state(len(page["features"]))
        return {"type": "FeatureCollection", "features": features}
