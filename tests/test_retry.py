import pytest

from pipeline.retry import Backoff, is_retryable_status, parse_retry_after


def test_delays_double_and_are_capped() -> None:
    backoff = Backoff(base_s=1, cap_s=5)
    assert [backoff.delay(a) for a in range(1, 6)] == [1, 2, 4, 5, 5]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("Thu, 01 Jan 2026 00:00:30 GMT", 30.0), ("soon", None), (None, None)],
    ids=["seconds", "http-date", "garbage", "absent"],
)
def test_retry_after_parsing(header: str | None, expected: float | None) -> None:
    now = 1767225600.0  # 2026-01-01T00:00:00Z
    assert parse_retry_after(header, now=now) == expected


def test_retry_after_wins_but_is_capped() -> None:
    assert Backoff(base_s=1, cap_s=60).delay(1, "12") == 12
    assert Backoff(base_s=1, cap_s=60).delay(1, "86400") == 60


@pytest.mark.parametrize(
    ("status", "retry"),
    [(429, True), (500, True), (503, True), (400, False), (404, False), (None, False)],
)
def test_which_statuses_are_retried(status: int | None, retry: bool) -> None:
    assert is_retryable_status(status) is retry
