"""A local stand-in for a Socrata SODA 2.x endpoint, for tests and benchmarks.

It serves `/resource/<id>.json` and `/resource/<id>.geojson` on 127.0.0.1 and
honours what the pipeline relies on: `$limit` (capped at 50,000), `$offset`,
`$order` on `:id` or `:updated_at, :id`, `$where` as a small SoQL subset
(comparisons of `:id` and `:updated_at` with string literals, AND, OR and
parentheses; anything else is refused with 400, as the portal refuses what it
cannot compile), `$select=count(*) AS n`, system fields only with
`$$exclude_system_fields=false`, and nulls left out of each row as Socrata
does. Faults can be queued to answer the next requests with an HTTP status
(and headers), a delay, a malformed or empty body, no content type, a body
cut off mid-transfer, or a page cut short; `max_limit` caps pages silently,
and `after_page` lets a test change the data while a read is under way.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_LIMIT = 50_000
TOKEN = re.compile(
    r"\s*(?:(\()|(\))|(:id|:updated_at)\b|(>=|<=|=|>|<)|'((?:[^']|'')*)'|(AND|OR)\b)"
)
COMPARE = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}
Predicate = Callable[[dict[str, Any]], bool]


@dataclass
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]

    @property
    def is_row_page(self) -> bool:
        """A page of rows (not a count, not a boundary layer)."""
        return self.path.endswith(".json") and "$select" not in self.params


@dataclass
class Fault:
    """Answer one matching request badly instead of normally."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep before answering (to trigger client timeouts)
    malformed: bool = False  # 200 with a body that is not JSON
    body: str | None = None
    cut_after: int | None = None  # promise the whole normal body, send this many bytes, hang up
    rows_kept: int | None = None  # a normal page of rows, cut short to this many
    #: Which requests the fault waits for (default: the next one, whatever it is).
    when: Callable[[Request], bool] | None = None
    content_type: str | None = "application/json;charset=utf-8"  # None: no header at all


class SodaServer:
    """`with SodaServer(rows={'gumc-mgzr': [...]}) as server:` then use `server.url`."""

    def __init__(
        self,
        rows: dict[str, list[dict[str, Any]]] | None = None,
        geojson: dict[str, dict[str, Any]] | None = None,
    ):
        self.rows: dict[str, list[dict[str, Any]]] = rows or {}
        self.geojson: dict[str, dict[str, Any]] = geojson or {}
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.max_limit = MAX_LIMIT  # a lower value caps pages silently, as some servers do
        #: Called with the number of row pages served so far, after each one is computed.
        self.after_page: Callable[[int], None] | None = None
        self.pages_served = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> SodaServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def next_fault(self, request: Request) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self.faults):
                if fault.when is None or fault.when(request):
                    return self.faults.pop(i)
            return None

    def log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    # --- query evaluation -------------------------------------------------

    def answer_rows(self, dataset: str, params: dict[str, str]) -> list[dict[str, Any]]:
        rows = self.rows[dataset]
        where = params.get("$where")
        if where:
            keep = parse_where(where)
            rows = [r for r in rows if keep(r)]
        select = params.get("$select", "").replace(" ", "").lower()
        if select == "count(*)asn":
            return [{"n": str(len(rows))}]
        order = params.get("$order", "").replace(" ", "")
        if order == ":id":
            rows = sorted(rows, key=lambda r: r[":id"])
        elif order == ":updated_at,:id":
            rows = sorted(rows, key=lambda r: (r[":updated_at"], r[":id"]))
        elif order:
            raise _BadQuery(f"unsupported $order {order!r}")
        limit = int(params.get("$limit", 1000))
        if limit > MAX_LIMIT:
            raise _BadQuery(f"$limit {limit} is over {MAX_LIMIT}")
        offset = int(params.get("$offset", 0))
        system = params.get("$$exclude_system_fields", "true").lower() == "false"
        page = [
            {k: v for k, v in r.items() if v is not None and (system or not k.startswith(":"))}
            for r in rows[offset : offset + min(limit, self.max_limit)]
        ]
        self.pages_served += 1
        if self.after_page is not None:
            self.after_page(self.pages_served)
        return page

    def fields(self, dataset: str, params: dict[str, str]) -> list[str]:
        """Every column of the dataset, null in every row or not (system fields when asked)."""
        system = params.get("$$exclude_system_fields", "true").lower() == "false"
        names = dict.fromkeys(k for row in self.rows[dataset] for k in row)
        return [k for k in names if system or not k.startswith(":")]

    def answer_geojson(self, dataset: str, params: dict[str, str]) -> dict[str, Any]:
        features = self.geojson[dataset]["features"]
        offset = int(params.get("$offset", 0))
        limit = int(params.get("$limit", 1000))
        return {"type": "FeatureCollection", "features": features[offset : offset + limit]}


