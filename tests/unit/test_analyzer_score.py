"""The performance score: documented formula, grades and its properties."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from medical_insurance_sdk.core import PerformanceThreshold
from medical_insurance_sdk.core.analysis.scoring import grade_of, score_calls, success_score
from medical_insurance_sdk.core.analysis.thresholds import default_threshold

T1S = PerformanceThreshold("1101", 1000.0, 0.01, 0.99)


def _score(ms: list[float], ok: list[bool], threshold: PerformanceThreshold = T1S):
    values = np.asarray(ms, dtype=np.float64)
    p50, p99 = np.percentile(values, (50, 99))
    return score_calls(values, np.asarray(ok, dtype=np.bool_), threshold, float(p50), float(p99))


def test_fast_and_successful_calls_score_100_a():
    """All calls fast and successful give 100 / A."""
    score = _score([100.0] * 50, [True] * 50)
    assert score.total_score == 100.0
    assert score.grade == "A"
    assert (score.success_rate_score, score.response_time_score, score.stability_score) == (
        100.0,
        100.0,
        100.0,
    )


def test_ten_second_calls_with_one_second_threshold_lose_30_points():
    """With T = 1 s, calls taking 10 s (> 4T) earn no response-time credit."""
    score = _score([10_000.0] * 50, [True] * 50)
    assert score.response_time_score == 0.0
    assert score.total_score <= 70.0
    assert 100.0 - score.total_score >= 30.0


def test_score_is_monotone_in_error_rate():
    """More failed calls never raise the score."""
    totals = [
        _score([100.0] * 100, [True] * (100 - k) + [False] * k).total_score
        for k in range(0, 101, 5)
    ]
    assert all(a >= b for a, b in itertools.pairwise(totals))
    assert totals[0] == 100.0
    assert totals[-1] < 60.0


def test_score_is_monotone_in_latency():
    """Uniformly slower calls never raise the score."""
    base = np.array([100.0, 150.0, 200.0, 300.0, 500.0] * 20)
    totals = [_score(list(base * f), [True] * base.size).total_score for f in (1, 2, 4, 8, 16, 32)]
    assert all(a >= b for a, b in itertools.pairwise(totals))
    assert totals[0] > totals[-1]


def test_settlement_at_83_percent_success_never_above_d():
    """A settlement API at 83 % success grades D at best, even with perfect latency."""
    threshold = default_threshold("2207")
    score = _score([50.0] * 100, [True] * 83 + [False] * 17, threshold)
    assert score.grade in ("D", "F")
    assert score.total_score < 70.0


def test_apdex_counts_tolerating_and_frustrated_calls():
    """Satisfied 1, tolerating 1/2 (and failed-but-fast calls), slower than 4T nothing."""
    # 2 satisfied, 1 tolerating (2 s), 1 frustrated (5 s), 1 failed fast -> (2 + 2/2) / 5
    score = _score([100.0, 200.0, 2000.0, 5000.0, 100.0], [True, True, True, True, False])
    assert score.apdex == pytest.approx(0.6)
    assert score.response_time_score == pytest.approx(60.0)


@pytest.mark.parametrize(
    ("error_rate", "target", "expected"),
    [
        (0.0, 0.99, 100.0),
        (0.005, 0.99, 90.0),
        (0.01, 0.99, 80.0),
        (0.02, 0.99, 20.0),
        (0.04, 0.99, 5.0),
        (0.01, 1.0, 0.0),
    ],
    ids=["none", "half-budget", "at-target", "2x-budget", "4x-budget", "no-budget"],
)
def test_success_score_is_an_error_budget(error_rate, target, expected):
    """100 - 20c within the budget, 80/c² beyond it."""
    assert success_score(error_rate, target)[0] == pytest.approx(expected)


def test_stability_uses_tail_ratio():
    """p99/p50 above 3 lowers the stability component as 300 / ratio."""
    score = score_calls(
        np.array([100.0] * 10), np.ones(10, dtype=np.bool_), T1S, p50=100.0, p99=600.0
    )
    assert score.stability_score == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("total", "grade"),
    [(100, "A"), (90, "A"), (89.9, "B"), (80, "B"), (70, "C"), (60, "D"), (59.9, "F")],
)
def test_grade_boundaries(total, grade):
    """A >= 90, B >= 80, C >= 70, D >= 60, else F."""
    assert grade_of(total) == grade
