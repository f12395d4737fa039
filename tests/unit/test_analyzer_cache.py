"""The analyzer's result cache: it hits while the clock runs, and is never stale."""

from __future__ import annotations

import pytest

from medical_insurance_sdk.core import MetricsCollector, PerformanceAnalyzer
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold
from medical_insurance_sdk.core.runtime.clock import AnchoredClock, ManualClock


def _calls(collector: MetricsCollector, n: int, api: str = "2207") -> None:
    now = collector.now()
    for i in range(n):
        collector.record_api_call(api, "H1", "success", 100.0 + i, timestamp=now - 30 - i)


def test_the_cache_hits_while_the_clock_runs(clocked, clock):
    """With the clock moving 0.1 s between requests (as a real one does), analyze,
    overview and a report over the same calls are answered from the cache."""
    _calls(clocked, 20)
    analyzer = PerformanceAnalyzer(clocked)
    first = analyzer.analyze_api_performance("2207")
    for _ in range(3):
        clock.advance(0.1)
        assert analyzer.analyze_api_performance("2207") == first
    clock.advance(0.1)
    overview = analyzer.get_system_performance_overview()
    clock.advance(0.1)
    again = analyzer.get_system_performance_overview()
    assert again.pop("timestamp") != overview.pop("timestamp")  # the overview's is now
    assert again == overview
    clock.advance(0.1)
    analyzer.export_performance_report(1, "json")  # its overview hits; its series misses
    info = analyzer.cache_info()  # and so does its capacity plan (asked again, it hits)
    assert (info.hits, info.misses) == (3 + 1 + 1, 1 + 1 + 1 + 1)
    assert info.hit_rate == pytest.approx(5 / 9)
    analyzer.get_capacity_plan()
    assert analyzer.cache_info().hits == 3 + 1 + 1 + 1


def test_a_running_real_clock_gets_hits():
    """The collector's own (perf_counter) clock: repeated requests within a second hit."""
    collector = MetricsCollector(clock=AnchoredClock())
    _calls(collector, 20)
    analyzer = PerformanceAnalyzer(collector, cache_resolution=3600.0)
    for _ in range(5):
        analyzer.analyze("2207")
        analyzer.overview()
    assert analyzer.cache_info().hits >= 8  # at most one bucket edge crossed per kind
    collector.shutdown()


def test_the_cache_never_returns_a_stale_result(clocked, clock):
    """A new call, a call leaving the window, a new threshold or the next second each
    give a fresh answer, equal to a cache-less analyzer's."""
    _calls(clocked, 5)
    analyzer = PerformanceAnalyzer(clocked)
    assert analyzer.analyze("2207").basic_stats.total_calls == 5
    clocked.record_api_call("2207", "H1", "error", 900.0, timestamp=clock.wall() - 1)
    assert analyzer.analyze("2207").basic_stats.total_calls == 6  # a new call: fresh
    assert analyzer.overview().to_dict() == PerformanceAnalyzer(clocked).overview().to_dict()
    assert analyzer.cache_info().hits == 0
    # the oldest call (at now - 34 s) leaves a 34.5-second window within the same second
    clock.advance(0.3)
    window = 34.5 / 60
    assert analyzer.analyze("2207", window).basic_stats.total_calls == 6
    clock.advance(0.4)
    assert analyzer.analyze("2207", window).basic_stats.total_calls == 5
    strict = PerformanceThreshold("2207", 50.0, 0.01, 0.99)
    before = analyzer.analyze("2207").performance_score
    analyzer.set_threshold("2207", strict)
    assert analyzer.analyze("2207").performance_score != before
    stamp = analyzer.analyze("2207").analysis_timestamp
    clock.advance(1.0)
    assert analyzer.analyze("2207").analysis_timestamp == stamp + 1.0
    # the only hits: "before" (same calls, same second as the second analyze) and "stamp"
    assert analyzer.cache_info().hits == 2


def test_cache_resolution_is_checked():
    """A resolution that is not a positive number is a ValueError naming it."""
    with (
        MetricsCollector(clock=ManualClock()) as collector,
        pytest.raises(ValueError, match="cache_resolution"),
    ):
        PerformanceAnalyzer(collector, cache_resolution=0.0)