class _BadQuery(Exception):
    pass


def parse_where(text: str) -> Predicate:
    """A SoQL `$where` of the subset described above, as a predicate on a row."""
    tokens = _tokens(text)
    predicate, rest = _or(tokens)
    if rest:
        raise _BadQuery(f"unexpected {rest[0][1]!r} in $where {text!r}")
    return predicate


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    kinds = ("(", ")", "field", "op", "text", "joiner")
    while text[position:].strip():
        match = TOKEN.match(text, position)
        if not match:
            raise _BadQuery(f"cannot compile $where {text!r} at {text[position:][:20]!r}")
        kind = next(k for k, group in zip(kinds, match.groups(), strict=True) if group is not None)
        value = match.group(kinds.index(kind) + 1)
        tokens.append((kind, value.replace("''", "'") if kind == "text" else value))
        position = match.end()
    return tokens


def _or(tokens: list[tuple[str, str]]) -> tuple[Predicate, list[tuple[str, str]]]:
    left, tokens = _and(tokens)
    while tokens and tokens[0] == ("joiner", "OR"):
        right, tokens = _and(tokens[1:])
        left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
    return left, tokens


def _and(tokens: list[tuple[str, str]]) -> tuple[Predicate, list[tuple[str, str]]]:
    left, tokens = _comparison(tokens)
    while tokens and tokens[0] == ("joiner", "AND"):
        right, tokens = _comparison(tokens[1:])
        left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
    return left, tokens


def _comparison(tokens: list[tuple[str, str]]) -> tuple[Predicate, list[tuple[str, str]]]:
    if tokens and tokens[0][0] == "(":
        inner, rest = _or(tokens[1:])
        if not rest or rest[0][0] != ")":
            raise _BadQuery("unbalanced parentheses in $where")
        return inner, rest[1:]
    kinds = [kind for kind, _ in tokens[:3]]
    if kinds != ["field", "op", "text"]:
        raise _BadQuery(f"expected <system field> <op> '<text>' in $where, got {tokens[:3]}")
    (_, name), (_, op), (_, value) = tokens[:3]
    compare = COMPARE[op]
    return (lambda r: compare(r[name], value)), tokens[3:]


def _handler(server: SodaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            request = Request(parts.path, params, dict(self.headers.items()))
            server.log(request)
            fault = server.next_fault(request)
            if fault is not None:
                if fault.delay_s:
                    time.sleep(fault.delay_s)
                if fault.status != 200 or fault.malformed or fault.body is not None:
                    content_type = fault.content_type
                    body = (
                        fault.body
                        if fault.body is not None
                        else (
                            '[{"broken": '
                            if fault.malformed
                            else json.dumps({"error": True, "message": f"injected {fault.status}"})
                        )
                    )
                    return self._send(fault.status, body, content_type, fault.headers)
            match = re.match(r"^/resource/([\w-]+)\.(json|geojson)$", parts.path)
            if not match:
                return self._send(404, json.dumps({"error": True, "message": "not found"}))
            dataset, kind = match.groups()
            try:
                if kind == "json" and dataset in server.rows:
                    rows = server.answer_rows(dataset, params)
                    if fault is not None and fault.rows_kept is not None:
                        rows = rows[: fault.rows_kept]
                    body = json.dumps(rows)
                    cut_after = fault.cut_after if fault is not None else None
                    # The portal declares the dataset's fields on every page of rows.
                    fields = {"X-SODA2-Fields": json.dumps(server.fields(dataset, params))}
                    return self._send(200, body, headers=fields, cut_after=cut_after)
                if kind == "geojson" and dataset in server.geojson:
                    body = json.dumps(server.answer_geojson(dataset, params))
                    return self._send(200, body, "application/vnd.geo+json;charset=utf-8")
            except _BadQuery as exc:
                return self._send(400, json.dumps({"error": True, "message": str(exc)}))
            return self._send(404, json.dumps({"error": True, "message": f"no {dataset}"}))

        def _send(
            self,
            status: int,
            body: str,
            content_type: str | None = "application/json;charset=utf-8",
            headers: dict[str, str] | None = None,
            cut_after: int | None = None,
        ) -> None:
            data = body.encode()
            self.send_response(status)
            if content_type is not None:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data[:cut_after])  # the client may have given up (timeout tests)
            if cut_after is not None:
                self.close_connection = True

    return Handler
