"""The performance score: a documented formula, 0-100, graded A-F.

``total = 0.4 · success + 0.4 · response_time + 0.2 · stability`` (rounded to 0.1), with

* **success** (error budget): the budget is ``b = 1 - min_success_rate``; the share of it
  used is ``c = error_rate / b``. ``success = 100 - 20·c`` while ``c <= 1`` (meeting the
  target exactly gives 80) and ``80 / c²`` beyond it, so a settlement API (target 99.5 %)
  at 83 % success (``c = 34``) scores 0.07 and the total cannot exceed 60 (grade D).
  With a target of 100 % any failure gives 0.
* **response_time** (Apdex with ``T = max_response_time_ms``): a successful call within
  ``T`` is satisfied (1), a call within ``4T`` is tolerating (1/2), a call slower than
  ``4T`` earns nothing. Failed calls are never satisfied: at best tolerating.
  ``response_time = 100 · (satisfied + tolerating / 2) / calls``.
* **stability** (latency dispersion): with the tail ratio ``r = p99 / p50``,
  ``stability = 100`` when ``r <= 3`` and ``100 · 3 / r`` beyond (``r = 1`` when p50 is 0).

Grades: A >= 90, B >= 80, C >= 70, D >= 60, F below. The score is monotone: more
errors or uniformly slower calls never raise it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold

__all__ = ["WEIGHTS", "PerformanceScore", "grade_of", "score_calls", "score_counts"]

#: Component weights (success, response time, stability), as the original API's score implies.
WEIGHTS = (0.4, 0.4, 0.2)
#: p99/p50 ratio up to which latency counts as fully stable.
TAIL_ALLOWANCE = 3.0
_GRADES = ((90.0, "A"), (80.0, "B"), (70.0, "C"), (60.0, "D"))


@dataclass(frozen=True)
class PerformanceScore:
    """The score and its components (each 0-100)."""

    total_score: float
    grade: str
    success_rate_score: float
    response_time_score: float
    stability_score: float
    apdex: float
    apdex_t_ms: float
    error_budget_used: float  # inf when the target is 100 % and a call failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_score": self.total_score,
            "grade": self.grade,
            "components": {
                "success_rate_score": self.success_rate_score,
                "response_time_score": self.response_time_score,
                "stability_score": self.stability_score,
            },
            "weights": {
                "success_rate_score": WEIGHTS[0],
                "response_time_score": WEIGHTS[1],
                "stability_score": WEIGHTS[2],
            },
            "apdex": self.apdex,
            "apdex_t_ms": self.apdex_t_ms,
            "error_budget_used": (
                self.error_budget_used if math.isfinite(self.error_budget_used) else None
            ),
        }


def grade_of(total: float) -> str:
    """A >= 90, B >= 80, C >= 70, D >= 60, otherwise F."""
    for low, grade in _GRADES:
        if total >= low:
            return grade
    return "F"


def success_score(error_rate: float, min_success_rate: float) -> tuple[float, float]:
    """Return ``(score, budget used)`` for an error rate against a success target."""
    budget = 1.0 - min_success_rate
    if error_rate <= 0.0:
        return 100.0, 0.0
    if budget <= 0.0:
        return 0.0, math.inf
    used = error_rate / budget
    return (100.0 - 20.0 * used if used <= 1.0 else 80.0 / (used * used)), used


def score_calls(
    ms: npt.NDArray[np.float64],
    success: npt.NDArray[np.bool_],
    threshold: PerformanceThreshold,
    p50: float,
    p99: float,
) -> PerformanceScore:
    """Score calls with latencies ``ms`` and outcomes ``success`` (see the module doc)."""
    t = threshold.max_response_time_ms
    within_t = ms <= t
    satisfied = int(np.count_nonzero(within_t & success))
    return score_counts(
        int(ms.size),
        int(np.count_nonzero(success)),
        satisfied,
        int(np.count_nonzero(ms <= 4.0 * t)),
        threshold,
        p50,
        p99,
    )


def score_counts(
    calls: int,
    successes: int,
    satisfied: float,
    within_4t: float,
    threshold: PerformanceThreshold,
    p50: float,
    p99: float,
) -> PerformanceScore:
    """The score from counts: ``satisfied`` successful calls within ``T``, calls within ``4T``.

    :func:`score_calls` counts them from the calls; the rollups' analysis reads them from
    the histogram (``satisfied`` may then be fractional, see ``rollup_overview``).
    """
    n = calls
    t = threshold.max_response_time_ms
    if n == 0:
        return PerformanceScore(0.0, "F", 0.0, 0.0, 0.0, 0.0, t, 0.0)
    tolerating = within_4t - satisfied
    apdex = (satisfied + tolerating / 2.0) / n
    error_rate = 1.0 - successes / n
    s_score, used = success_score(error_rate, threshold.min_success_rate)
    ratio = p99 / p50 if p50 > 0 else 1.0
    stability = 100.0 if ratio <= TAIL_ALLOWANCE else 100.0 * TAIL_ALLOWANCE / ratio
    rt_score = 100.0 * apdex
    total = WEIGHTS[0] * s_score + WEIGHTS[1] * rt_score + WEIGHTS[2] * stability
    total = round(total, 1)
    return PerformanceScore(
        total_score=total,
        grade=grade_of(total),
        success_rate_score=round(s_score, 2),
        response_time_score=round(rt_score, 2),
        stability_score=round(stability, 2),
        apdex=apdex,
        apdex_t_ms=t,
        error_budget_used=used,
    )
