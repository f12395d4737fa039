"""PerformanceAnalyzer statistics: exact figures on known data, windows, no staleness."""

from __future__ import annotations

import math

import numpy as np
import pytest
from suite_constants import NOW

from medical_insurance_sdk.core import (
    MetricsCollector,
    PerformanceAnalyzer,
    PerformanceThreshold,
)
from medical_insurance_sdk.core.analysis.descriptive import error_class, max_concurrency


def _known(c: MetricsCollector) -> None:
    """Five calls of 1101: 100, 200, 300, 400, 1000 ms; the last two fail."""
    rows = [
        (100.0, "success", None, "H1"),
        (200.0, "success", None, "H1"),
        (300.0, "success", None, "H2"),
        (400.0, "error", "GATEWAY_AUTH_CLOCK_SKEW", "H2"),
        (1000.0, "error", "BIZ_MBS_HygeiaException", "H2"),
    ]
    for i, (ms, status, code, org) in enumerate(rows):
        c.record_api_call("1101", org, status, ms, error_code=code, timestamp=NOW - 600 + i * 60)


def test_seed_example_runs_verbatim(mc):
    """The original API's three lines work and print a numeric score."""
    collector, _ = mc
    _known(collector)
    analyzer = PerformanceAnalyzer(collector)
    analysis = analyzer.analyze_api_performance("1101", 60)
    text = f"性能评分: {analysis['performance_score']['total_score']}"
    assert text.startswith("性能评分: ")
    assert 0.0 <= analysis["performance_score"]["total_score"] <= 100.0


def test_basic_stats_are_exact(mc):
    """Counts and rates (fractions) match the recorded calls."""
    collector, _ = mc
    _known(collector)
    basic = PerformanceAnalyzer(collector).analyze_api_performance("1101", 60)["basic_stats"]
    assert basic["total_calls"] == 5
    assert basic["successful_calls"] == 3
    assert basic["failed_calls"] == 2
    assert basic["success_rate"] == pytest.approx(0.6)
    assert basic["error_rate"] == pytest.approx(0.4)


def test_response_time_stats_are_exact(mc):
    """Mean, median, sample std and linear percentiles of 100..1000 ms."""
    collector, _ = mc
    _known(collector)
    rt = PerformanceAnalyzer(collector).analyze_api_performance("1101", 60)["response_time_stats"]
    assert rt["count"] == 5
    assert rt["mean"] == pytest.approx(400.0)
    assert rt["median"] == pytest.approx(300.0)
    assert rt["min"] == pytest.approx(100.0)
    assert rt["max"] == pytest.approx(1000.0)
    assert rt["std_dev"] == pytest.approx(math.sqrt(500000 / 4))
    assert rt["p90"] == pytest.approx(760.0)
    assert rt["p95"] == pytest.approx(880.0)
    assert rt["p99"] == pytest.approx(976.0)


def test_error_analysis_by_code_org_and_class(mc):
    """Errors are counted by code, org (as rates) and protocol category."""
    collector, _ = mc
    _known(collector)
    errors = PerformanceAnalyzer(collector).analyze_api_performance("1101", 60)["error_analysis"]
    assert errors["total_errors"] == 2
    assert errors["error_types"] == {"BIZ_MBS_HygeiaException": 1, "GATEWAY_AUTH_CLOCK_SKEW": 1}
    assert errors["error_rate_by_org"] == {"H1": 0.0, "H2": pytest.approx(2 / 3)}
    assert errors["errors_by_class"] == {"business": 1, "gateway_auth": 1}
    assert errors["system_errors"] == 1
    assert [e["count"] for e in errors["most_common_errors"]] == [1, 1]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("TIMEOUT_READ", "read_timeout"),
        ("TIMEOUT_CONNECT", "connect_timeout"),
        ("NETWORK", "network"),
        ("HTTP_STATUS", "http_status"),
        ("GATEWAY_AUTH_SIGNATURE", "gateway_auth"),
        ("PARSE", "protocol"),
        ("SESSION", "session"),
        ("VALIDATION", "validation"),
        ("INFCODE_-1", "business"),
        ("SOMETHING", "other"),
        (None, "unknown"),
    ],
    ids=str,
)
def test_error_class_follows_protocol_categories(code, expected):
    """SDK error codes map to the protocol's error categories."""
    assert error_class(code) == expected


