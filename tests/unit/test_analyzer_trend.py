"""Trends and forecasts: Mann-Kendall significance, Theil-Sen slope, prediction interval."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from suite_constants import NOW

from medical_insurance_sdk.core import PerformanceAnalyzer
from medical_insurance_sdk.core.analysis.timeseries import bucket_interval_minutes
from medical_insurance_sdk.core.analysis.trend import mann_kendall, theil_sen, trend_of


def test_mann_kendall_on_a_monotone_series():
    """S = n(n-1)/2 and the two-sided p-value from the continuity-corrected Z."""
    s, p = mann_kendall(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert s == 10.0
    z = (10 - 1) / math.sqrt(5 * 4 * 15 / 18)
    assert p == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert p == pytest.approx(0.0275, abs=1e-4)


def test_mann_kendall_ties_and_short_series():
    """A constant series has S = 0 and p = 1; fewer than 3 points give p = 1."""
    assert mann_kendall(np.array([3.0, 3.0, 3.0, 3.0])) == (0.0, 1.0)
    assert mann_kendall(np.array([1.0, 2.0])) == (0.0, 1.0)


def test_theil_sen_is_robust_to_an_outlier():
    """One wild point does not move the median slope of a line."""
    x = np.arange(10, dtype=np.float64)
    y = 5.0 + 2.0 * x
    y[7] = 500.0
    slope, intercept = theil_sen(x, y)
    assert slope == pytest.approx(2.0)
    assert intercept == pytest.approx(5.0)


def test_mann_kendall_tie_correction_matches_the_textbook_variance():
    """Tied groups shrink the variance by sum t(t-1)(2t+5)/18 (here a pair and a triple)."""
    y = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 4.0, 5.0])
    s, p = mann_kendall(y)
    n = len(y)
    expected_s = sum(np.sign(y[j] - y[i]) for i in range(n) for j in range(i + 1, n))
    var = (n * (n - 1) * (2 * n + 5) - 2 * 1 * 9 - 3 * 2 * 11) / 18.0
    assert s == expected_s
    assert p == pytest.approx(math.erfc(((s - 1) / math.sqrt(var)) / math.sqrt(2)))


@pytest.mark.parametrize("n", [3, 4, 7, 60])
def test_theil_sen_equals_the_median_of_pairwise_slopes(n):
    """Slope and intercept equal numpy's medians of the pairwise slopes and residuals,
    including repeated x (pairs with equal x give no slope)."""
    rng = np.random.default_rng(n)
    x = np.floor(rng.uniform(0, n / 2, n))
    y = rng.normal(size=n)
    slopes = [
        (y[j] - y[i]) / (x[j] - x[i]) for i in range(n) for j in range(i + 1, n) if x[j] != x[i]
    ]
    slope, intercept = theil_sen(x, y)
    expected = float(np.median(slopes)) if slopes else 0.0
    assert slope == expected
    assert intercept == float(np.median(y - expected * x))


def test_rising_series_is_increasing_with_exact_forecast():
    """y = 10 + 2x per 1-minute bucket: increasing, 120/hour, forecast on the line."""
    x = np.arange(20, dtype=np.float64)
    trend = trend_of(x, 10.0 + 2.0 * x, bucket_seconds=60.0, origin=1000.0)
    assert trend.direction == "increasing"
    assert trend.strength == pytest.approx(1.0)
    assert trend.slope_per_hour == pytest.approx(120.0)
    assert trend.significance < 1e-6
    assert [p.value for p in trend.forecast] == pytest.approx([50.0, 52.0, 54.0])
    assert [p.bucket_start for p in trend.forecast] == [2200.0, 2260.0, 2320.0]
    first = trend.forecast[0]
    assert first.lower == pytest.approx(50.0)
    assert first.upper == pytest.approx(50.0)


def test_noisy_flat_series_is_stable_with_interval():
    """Noise around a level reads stable; the forecast is the mean with a 95 % interval."""
    rng = random.Random(7)
    y = np.array([100.0 + rng.gauss(0.0, 10.0) for _ in range(40)])
    x = np.arange(40, dtype=np.float64)
    trend = trend_of(x, y, bucket_seconds=60.0, origin=0.0)
    assert trend.direction == "stable"
    assert trend.significance >= 0.05
    half = 1.959963984540054 * float(y.std(ddof=1)) * math.sqrt(1 + 1 / 40)
    point = trend.forecast[0]
    assert point.value == pytest.approx(float(y.mean()))
    assert point.upper - point.value == pytest.approx(half)
    assert point.value - point.lower == pytest.approx(half)


def test_decreasing_series_and_too_few_points():
    """A falling series is decreasing; three points are too few to call a trend."""
    x = np.arange(10, dtype=np.float64)
    assert trend_of(x, 50.0 - x, bucket_seconds=60, origin=0).direction == "decreasing"
    short = trend_of(x[:3], x[:3], bucket_seconds=60, origin=0)
    assert (short.direction, short.significance, short.forecast) == ("stable", 1.0, [])


@pytest.mark.parametrize(
    ("minutes", "interval"), [(5, 1), (60, 1), (120, 2), (1440, 30), (10080, 240)]
)
def test_bucket_interval_gives_at_most_60_buckets(minutes, interval):
    """The bucket width is the smallest listed one giving <= 60 buckets."""
    assert bucket_interval_minutes(minutes) == interval


def test_analyzer_detects_rising_latency_and_recommends(clocked):
    """Latency rising minute by minute reads increasing and yields a trend recommendation."""
    for minute in range(30):
        for k in range(5):
            clocked.record_api_call(
                "1101",
                "H1",
                "success",
                100.0 + 10.0 * minute + k,
                timestamp=NOW - 1800 + minute * 60 + k,
            )
    analysis = PerformanceAnalyzer(clocked).analyze_api_performance("1101", 30)
    series = analysis["time_series_analysis"]
    assert series["interval_minutes"] == 1
    assert len(series["time_series"]) == 30
    assert sum(b["calls"] for b in series["time_series"]) == 150
    trend = series["response_time_trend"]
    assert trend["direction"] == "increasing"
    assert trend["slope_per_hour"] == pytest.approx(600.0)
    assert series["call_trend"]["direction"] == "stable"
    assert len(trend["forecast"]) == 3
    assert any(r["kind"] == "trend" for r in analysis["recommendations"])


def test_flat_noisy_latency_reads_stable(clocked):
    """Random latency around a level gives a stable response-time trend."""
    rng = random.Random(3)
    for i in range(600):
        clocked.record_api_call(
            "1101", "H1", "success", rng.uniform(80, 120), timestamp=NOW - 3600 + i * 6
        )
    analysis = PerformanceAnalyzer(clocked).analyze_api_performance("1101", 60)
    assert analysis["time_series_analysis"]["response_time_trend"]["direction"] == "stable"
    assert not any(r["kind"] == "trend" for r in analysis["recommendations"])
