"""All network I/O: Socrata's SODA 2.x API through `sodapy`, with ordering and retries.

`sodapy.Socrata.get_all` adds no `$order` and never retries, so paging is done
here with `KeysetPaginator` and every request goes through `SocrataClient.get`,
which retries 429 (honouring Retry-After), 5xx, timeouts, connection errors,
empty and unreadable bodies with exponential backoff, then fails with one
message naming the dataset, the page and the last status. A full read is
reconciled with the portal's own `count(*)`, asked before and after it. The
app token is handed to sodapy's session header, sent only to the configured
host (see `transport.py`) and never appears in a message.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import requests
from sodapy import Socrata

from pipeline.errors import IncompleteReadError, SourceError
from pipeline.paging import KeysetPaginator, even_page_size
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
        #: The portal's own list of each dataset's fields (its `X-SODA2-Fields` header),
        #: by dataset id: what a renamed column is told apart from an all-null one by.
        self.declared_fields: dict[str, frozenset[str]] = {}

    @property
    def sodapy(self) -> Socrata:
        """The sodapy client, made on first use (sodapy warns at creation without a token)."""
        if self._client is None:
            self._client = Socrata(
                self.host,
                self._settings.app_token,
                timeout=self._settings.timeout_s,
                session_adapter={"prefix": self._scheme, "adapter": WholeBodyAdapter(self.host)},
            )
            # A redirect may change the scheme: the other one gets the same guard.
            other = "http://" if self._scheme == "https://" else "https://"
            self._client.session.mount(other, WholeBodyAdapter(self.host))
            self._client.session.hooks["response"].append(self._note_fields)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _note_fields(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Keep the field list a page of rows declares (not a count's: it lists `n`)."""
        header = response.headers.get("X-SODA2-Fields")
        if response.status_code != 200 or not header or "select=" in (response.url or ""):
            return
        dataset = response.url.split("/resource/", 1)[-1].split(".", 1)[0]
        try:
            fields = json.loads(header)
        except ValueError:
            return  # a header we cannot read declares nothing; the rows still do
        if isinstance(fields, list):
            self.declared_fields[dataset] = frozenset(map(str, fields))

    def get(self, dataset: str, **params: Any) -> Any:
        """One request (sodapy `get` keywords), retried; SourceError after the last attempt."""
        page = params.get("where") or (
            f"offset {params['offset']}" if "offset" in params else "first page"
        )
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
                    "%s (%s): %s; retrying in %.1f s (attempt %d of %d)",
                    dataset,
                    page,
                    last,
                    wait,
                    attempt + 1,
                    self.backoff.max_attempts,
                )
                self._sleep(wait)
        hint = (
            " (is this machine online? To sync from exported files instead, pass "
            "--victims and each boundary layer's PATH; see `sync --help`)"
            if last.startswith("connection error")
            else ""
        )
        raise SourceError(
            f"{dataset} on {self.host}: gave up ({page}) after "
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
        except (AttributeError, TypeError) as exc:
            # sodapy reads error bodies and content types without checking them: a
            # 5xx whose body is a JSON list, or a 200 with no Content-Type, ends here.
            raise _Retryable(f"malformed response ({type(exc).__name__}: {exc})") from exc
        except Exception as exc:  # sodapy raises bare Exception for unknown content types
            if "Unknown response format" in str(exc):
                raise _Retryable(str(exc)) from exc
            raise
        if isinstance(result, requests.Response):  # sodapy hands back a body-less response
            raise _Retryable(f"empty response body (HTTP {result.status_code})")
        return result


class SocrataVictims:
    """Victim rows from a SODA dataset, in keyset pages by `:id` (or `:updated_at, :id`)."""

    incremental = True

    def __init__(self, client: SocrataClient, dataset: str, optional: tuple[str, ...] = ()):
        self.client = client
        self.dataset = dataset
        self.description = client.host
        self.optional_columns = optional

    def declared_columns(self) -> frozenset[str]:
        """Every field the portal says the dataset has, null in every row or not."""
        return self.client.declared_fields.get(self.dataset, frozenset())

    def count(self, since: str | None = None) -> int:
        """The portal's own count of the rows a read would return."""
        where = KeysetPaginator(since=since).where
        result = self.client.get(self.dataset, select="count(*) AS n", where=where)
        try:
            return int(result[0]["n"])
        except (LookupError, TypeError, ValueError) as exc:
            raise SourceError(
                f"{self.dataset} on {self.client.host}: the row count came back as "
                f"{str(result)[:80]!r}, not a number; a read that cannot be reconciled "
                "with it is not trusted"
            ) from exc

    def pages(
        self, since: str | None = None, expected: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages in keyset order, evenly sized for the `expected` count; the next page
        downloads while the caller works on this one. After the last page the portal
        is asked again: IncompleteReadError unless both counts equal the rows read."""
        if expected is None:
            expected = self.count(since)
        size = even_page_size(expected, self.client.page_size)
        paginator = KeysetPaginator(limit=size, since=since, expected=expected)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="page") as prefetch:
            pending: Future[Any] | None = prefetch.submit(self._page, paginator)
            while pending is not None:
                rows = pending.result()
                self._advance(paginator, rows)
                pending = prefetch.submit(self._page, paginator) if paginator.has_more else None
                if rows:
                    yield rows
        self._reconcile(since, expected, paginator.fetched)

    def _advance(self, paginator: KeysetPaginator, rows: list[dict[str, Any]]) -> None:
        try:
            paginator.update_state(rows)
        except ValueError as exc:
            raise SourceError(f"{self.dataset} on {self.client.host}: {exc}") from exc

    def _reconcile(self, since: str | None, before: int, fetched: int) -> None:
        after = self.count(since)
        if before == after == fetched:
            return
        raise IncompleteReadError(
            f"{self.dataset} on {self.client.host}: read {fetched:,} rows but the portal "
            f"counts {before:,} rows before the read and {after:,} after it"
        )

    def _page(self, paginator: KeysetPaginator) -> list[dict[str, Any]]:
        request = paginator.update_request({"exclude_system_fields": "false"})
        rows = self.client.get(self.dataset, **request)
        if not isinstance(rows, list):
            raise SourceError(
                f"{self.dataset} on {self.client.host}: expected a JSON list of rows "
                f"({request.get('where') or 'first page'}), received {type(rows).__name__}"
            )
        return rows


class SocrataBoundary:
    """A boundary layer from a SODA dataset, read as GeoJSON."""

    def __init__(self, client: SocrataClient, dataset: str):
        self.client = client
        self.dataset = dataset
        self.description = client.host

    def feature_collection(self) -> dict[str, Any]:
        """Every feature, by `$offset` in `:id` order until an empty page: GeoJSON carries
        no `:id` to page after, and a layer of a few hundred polygons changes rarely."""
        features: list[dict[str, Any]] = []
        while True:
            page = self.client.get(
                self.dataset,
                content_type="geojson",
                limit=self.client.page_size,
                offset=len(features),
                order=":id",
            )
            if not isinstance(page, dict) or not isinstance(page.get("features"), list):
                raise SourceError(
                    f"{self.dataset} on {self.client.host}: response is not "
                    f"a GeoJSON FeatureCollection"
                )
            if not page["features"]:
                return {"type": "FeatureCollection", "features": features}
            features.extend(page["features"])
