"""Is a change in a count real? Exact tests for two Poisson counts, and plain verdicts.

Two counts observed over spans of lengths t1 and t0 are compared with the
conditional binomial test: given n = c1 + c0, under "same underlying rate" c1
is Binomial(n, t1 / (t1 + t0)). The two-sided p-value sums the probabilities
of every outcome no more likely than the one observed (the "minlike" rule of
R's binom.test and `scipy.stats.binomtest`).

`change_p_values` is `scipy.stats.binomtest`'s own two-sided algorithm (find,
by bisection, how many outcomes on the far side of the mode are no more likely
than the observed one, then add two binomial tails) run on whole arrays: a map
tests every area of a level at once. The tests hold it to `binomtest` value for
value. Why not call `binomtest` itself, measured here: importing scipy.stats
costs ~0.8 s per process (a third of the CLI's `compare` budget) where
scipy.special costs ~0.3 s, and one `binomtest` call ~0.4 ms, 110 ms for a map
of 274 beats, where this takes well under 1 ms for all of them. The sum over
every outcome that this module used before was exact too but grew with the
count (0.3 s for one citywide count of 300,000).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: p-values below this call a change "likely"; 0.05 is the usual convention.
ALPHA = 0.05
#: Below this many events in both periods there is too little to judge.
MIN_COUNT = 5

LIKELY_INCREASE = "likely increase"
LIKELY_DECREASE = "likely decrease"
NORMAL_VARIATION = "within normal variation"
TOO_FEW = "too few to judge"
NO_CHANGE = "no change"

#: binomtest's tolerance: outcomes within this factor of the observed one's probability
#: count as equally likely (ties in floating point).
_RELATIVE_TOLERANCE = 1 + 1e-7


def binomial_two_sided_p(k: int, n: int, p: float) -> float:
    """Exact two-sided p-value of k successes in n trials with success probability p."""
    if not (0 <= k <= n) or not (0 < p < 1):
        raise ValueError(f"need 0 <= k <= n and 0 < p < 1; got k={k}, n={n}, p={p}")
    return float(binomial_two_sided_p_values(np.array([k]), np.array([n]), p)[0])


def poisson_change_p(
    current: int, previous: int, current_span: float = 1.0, previous_span: float = 1.0
) -> float:
    """p-value for "the rate changed" between two counts over spans of the given lengths."""
    return float(change_p_values([current], [previous], current_span, previous_span)[0])


def change_p_values(
    current: ArrayLike,
    previous: ArrayLike,
    current_span: float = 1.0,
    previous_span: float = 1.0,
) -> NDArray[np.float64]:
    """`poisson_change_p` for arrays of counts (one pair per area), all at once."""
    now = np.asarray(current, dtype=np.int64)
    before = np.asarray(previous, dtype=np.int64)
    if (now < 0).any() or (before < 0).any():
        raise ValueError("counts must not be negative")
    share = current_span / (current_span + previous_span)
    return binomial_two_sided_p_values(now, now + before, share)


def binomial_two_sided_p_values(
    k: NDArray[np.int64], n: NDArray[np.int64], p: float
) -> NDArray[np.float64]:
    """binomtest(k, n, p).pvalue for arrays k, n (n == 0 gives 1): the observed
    outcome's tail plus the tail beyond the mode of outcomes no more likely."""
    k_all, n_all = np.broadcast_arrays(k, n)
    return _two_sided(k_all.astype(np.float64), n_all.astype(np.float64), p)


def _two_sided(k: NDArray[np.float64], n: NDArray[np.float64], p: float) -> NDArray[np.float64]:
    """binomtest's two-sided rule on float arrays of whole numbers."""
    from scipy.special import bdtr, bdtrc  # ~0.3 s: loaded by the first test, not by every CLI

    mean = p * n
    threshold = _log_pmf(k, n, p) + math.log(_RELATIVE_TOLERANCE)
    below = k < mean  # the far side is above the mode: ceil(mean) .. n
    far_start = np.where(below, np.ceil(mean), np.floor(mean))
    far_size = np.where(below, n - far_start + 1, far_start + 1)
    unlikely = _leading_unlikely(k, n, p, threshold, below, far_size)
    ks, ns, run = (a.astype(np.int64) for a in (k, n, unlikely))  # scipy wants integers
    with np.errstate(invalid="ignore"):  # bdtr of -1 is nan; the where() drops it
        p_below = bdtr(ks, ns, p) + bdtrc(ns - run, ns, p)
        p_above = np.where(run > 0, bdtr(run - 1, ns, p), 0.0) + bdtrc(ks - 1, ns, p)
    p_values = np.where(below, p_below, p_above)
    return np.where((n == 0) | (k == mean), 1.0, np.minimum(1.0, p_values))


def _log_pmf(j: NDArray[np.float64], n: NDArray[np.float64], p: float) -> NDArray[np.float64]:
    from scipy.special import gammaln

    with np.errstate(invalid="ignore"):  # j outside 0..n only where the result is unused
        return (
            gammaln(n + 1)
            - gammaln(j + 1)
            - gammaln(n - j + 1)
            + j * math.log(p)
            + (n - j) * math.log1p(-p)
        )


def _leading_unlikely(
    k: NDArray[np.float64],
    n: NDArray[np.float64],
    p: float,
    threshold: NDArray[np.float64],
    below: NDArray[np.bool_],
    far_size: NDArray[np.float64],
) -> NDArray[np.float64]:
    """How many outcomes on the far side of the mode, counted from its outer end (n
    down, or 0 up), are no more likely than the observed one. They are a leading run
    (the pmf falls away from the mode), so bisection finds its length."""
    lo = np.zeros_like(n)  # the run is at least lo long ...
    hi = np.maximum(far_size, 0)  # ... and at most hi
    while (searching := lo < hi).any():
        mid = np.floor((lo + hi) / 2)
        unlikely = _log_pmf(np.where(below, n - mid, mid), n, p) <= threshold
        lo = np.where(searching & unlikely, mid + 1, lo)
        hi = np.where(searching & ~unlikely, mid, hi)
    return lo


def pct_change(current: float, previous: float) -> float | None:
    """Percent change, or None when there is nothing to compare against (previous is 0)."""
    if previous == 0:
        return None
    return 100.0 * (current - previous) / previous


def verdict(current: float, previous: float, p_value: float) -> str:
    """Plain words for a commission: is this change likely real?"""
    if max(current, previous) < MIN_COUNT:
        return TOO_FEW
    if p_value >= ALPHA:
        return NORMAL_VARIATION
    return LIKELY_INCREASE if current > previous else LIKELY_DECREASE


def change_category(current: float, previous: float, verdict: str) -> str:
    """A verdict with a direction, for colouring a map: 'likely increase', 'increase
    within normal variation', 'no change', ... (the classes of `geo.maplayers`)."""
    if verdict in (LIKELY_INCREASE, LIKELY_DECREASE, TOO_FEW):
        return verdict
    if current == previous:
        return NO_CHANGE
    direction = "increase" if current > previous else "decrease"
    return f"{direction} {NORMAL_VARIATION}"


def describe_pct(current: float, previous: float) -> str:
    """'+12 %', '-40 %', 'new' (none last time), 'no change' (both zero)."""
    change = pct_change(current, previous)
    if change is None:
        return "new" if current else NO_CHANGE
    return f"{change:+.0f} %"
