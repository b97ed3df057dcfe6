"""The HTTP transport under sodapy: read each response body in one call.

`requests` reads a non-streamed body in 10 kB chunks. A sync downloads a page
of 50,000 rows (~60 MB of JSON) on one thread while another checks boundaries
or types the previous page; every small read gives up the interpreter lock
and waits up to the switch interval (5 ms) to get it back. Measured here: a
page that took 0.8 s alone took 5-6 s beside a busy thread. Reading the body
with one urllib3 `read()` keeps the socket loop in C (0.8 s beside the same
busy thread).

The adapter also keeps the app token at home: sodapy sets `X-App-Token` on the
session, and requests keeps session headers when it follows a redirect to
another host. Every request that leaves the configured host goes without it.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

TOKEN_HEADER = "X-App-Token"


class WholeBodyAdapter(HTTPAdapter):
    """An `HTTPAdapter` that reads non-streamed bodies whole, raising what requests would,
    and sends the app token only to `token_host` (host[:port])."""

    def __init__(self, token_host: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.token_host = token_host.lower()

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        if urlsplit(request.url or "").netloc.lower() != self.token_host:
            request.headers.pop(TOKEN_HEADER, None)
        response = super().send(request, True, timeout, verify, cert, proxies)
        if stream:
            return response
        try:
            body = response.raw.read(decode_content=True)
        except ReadTimeoutError as exc:
            response.close()
            raise requests.ReadTimeout(exc, request=request) from exc
        except ProtocolError as exc:  # e.g. the connection closed mid-body
            response.close()
            raise requests.exceptions.ChunkedEncodingError(exc, request=request) from exc
        except DecodeError as exc:
            response.close()
            raise requests.exceptions.ContentDecodingError(exc, request=request) from exc
        except SSLError as exc:
            response.close()
            raise requests.exceptions.SSLError(exc, request=request) from exc
        response.raw.release_conn()
        # requests reads a body without urllib3's `stream` as a plain file.
        response.raw = io.BytesIO(body)
        return response
