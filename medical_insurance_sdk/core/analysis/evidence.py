"""Statistical evidence behind an alert: binomial and Poisson tests on small counts.

A ratio alert (system errors, failures, business refusals) fires only when the failures
seen are *evidence* that the true ratio is above its budget, not when a few calls make a
ratio look bad:

* **binomial rule**: with ``n`` calls and a budget ``p`` (the allowed failure ratio),
  ``k`` failures are evidence at confidence ``c`` when a one-sided binomial test rejects
  "the true ratio is <= p": ``P(X >= k | n, p) <= 1 - c``; and ``k`` is at least
  ``min_failures``. :func:`failures_needed` is the smallest such ``k`` (exact up to
  :data:`EXACT_UP_TO` calls, the normal approximation with continuity correction
  beyond);
* **Poisson rule** (traffic drops): ``x`` calls where ``lam`` were expected are a drop at
  confidence ``c`` when ``P(X <= x | lam) <= 1 - c``.

docs/alerting.md holds the table of calls -> failures needed for the default targets
(:func:`evidence_table` prints it).
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

__all__ = [
    "EXACT_UP_TO",
    "evidence_table",
    "failures_needed",
    "has_evidence",
    "poisson_lower_tail",
]

#: Up to this many calls the binomial tail is summed exactly.
EXACT_UP_TO = 5000
#: Up to this many counts to test, :func:`has_evidence` loops (cached) instead of sorting.
_LOOP_UP_TO = 256


@functools.lru_cache(maxsize=65536)
def failures_needed(calls: int, budget: float, confidence: float, min_failures: int) -> int:
    """The fewest failures among ``calls`` that reject "ratio <= budget" at ``confidence``.

    Never below ``min_failures``; ``calls + 1`` when even all calls failing is no
    evidence (too few calls).
    """
    if calls <= 0:
        return 1 + max(calls, 0)
    alpha = 1.0 - confidence
    if budget <= 0.0:
        return max(min_failures, 1)
    if budget >= 1.0:
        return calls + 1
    if calls > EXACT_UP_TO:
        mean = calls * budget
        z = NormalDist().inv_cdf(confidence)
        k = math.ceil(mean + z * math.sqrt(mean * (1.0 - budget)) + 0.5)
        return max(min_failures, min(k, calls + 1))
    # P(X >= k) = 1 - P(X <= k - 1), the pmf summed upwards in log space
    log_p, log_q = math.log(budget), math.log1p(-budget)
    log_pmf = calls * log_q  # P(X = 0)
    below = 0.0  # P(X <= k - 1)
    for k in range(calls + 1):
        if 1.0 - below <= alpha:
            return max(min_failures, k)
        below += math.exp(log_pmf)
        log_pmf += math.log(calls - k) - math.log(k + 1) + log_p - log_q if k < calls else 0.0
    return calls + 1


def has_evidence(
    failures: npt.ArrayLike,
    calls: npt.ArrayLike,
    budget: npt.ArrayLike,
    confidence: float,
    min_failures: int,
) -> npt.NDArray[np.bool_]:
    """Per element: ``failures`` among ``calls`` are evidence of a ratio above ``budget``.

    :func:`failures_needed` is computed once per distinct (calls, budget) pair.
    """
    k = np.asarray(failures, dtype=np.float64)
    n = np.rint(np.asarray(calls, dtype=np.float64)).astype(np.int64)
    shape = np.broadcast_shapes(k.shape, n.shape, np.shape(budget))
    k, n = np.broadcast_to(k, shape), np.broadcast_to(n, shape)
    p = np.broadcast_to(np.asarray(budget, dtype=np.float64), shape)
    out = np.zeros(shape, dtype=np.bool_)
    candidates = k >= min_failures
    if not candidates.any():
        return out
    if np.count_nonzero(candidates) <= _LOOP_UP_TO:  # a few: the cache answers
        for i in np.flatnonzero(candidates.reshape(-1)).tolist():
            need = failures_needed(int(n.flat[i]), float(p.flat[i]), confidence, min_failures)
            out.flat[i] = k.flat[i] >= need
        return out
    pairs, inverse = np.unique(
        np.stack((n[candidates].astype(np.float64), p[candidates]), axis=1),
        axis=0,
        return_inverse=True,
    )
    needed = np.array(
        [failures_needed(int(a), float(b), confidence, min_failures) for a, b in pairs.tolist()]
    )
    out[candidates] = k[candidates] >= needed[inverse.reshape(-1)]
    return out


def poisson_lower_tail(observed: int, expected: float) -> float:
    """``P(X <= observed)`` for ``X ~ Poisson(expected)``."""
    if observed < 0:
        return 0.0
    if expected <= 0.0:
        return 1.0
    if observed > 1000:  # normal approximation with continuity correction
        return NormalDist(expected, math.sqrt(expected)).cdf(observed + 0.5)
    log_term = -expected
    total = math.exp(log_term)
    for i in range(1, observed + 1):
        log_term += math.log(expected) - math.log(i)
        total += math.exp(log_term)
    return min(total, 1.0)


def evidence_table(
    calls: tuple[int, ...], budgets: tuple[float, ...], confidence: float, min_failures: int
) -> list[tuple[int, list[int]]]:
    """``(calls, [failures needed per budget])`` rows (``calls + 1``: cannot fire)."""
    return [(n, [failures_needed(n, b, confidence, min_failures) for b in budgets]) for n in calls]
