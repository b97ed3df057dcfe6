"""The exact test for a change between two Poisson counts, against scipy, and the verdicts."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from scipy.stats import binomtest

from pipeline import stats


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [
        (61, 89, 0.5),
        (3, 8, 0.5),
        (0, 12, 0.5),
        (12, 12, 0.5),
        (7, 20, 0.3),
        (0, 0, 0.5),
        (60, 119, 60 / 119),
        (500, 1200, 0.45),
    ],
    ids=["17th-2020", "3-vs-5", "zero-now", "zero-before", "skewed", "nothing", "leap", "large"],
)
def test_matches_scipy_binomtest(k: int, n: int, p: float) -> None:
    expected = binomtest(k, n, p).pvalue if n else 1.0
    assert stats.binomial_two_sided_p(k, n, p) == pytest.approx(expected, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 150), st.integers(0, 150), st.floats(0.05, 0.95))
def test_matches_scipy_everywhere(current: int, previous: int, share: float) -> None:
    n = current + previous
    expected = binomtest(current, n, share).pvalue if n else 1.0
    assert stats.binomial_two_sided_p(current, n, share) == pytest.approx(expected, rel=1e-7)


def test_equal_spans_give_half_share_and_leap_years_do_not() -> None:
    assert stats.poisson_change_p(61, 28) == pytest.approx(binomtest(61, 89, 0.5).pvalue)
    assert stats.poisson_change_p(30, 30, 60, 59) == pytest.approx(
        binomtest(30, 60, 60 / 119).pvalue
    )


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (3, 5, stats.NORMAL_VARIATION),  # 3 against 5 is not a trend
        (3, 4, stats.TOO_FEW),
        (0, 0, stats.TOO_FEW),
        (61, 28, stats.LIKELY_INCREASE),
        (28, 61, stats.LIKELY_DECREASE),
        (31, 40, stats.NORMAL_VARIATION),
        (0, 12, stats.LIKELY_DECREASE),
    ],
)
def test_verdicts(current: int, previous: int, expected: str) -> None:
    p = stats.poisson_change_p(current, previous)
    assert stats.verdict(current, previous, p) == expected


@pytest.mark.parametrize(
    ("current", "previous", "pct", "text"),
    [
        (5, 0, None, "new"),
        (0, 0, None, "no change"),
        (31, 40, -22.5, "-22 %"),
        (12, 10, 20.0, "+20 %"),
    ],
)
def test_percent_change_is_never_infinite(current, previous, pct, text) -> None:
    assert stats.pct_change(current, previous) == pct
    assert stats.describe_pct(current, previous) == text


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="need 0 <= k <= n"):
        stats.binomial_two_sided_p(5, 3, 0.5)