def test_unknown_api_reads_no_data(mc):
    """An API without calls in the window gives status no_data and zero figures."""
    collector, _ = mc
    _known(collector)
    result = PerformanceAnalyzer(collector).analyze_api_performance("2207", 60)
    assert result["status"] == "no_data"
    assert result["basic_stats"]["total_calls"] == 0
    assert result["response_time_stats"]["count"] == 0
    assert result["recommendations"] == []
    assert result["alerts"] == []


def test_window_excludes_older_calls(mc):
    """Only calls ending within the last time_range_minutes count."""
    collector, _ = mc
    _known(collector)
    analysis = PerformanceAnalyzer(collector).analyze_api_performance("1101", 7)
    assert analysis["basic_stats"]["total_calls"] == 2  # calls at now - 420 s and now - 360 s
    assert analysis["time_range_minutes"] == 7.0


def test_new_call_changes_the_next_answer(mc):
    """Results are never stale: a new call is in the very next analysis."""
    collector, _ = mc
    _known(collector)
    analyzer = PerformanceAnalyzer(collector)
    assert analyzer.analyze_api_performance("1101", 60)["basic_stats"]["total_calls"] == 5
    collector.record_api_call("1101", "H1", "success", 50.0, timestamp=NOW - 1)
    assert analyzer.analyze_api_performance("1101", 60)["basic_stats"]["total_calls"] == 6
    assert analyzer.get_system_performance_overview(60)["total_calls"] == 6


def test_moving_clock_and_new_threshold_are_not_stale(mc):
    """Advancing the clock drops old calls; a new threshold changes the score at once."""
    collector, clock = mc
    _known(collector)
    analyzer = PerformanceAnalyzer(collector)
    first = analyzer.analyze_api_performance("1101", 60)
    again = analyzer.analyze_api_performance("1101", 60)
    assert again == first
    analyzer.set_threshold("1101", PerformanceThreshold("1101", 50.0, 0.5, 0.5))
    assert (
        analyzer.analyze_api_performance("1101", 60)["performance_score"]
        != first["performance_score"]
    )
    clock.advance(3600)
    assert analyzer.analyze_api_performance("1101", 60)["status"] == "no_data"


def test_max_concurrency_from_call_intervals():
    """Overlapping intervals count; a call ending as another starts does not overlap."""
    end = np.array([10.0, 11.0, 12.0, 20.0])
    dur = np.array([5.0, 5.0, 1.0, 8.0])  # [5,10) [6,11) [11,12) [12,20)
    assert max_concurrency(end, dur) == 2
    assert max_concurrency(np.array([]), np.array([])) == 0


def test_overview_covers_every_api_with_weighted_score(mc):
    """The overview lists each API and weights the overall score by calls."""
    collector, _ = mc
    _known(collector)
    for i in range(15):
        collector.record_api_call("2207", "H1", "success", 100.0, timestamp=NOW - 100 - i)
    overview = PerformanceAnalyzer(collector).get_system_performance_overview(60)
    assert sorted(overview["apis"]) == ["1101", "2207"]
    assert overview["total_calls"] == 20
    s1101 = overview["apis"]["1101"]["total_score"]
    s2207 = overview["apis"]["2207"]["total_score"]
    assert overview["apis"]["2207"]["total_score"] == 100.0
    assert overview["overall_score"] == pytest.approx(round((5 * s1101 + 15 * s2207) / 20, 1))
    assert set(overview["alert_summary"]) == {"active", "by_severity", "by_type"}


