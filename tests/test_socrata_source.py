"""The real sodapy client against a local SODA server: paging, ordering and retries."""

from __future__ import annotations

import logging
from dataclasses import replace

import pandas as pd
import pytest

from pipeline.errors import SourceError
from pipeline.settings import Settings
from pipeline.sources.socrata import SocrataClient, SocrataVictims, split_domain
from tests.conftest import VICTIMS, api_row
from tests.soda_server import Fault, SodaServer


def fetch_all(
    settings: Settings,
    server: SodaServer,
    since: str | None = None,
    sleeps: list[float] | None = None,
) -> pd.DataFrame:
    sleep = sleeps.append if sleeps is not None else (lambda s: None)
    client = SocrataClient(replace(settings, domain=server.url), sleep=sleep)
    rows = [row for page in SocrataVictims(client, VICTIMS).pages(since) for row in page]
    return pd.DataFrame.from_records(rows)


@pytest.fixture
def server():
    # Ids deliberately not in insertion order: paging must impose the order itself.
    rows = [
        api_row(i) for i in (5, 3, 19, 0, 11, 8, 2, 15, 1, 7, 4, 13, 6, 9, 10, 12, 14, 16, 17, 18)
    ]
    with SodaServer(rows={VICTIMS: rows}) as srv:
        yield srv


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("data.cityofchicago.org", ("data.cityofchicago.org", "https://")),
        ("http://127.0.0.1:8080/", ("127.0.0.1:8080", "http://")),
        ("HTTPS://example.org", ("example.org", "https://")),
    ],
    ids=["bare", "http-with-port", "https-upper"],
)
def test_domain_may_carry_a_scheme(domain: str, expected: tuple[str, str]) -> None:
    assert split_domain(domain) == expected


def test_ftp_domain_is_refused() -> None:
    with pytest.raises(ValueError, match="scheme must be http:// or https://"):
        split_domain("ftp://example.org")


def test_every_row_read_once_across_pages_in_id_order(settings, server) -> None:
    rows = fetch_all(settings, server)
    assert rows[":id"].tolist() == sorted(f"row-{i:05d}" for i in range(20))
    data_requests = [r for r in server.requests if "$select" not in r.params]
    assert len(data_requests) == 3  # pages of 7: 7 + 7 + 6
    assert all(r.params["$order"] == ":id" for r in data_requests)
    assert {r.params["$limit"] for r in data_requests} == {"7"}


def test_incremental_read_filters_and_orders_by_watermark(settings, server) -> None:
    rows = fetch_all(settings, server, since="2026-01-15T10:00:00.000Z")
    assert (rows[":updated_at"] >= "2026-01-15T10:00:00.000Z").all()
    assert len(rows) == sum(1 + i % 28 >= 15 for i in range(20))
    data_requests = [r for r in server.requests if "$select" not in r.params]
    assert all(r.params["$order"] == ":updated_at, :id" for r in data_requests)


def test_429_waits_as_told_by_retry_after_then_succeeds(settings, server) -> None:
    server.faults = [Fault(429, {"Retry-After": "0.04"}), Fault(429, {"Retry-After": "3"})]
    sleeps: list[float] = []
    rows = fetch_all(replace(settings, backoff_max_s=30), server, sleeps=sleeps)
    assert len(rows) == 20
    # "0.04" is not whole seconds, so the schedule applies; "3" is honoured.
    assert sleeps == [0.01, 3.0]


@pytest.mark.parametrize(
    "fault",
    [
        Fault(500),
        Fault(503),
        Fault(malformed=True),
        Fault(200, body="<html>proxy</html>"),
        Fault(cut_after=100),
    ],
    ids=["500", "503", "malformed-json", "not-json", "body-cut-mid-transfer"],
)
def test_transient_failures_are_retried(settings, server, fault: Fault) -> None:
    server.faults = [fault]
    assert len(fetch_all(settings, server)) == 20


def test_timeouts_are_retried(settings, server) -> None:
    server.faults = [Fault(delay_s=1.0)]
    sleeps: list[float] = []
    rows = fetch_all(replace(settings, timeout_s=0.3), server, sleeps=sleeps)
    assert len(rows) == 20 and len(sleeps) == 1


def test_giving_up_names_dataset_page_and_last_status(settings, server) -> None:
    # The count and the first page fine (a no-op fault answers normally), then the
    # second page keeps failing.
    server.faults = [Fault(), Fault()] + [Fault(503)] * settings.max_attempts
    client = SocrataClient(replace(settings, domain=server.url), sleep=lambda s: None)
    with pytest.raises(
        SourceError,
        match=r"gumc-mgzr on 127\.0\.0\.1:\d+: gave up \(:id > 'row-00006'\) "
        r"after 3 attempts; last error: HTTP 503",
    ):
        list(SocrataVictims(client, VICTIMS).pages())


def test_client_errors_are_not_retried(settings, server) -> None:
    server.faults = [Fault(403)]
    with pytest.raises(SourceError, match=r"request refused \(HTTP 403\)"):
        fetch_all(settings, server)
    assert len(server.requests) == 1


def test_app_token_is_sent_but_never_logged(settings, server, caplog) -> None:
    token = "tok-SECRET-123"
    server.faults = [Fault(429)] * settings.max_attempts
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as error:
        fetch_all(replace(settings, app_token=token), server)
    assert server.requests[0].headers.get("X-App-token") == token
    assert token not in str(error.value) and token not in caplog.text
    assert token not in repr(replace(settings, app_token=token))
