"""The exact test for a change between two Poisson counts, and the verdicts.

`pipeline.stats` runs binomtest's algorithm on whole arrays (see its docstring for
why); scipy's `binomtest` itself is the reference its answers must match, value
for value.
"""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from scipy.stats import binomtest

from geo.maplayers import CHANGE_COLOURS
from pipeline import stats


def reference_p(k: int, n: int, p: float) -> float:
    """scipy's exact binomial test, the reference the written-out sum must match."""
    return 1.0 if n == 0 else float(binomtest(k, n, p, alternative="two-sided").pvalue)


#: (current span, previous span) in days: equal spans, leap year against a common
#: one and back, calendar years, a period against three years of history.
SPANS = [(1, 1), (28, 28), (60, 59), (59, 60), (366, 365), (1, 3)]


@pytest.mark.parametrize(("current_span", "previous_span"), SPANS, ids=str)
def test_agrees_with_the_former_implementation_on_a_grid(
    current_span: int, previous_span: int
) -> None:
    share = current_span / (current_span + previous_span)
    for current in range(31):
        for previous in range(31):
            got = stats.poisson_change_p(current, previous, current_span, previous_span)
            expected = reference_p(current, current + previous, share)
            assert got == pytest.approx(expected, rel=1e-9, abs=1e-15), (current, previous)
            assert stats.verdict(current, previous, got) == stats.verdict(
                current, previous, expected
            )


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
        (2900, 6000, 366 / 731),
    ],
    ids=[
        "17th-2020",
        "3-vs-5",
        "zero-now",
        "zero-before",
        "skewed",
        "nothing",
        "leap",
        "large",
        "citywide",
    ],
)
def test_agrees_with_the_former_implementation(k: int, n: int, p: float) -> None:
    assert stats.binomial_two_sided_p(k, n, p) == pytest.approx(reference_p(k, n, p), rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 150), st.integers(0, 150), st.floats(0.05, 0.95))
def test_agrees_with_the_former_implementation_everywhere(
    current: int, previous: int, share: float
) -> None:
    n = current + previous
    expected = reference_p(current, n, share)
    assert stats.binomial_two_sided_p(current, n, share) == pytest.approx(expected, rel=1e-7)


def test_a_p_value_by_hand() -> None:
    # 3 of 8 at even odds: every outcome but 4 is at most as likely, 1 - C(8, 4) / 2**8.
    assert stats.binomial_two_sided_p(3, 8, 0.5) == pytest.approx(1 - 70 / 256, rel=1e-12)


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


def test_a_whole_map_at_once_matches_one_test_per_area() -> None:
    """Many areas in one call, small and citywide counts alike (8M rows: ~300,000 a
    year), each equal to its own binomtest."""
    current = [0, 3, 61, 12, 0, 500, 150_000, 7]
    previous = [0, 5, 28, 12, 9, 450, 160_000, 0]
    got = stats.change_p_values(current, previous, 60, 59)
    for c, p, value in zip(current, previous, got, strict=True):
        assert value == pytest.approx(reference_p(c, c + p, 60 / 119), rel=1e-9, abs=1e-15)


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        stats.change_p_values([1, -1], [0, 2])


@pytest.mark.parametrize(
    ("current", "previous", "verdict", "category"),
    [
        (61, 28, stats.LIKELY_INCREASE, "likely increase"),
        (28, 61, stats.LIKELY_DECREASE, "likely decrease"),
        (31, 40, stats.NORMAL_VARIATION, "decrease within normal variation"),
        (40, 31, stats.NORMAL_VARIATION, "increase within normal variation"),
        (30, 30, stats.NORMAL_VARIATION, "no change"),
        (3, 4, stats.TOO_FEW, "too few to judge"),
    ],
)
def test_every_change_class_has_a_map_colour(
    current: int, previous: int, verdict: str, category: str
) -> None:
    """geo/ colours the classes without importing the counting side: the names agree."""
    assert stats.change_category(current, previous, verdict) == category
    assert category in CHANGE_COLOURS
