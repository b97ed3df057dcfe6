"""A local stand-in for a Socrata SODA 2.x endpoint, for tests and benchmarks.

It serves `/resource/<id>.json` and `/resource/<id>.geojson` on 127.0.0.1 and
honours what the pipeline relies on: `$limit` (capped at 50,000), `$offset`,
`$order` on `:id` or `:updated_at, :id`, `$where` on `:updated_at`,
`$select=count(*) AS n`, system fields only with
`$$exclude_system_fields=false`, and nulls left out of each row as Socrata
does. Faults can be queued to answer the next requests with an HTTP status
(and headers), a delay, a malformed body, or a body cut off mid-transfer.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_LIMIT = 50_000
WHERE = re.compile(r"^:updated_at\s*(>=|>)\s*'([^']+)'$")


@dataclass
class Fault:
    """Answer one matching request badly instead of normally."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep before answering (to trigger client timeouts)
    malformed: bool = False  # 200 with a body that is not JSON
    body: str | None = None
    cut_after: int | None = None  # promise the whole normal body, send this many bytes, hang up


@dataclass
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


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

    def next_fault(self) -> Fault | None:
        with self._lock:
            return self.faults.pop(0) if self.faults else None

    def log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    # --- query evaluation -------------------------------------------------

    def answer_rows(self, dataset: str, params: dict[str, str]) -> list[dict[str, Any]]:
        rows = self.rows[dataset]
        where = params.get("$where")
        if where:
            match = WHERE.match(where.strip())
            if not match:
                raise _BadQuery(f"unsupported $where {where!r}")
            op, stamp = match.groups()
            rows = [
                r
                for r in rows
                if (r[":updated_at"] >= stamp if op == ">=" else r[":updated_at"] > stamp)
            ]
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
        return [
            {k: v for k, v in r.items() if v is not None and (system or not k.startswith(":"))}
            for r in rows[offset : offset + limit]
        ]

    def answer_geojson(self, dataset: str, params: dict[str, str]) -> dict[str, Any]:
        features = self.geojson[dataset]["features"]
        offset = int(params.get("$offset", 0))
        limit = int(params.get("$limit", 1000))
        return {"type": "FeatureCollection", "features": features[offset : offset + limit]}


class _BadQuery(Exception):
    pass


def _handler(server: SodaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            server.log(Request(parts.path, params, dict(self.headers.items())))
            fault = server.next_fault()
            if fault is not None:
                if fault.delay_s:
                    time.sleep(fault.delay_s)
                if fault.status != 200 or fault.malformed or fault.body is not None:
                    body = (
                        fault.body
                        if fault.body is not None
                        else (
                            '[{"broken": '
                            if fault.malformed
                            else json.dumps({"error": True, "message": f"injected {fault.status}"})
                        )
                    )
                    return self._send(fault.status, body, headers=fault.headers)
            match = re.match(r"^/resource/([\w-]+)\.(json|geojson)$", parts.path)
            if not match:
                return self._send(404, json.dumps({"error": True, "message": "not found"}))
            dataset, kind = match.groups()
            try:
                if kind == "json" and dataset in server.rows:
                    body = json.dumps(server.answer_rows(dataset, params))
                    cut_after = fault.cut_after if fault is not None else None
                    return self._send(200, body, cut_after=cut_after)
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
            content_type: str = "application/json;charset=utf-8",
            headers: dict[str, str] | None = None,
            cut_after: int | None = None,
        ) -> None:
            data = body.encode()
            self.send_response(status)
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
