"""When and how long to wait before retrying a request.

Pure policy, no I/O: the source decides what failed, this module says whether
that is worth another attempt and how long to sleep first.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: base, 2*base, 4*base ... capped at `cap` seconds."""

    base_s: float = 1.0
    cap_s: float = 60.0
    max_attempts: int = 6

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based).

        A server's `Retry-After` (seconds or an HTTP date) wins over the
        schedule, still capped so a bad header cannot stall a run for hours.
        """
        hinted = parse_retry_after(retry_after)
        if hinted is not None:
            return min(hinted, self.cap_s)
        return float(min(self.base_s * 2 ** (attempt - 1), self.cap_s))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header value, or None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def is_retryable_status(status: int | None) -> bool:
    return status in RETRYABLE_STATUS