def test_bad_arguments_raise_value_error(mc):
    """Windows <= 0, empty codes and mismatched thresholds are rejected loudly."""
    collector, _ = mc
    analyzer = PerformanceAnalyzer(collector)
    with pytest.raises(ValueError, match="time_range_minutes"):
        analyzer.analyze_api_performance("1101", 0)
    with pytest.raises(ValueError, match="api_code"):
        analyzer.analyze_api_performance("", 60)
    with pytest.raises(ValueError, match="not '1101'"):
        analyzer.set_threshold("1101", PerformanceThreshold("2207", 1000.0, 0.01, 0.99))
    with pytest.raises(ValueError, match="max_response_time_ms"):
        PerformanceThreshold("1101", 0.0, 0.01, 0.99)
    with pytest.raises(ValueError, match="language"):
        PerformanceAnalyzer(collector, language="fr")


def test_default_thresholds_follow_the_interface_class():
    """Queries, transactions and settlements get different defaults."""
    from medical_insurance_sdk.core.analysis.thresholds import api_class, default_threshold

    assert api_class("1101") == "query"
    assert api_class("2201") == "transaction"
    assert api_class("2207") == "settlement"
    assert api_class("1301") == "transfer"
    settle = default_threshold("2207")
    assert isinstance(settle, PerformanceThreshold)
    assert settle.min_success_rate > default_threshold("1101").min_success_rate


def test_grouped_concurrency_matches_brute_force():
    """The one-sort grouped sweep agrees with counting overlaps call by call."""
    from medical_insurance_sdk.core.analysis.descriptive import grouped_max_concurrency

    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(1, 40))
        end = np.round(rng.uniform(0, 20, n))
        dur = np.round(rng.uniform(0, 5, n))
        keys = rng.integers(0, 3, n).astype(np.int32)
        found = grouped_max_concurrency(end, dur, keys, 3)
        for key in range(3):
            e, d = end[keys == key], dur[keys == key]
            start = e - d
            expected = max((int(((start <= s) & (e > s)).sum()) for s in start), default=0)
            assert found[key] == expected


def test_bucket_percentiles_match_numpy_per_bucket(mc):
    """Per-bucket p50/p95/p99 from one sort equal numpy's percentile of each bucket."""
    collector, _ = mc
    rng = np.random.default_rng(5)
    latencies = rng.lognormal(5.0, 0.7, 600)
    for i, ms in enumerate(latencies):
        collector.record_api_call("1101", "H1", "success", float(ms), timestamp=NOW - 3599 + i * 6)
    series = PerformanceAnalyzer(collector).analyze_api_performance("1101", 60)
    buckets = series["time_series_analysis"]["time_series"]
    for minute, bucket in enumerate(buckets):
        part = latencies[minute * 10 : minute * 10 + 10]
        assert bucket["calls"] == 10
        p50, p95, p99 = np.percentile(part, (50, 95, 99))
        assert bucket["p50_ms"] == pytest.approx(p50)
        assert bucket["p95_ms"] == pytest.approx(p95)
        assert bucket["p99_ms"] == pytest.approx(p99)
        assert bucket["mean_ms"] == pytest.approx(part.mean())


@pytest.mark.parametrize(
    "values",
    [
        np.array([], dtype=np.float64),
        np.array([0.25]),
        np.array([0.0, -0.0, 1e-300, 5e-324, 0.1, 0.1, 3.0, 1e9, 0.0]),  # zeros, subnormals, ties
        np.random.default_rng(1).lognormal(-2.0, 1.5, 5000),
        np.round(np.random.default_rng(2).uniform(0, 2, 5000), 2),  # many ties
        np.array([0.5, -1.0, 0.25]),  # negative: the fallback
        np.array([0.5, np.nan, 0.25]),  # NaN: the fallback, NaN last as numpy puts it
    ],
)
def test_latency_order_is_numpys_stable_argsort(values):
    """The 16-bit radix passes give exactly numpy's stable argsort (ties keep row order)."""
    from medical_insurance_sdk.core.analysis.descriptive import latency_order

    assert np.array_equal(latency_order(values), np.argsort(values, kind="stable"))
