"""The analyzer over rollups gives the ring's figures: counts exact, percentiles within 2 %."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np
import pytest
from suite_constants import NOW

from medical_insurance_sdk.core import (
    ManualClock,
    MetricConfig,
    MetricsCollector,
    PerformanceAnalyzer,
    PerformanceThreshold,
)
from medical_insurance_sdk.core.analysis import AlertPolicy
from medical_insurance_sdk.core.analysis.rollup_stats import count_at_most
from medical_insurance_sdk.core.analysis.rollup_totals import group_totals
from medical_insurance_sdk.core.collection.latency_buckets import RELATIVE_ERROR
from medical_insurance_sdk.core.collection.rollups import HOUR, RollupFrame, frame_from_calls
from medical_insurance_sdk.core.collection.store import CallSnapshot
from medical_insurance_sdk.core.history import MemorySource, SourceError

#: A minute boundary shortly after the suite's NOW: the ring's buckets fall on rollup edges.
T = float(np.ceil(NOW / 60.0) * 60.0)
APIS = ("1101", "2207", "2201")
ORGS = ("H1", "H2", "H3", "H4")
CODES = ("BIZ_1001", "TIMEOUT_READ", "NETWORK", "GATEWAY_AUTH_CLOCK_SKEW")
POLICY = AlertPolicy(min_calls=20, hysteresis=0.1)


def _record(collector: MetricsCollector, n: int, seed: int = 7, span: float = 3500.0) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        api = APIS[int(rng.integers(0, len(APIS)))]
        org = ORGS[int(rng.integers(0, len(ORGS)))]
        slow = 3.0 if (api == "2207" and org == "H2") else 1.0
        ms = float(rng.lognormal(5.0, 0.6)) * slow
        fail_p = 0.4 if org == "H3" else 0.03
        ok = bool(rng.random() > fail_p)
        code = (
            None
            if ok
            else (CODES[int(rng.integers(0, len(CODES)))] if rng.random() > 0.1 else None)
        )
        collector.record_api_call(
            api,
            org,
            "success" if ok else "error",
            ms,
            error_code=code,
            timestamp=T - span + float(rng.uniform(0.5, span - 0.5)),
        )


def _frame(snap: CallSnapshot) -> RollupFrame:
    return RollupFrame.from_snapshot(snap)


def _pair(n: int = 6000) -> tuple[PerformanceAnalyzer, PerformanceAnalyzer, MetricsCollector]:
    """The same calls analysed from the ring and from their rollups."""
    collector = MetricsCollector(
        MetricConfig(prometheus_enabled=False, background=False), clock=ManualClock(T)
    )
    _record(collector, n)
    source = MemorySource(_frame(collector.store.snapshot()), now=T)
    ring = PerformanceAnalyzer(collector, alert_policy=POLICY, language="en")
    rolled = PerformanceAnalyzer(source, alert_policy=POLICY, language="en")
    for analyzer in (ring, rolled):
        analyzer.set_threshold("2201", PerformanceThreshold("2201", 300.0, 0.05, 0.9, 50))
    return ring, rolled, collector


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RELATIVE_ERROR * abs(b) + 1e-9


def test_group_totals_equal_the_frames_totals() -> None:
    """The bincount totals are RollupFrame.totals, figure for figure."""
    collector = MetricsCollector(MetricConfig(prometheus_enabled=False, background=False))
    _record(collector, 3000)
    frame = _frame(collector.store.snapshot())
    group = (frame.api * 4 + frame.org).astype(np.int64)
    ours, theirs = group_totals(frame, group, 12), frame.totals(group, 12)
    for name in ("calls", "successes", "business_errors", "system_errors", "histogram", "errors"):
        assert np.array_equal(getattr(ours, name), getattr(theirs, name)), name
    assert np.array_equal(ours.max_concurrency, theirs.max_concurrency)
    for name in ("latency_sum", "latency_sumsq", "latency_min", "latency_max"):
        assert np.allclose(getattr(ours, name), getattr(theirs, name), equal_nan=True), name
    collector.shutdown()


def test_one_api_matches_the_ring() -> None:
    """analyze(api) from rollups: counts, errors and buckets exact; latency within 2 %."""
    ring, rolled, collector = _pair()
    for api in APIS:
        a, b = ring.analyze(api, 60), rolled.analyze(api, 60)
        assert a.status == b.status == "analyzed"
        ba, bb = a.basic_stats, b.basic_stats
        assert (ba.total_calls, ba.successful_calls, ba.failed_calls) == (
            bb.total_calls,
            bb.successful_calls,
            bb.failed_calls,
        )
        assert ba.success_rate == bb.success_rate
        assert 0 < bb.max_concurrent_calls <= ba.max_concurrent_calls  # a lower bound
        assert a.error_analysis.to_dict() == b.error_analysis.to_dict()
        ra, rb = a.response_time_stats, b.response_time_stats
        assert ra.count == rb.count
        assert rb.mean == pytest.approx(ra.mean, rel=1e-9)
        assert rb.std_dev == pytest.approx(ra.std_dev, rel=1e-6)
        assert (rb.min, rb.max) == pytest.approx((ra.min, ra.max), rel=1e-12)
        for q in ("median", "p90", "p95", "p99"):
            assert _close(getattr(rb, q), getattr(ra, q)), q
        sa, sb = a.time_series, b.time_series
        assert sa.interval_minutes == sb.interval_minutes
        assert sa.start == sb.start
        assert np.array_equal(sa.calls, sb.calls)
        assert np.array_equal(sa.errors, sb.errors)
        assert np.allclose(sa.mean, sb.mean, equal_nan=True)
        has = sa.calls > 0
        assert np.all(np.abs(sb.p95[has] - sa.p95[has]) <= RELATIVE_ERROR * sa.p95[has] + 1e-9)
        pa, pb = a.performance_score, b.performance_score
        assert pa.success_rate_score == pb.success_rate_score
        assert pb.apdex == pytest.approx(pa.apdex, abs=0.02)
        assert pb.total_score == pytest.approx(pa.total_score, abs=1.5)
        assert [r.kind for r in a.recommendations] == [r.kind for r in b.recommendations]
    collector.shutdown()


def test_alerts_and_overview_match_the_ring() -> None:
    """The same alerts fire from rollups; the overview lists the same APIs and calls."""
    ring, rolled, collector = _pair()
    ring.evaluate_alerts(60)
    rolled.evaluate_alerts(60)

    def fired(analyzer: PerformanceAnalyzer) -> set[tuple[str, str, str, str]]:
        return {
            (a.api_code, a.org_code, a.alert_type, a.severity) for a in analyzer.alerts.active()
        }

    found = fired(rolled)
    assert found == fired(ring)
    # p95 above 300 ms in the hour and in the last minute (H1's last minute is fast: its
    # ten calls there clear the short window, so H1 does not fire)
    assert ("2201", "H2", "response_time", "warning") in found
    assert ("2201", "H1", "response_time", "warning") not in found
    assert ("1101", "H3", "success_rate", "critical") in found  # 40 % of H3's calls fail
    oa, ob = ring.overview(60), rolled.overview(60)
    assert [x.api_code for x in oa.apis] == [x.api_code for x in ob.apis] == sorted(APIS)
    assert oa.total_calls == ob.total_calls == collector.store.total_folded
    assert oa.successful_calls == ob.successful_calls
    assert ob.overall_score == pytest.approx(oa.overall_score, abs=1.5)
    collector.shutdown()


def test_reports_from_a_source(tmp_path) -> None:
    """Reports render from a source; the system series has the ring's calls per bucket."""
    ring, rolled, collector = _pair(2000)
    assert '"total_calls": 2000' in rolled.export_performance_report(1, "json")
    assert rolled.export_performance_report(1, "csv")
    paths = rolled.write_report(tmp_path, time_range_hours=1)
    assert sorted(p.suffix for p in paths) == [".csv", ".html", ".json"]
    sa = ring.overview(60, series=True).series
    sb = rolled.overview(60, series=True).series
    assert sa is not None
    assert sb is not None
    assert np.array_equal(sa.calls, sb.calls)
    collector.shutdown()


def test_a_source_without_data_answers_no_data() -> None:
    """An empty source: status no_data for the overview and for an API."""
    analyzer = PerformanceAnalyzer(MemorySource(RollupFrame.empty(), now=T))
    assert analyzer.get_system_performance_overview(60)["status"] == "no_data"
    result = analyzer.analyze_api_performance("2207", 60)
    assert result["status"] == "no_data"
    assert result["basic_stats"]["total_calls"] == 0
    assert analyzer.evaluate_alerts() == []


def test_a_source_window_ends_at_its_now() -> None:
    """Windows are [now - minutes, now) of the source: later rollups are not counted."""
    _, _, collector = _pair(1000)
    frame = _frame(collector.store.snapshot())
    early = PerformanceAnalyzer(MemorySource(frame, now=T - 1800.0))
    total = early.overview(30).total_calls
    expected = int(frame.calls[(frame.start >= T - 3600.0) & (frame.start < T - 1800.0)].sum())
    assert total == expected
    assert 0 < total < 1000
    collector.shutdown()


def test_unknown_figures_are_read_from_the_histogram() -> None:
    """Without min, max and sum of squares (Prometheus), they come from the buckets."""
    ring, _, collector = _pair(3000)
    frame = _frame(collector.store.snapshot())
    nan = np.full(len(frame), np.nan)
    bare = replace(frame, latency_min=nan, latency_max=nan, latency_sumsq=nan)
    b = PerformanceAnalyzer(MemorySource(bare, now=T)).analyze("2207", 60).response_time_stats
    a = ring.analyze("2207", 60).response_time_stats
    assert b.mean == pytest.approx(a.mean, rel=1e-9)
    assert b.std_dev == pytest.approx(a.std_dev, rel=0.02)
    assert _close(b.p95, a.p95)
    assert b.max == pytest.approx(a.max, rel=0.05)
    collector.shutdown()


def test_count_at_most_agrees_with_exact_counts() -> None:
    """Calls within a latency limit, from the histogram, are within one bucket's calls."""
    rng = np.random.default_rng(3)
    ms = rng.lognormal(5.0, 0.7, 5000)
    n = ms.size
    frame = frame_from_calls(
        timestamp=T - rng.uniform(1, 3000, n),
        duration=ms / 1000.0,
        api=np.zeros(n, np.int32),
        org=np.zeros(n, np.int32),
        error=np.full(n, -1, np.int32),
        success=np.ones(n, np.bool_),
        request_size=np.zeros(n, np.uint32),
        response_size=np.zeros(n, np.uint32),
        api_codes=("1101",),
        org_codes=("H1",),
        error_codes=(),
    )
    totals = group_totals(frame, np.zeros(len(frame), np.int64), 1)
    for limit in (50.0, 148.0, 300.0, 1000.0, 1e6):
        got = count_at_most(totals, np.array([limit / 1000.0]))[0]
        exact = int((ms <= limit).sum())
        near = int(
            ((ms > limit / (1 + RELATIVE_ERROR)) & (ms <= limit * (1 + RELATIVE_ERROR))).sum()
        )
        assert abs(got - exact) <= near + 1, limit


class _Down:
    """A source whose server is down."""

    name = "prometheus:http://127.0.0.1:9"

    def now(self) -> float:
        return T

    def rollups(self, since: float, until: float, *, api_code: str | None = None) -> RollupFrame:
        raise SourceError(self.name, "connection refused")


def test_source_errors_reach_explicit_calls_and_are_counted_in_background(caplog) -> None:
    """A failing source raises for explicit calls; background evaluation logs and counts."""
    analyzer = PerformanceAnalyzer(_Down())
    with pytest.raises(SourceError, match=r"127\.0\.0\.1:9.*connection refused"):
        analyzer.get_system_performance_overview(60)
    with pytest.raises(SourceError):
        analyzer.analyze_api_performance("2207", 60)
    with caplog.at_level(logging.ERROR):
        analyzer.start_background_evaluation(interval=0.01)
        deadline = time.monotonic() + 10.0
        while analyzer.background_failures < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        analyzer.stop_background_evaluation()
    assert analyzer.background_failures >= 3
    logged = [r for r in caplog.records if "background alert evaluation failed" in r.getMessage()]
    assert len(logged) == 1  # once a minute
    assert "connection refused" in logged[0].getMessage()


def test_a_source_has_no_collector_and_bad_sources_are_refused() -> None:
    """An analyzer over a source names it; anything else is a ValueError."""
    analyzer = PerformanceAnalyzer(MemorySource(RollupFrame.empty(), now=T, name="memory:test"))
    assert "memory:test" in repr(analyzer)
    with pytest.raises(ValueError, match="memory:test"):
        _ = analyzer.collector
    with pytest.raises(ValueError, match="MetricsCollector or a RollupSource"):
        PerformanceAnalyzer("http://prometheus:9090")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="evaluation_interval"):
        PerformanceAnalyzer(MemorySource(RollupFrame.empty()), evaluation_interval=0)


def test_hour_rollups_give_the_same_counts() -> None:
    """A source answering hour rollups gives the same per-API counts as minute rollups."""
    _, _, collector = _pair(3000)
    frame = _frame(collector.store.snapshot())
    now = float(np.ceil(T / HOUR) * HOUR + HOUR)  # every call's hour starts in the window
    hours = PerformanceAnalyzer(MemorySource(frame.merge(HOUR), now=now))
    minutes = PerformanceAnalyzer(MemorySource(frame, now=now))
    a, b = minutes.overview(180), hours.overview(180)
    assert a.total_calls == 3000
    assert [x.basic_stats for x in a.apis] == [x.basic_stats for x in b.apis]
    assert [x.error_analysis.to_dict() for x in a.apis] == [
        x.error_analysis.to_dict() for x in b.apis
    ]
    collector.shutdown()


def test_windows_beyond_the_ring_are_exact_with_history(tmp_path) -> None:
    """With history, a 1-hour window counts every call even after the ring evicted most."""
    config = MetricConfig(
        prometheus_enabled=False, background=False, max_memory_metrics=500, fold_batch_size=64
    )
    with_history = MetricsCollector(
        replace(config, history_path=str(tmp_path / "history.sqlite")), clock=ManualClock(T)
    )
    without = MetricsCollector(config, clock=ManualClock(T))
    for collector in (with_history, without):
        _record(collector, 3000)
        collector.store.fold()
    assert with_history.store.evicted == 2500
    assert not with_history.store.covers(T - 3600.0)
    stats = with_history.get_api_statistics(60)
    assert stats["total_calls"] == 3000
    assert without.get_api_statistics(60)["total_calls"] == 500  # the ring alone
    exact = MetricsCollector(
        MetricConfig(prometheus_enabled=False, background=False), clock=ManualClock(T)
    )
    _record(exact, 3000)
    reference = exact.get_api_statistics(60)
    assert stats["api_breakdown"].keys() == reference["api_breakdown"].keys()
    for api, row in reference["api_breakdown"].items():
        assert stats["api_breakdown"][api]["count"] == row["count"]
        assert stats["api_breakdown"][api]["success"] == row["success"]
        assert stats["api_breakdown"][api]["avg_time"] == pytest.approx(row["avg_time"])
    assert stats["error_breakdown"] == reference["error_breakdown"]
    assert stats["average_response_time"] == pytest.approx(reference["average_response_time"])
    analyzer = PerformanceAnalyzer(with_history)
    result = analyzer.analyze_api_performance("2207", 60)
    assert result["basic_stats"]["total_calls"] == reference["api_breakdown"]["2207"]["count"]
    assert analyzer.overview(60).total_calls == 3000
    with_history.run_housekeeping()  # written to the file: the same figures from there
    assert with_history.get_api_statistics(60)["total_calls"] == 3000
    for collector in (with_history, without, exact):
        collector.shutdown()


def test_the_ring_is_used_while_it_covers_the_window(tmp_path) -> None:
    """A window the ring still holds whole is analysed from exact records."""
    collector = MetricsCollector(
        MetricConfig(
            prometheus_enabled=False,
            background=False,
            history_path=str(tmp_path / "history.sqlite"),
        ),
        clock=ManualClock(T),
    )
    _record(collector, 1000)
    assert collector.store.covers(T - 3600.0)
    exact = PerformanceAnalyzer(collector).analyze("1101", 60).response_time_stats
    snap = collector.store.snapshot()
    ms = snap.duration_ms[snap.api_mask("1101")]
    assert exact.p95 == float(np.percentile(ms, 95))
    collector.shutdown()


def test_retention_and_eviction_mark_the_ring_incomplete(mc) -> None:
    """covers(since) turns False once a call at or after ``since`` was expired or evicted."""
    collector, clock = mc
    for i in range(10):
        collector.record_api_call("1101", "H1", "success", 5.0, timestamp=NOW - 1000 + 100 * i)
    store = collector.store
    store.fold()
    assert store.covers(NOW - 3600)
    assert store.remove_older_than(NOW - 750) == 3  # calls at -1000, -900, -800
    assert store.covers(NOW - 799)
    assert not store.covers(NOW - 800)
    small = MetricsCollector(
        MetricConfig(prometheus_enabled=False, background=False, max_memory_metrics=4),
        clock=clock,
    )
    for i in range(6):
        small.record_api_call("1101", "H1", "success", 5.0, timestamp=NOW - 60 + i)
    small.store.fold()
    assert small.store.evicted == 2
    assert not small.store.covers(NOW - 59)  # the call at -59 was evicted
    assert small.store.covers(NOW - 58.5)
    small.shutdown()


def test_source_results_are_cached_within_the_resolution_only() -> None:
    """Over a source, a repeat within the second is a hit; a second later it recomputes."""
    frame = RollupFrame.empty()
    clock = ManualClock(T)
    reads: list[float] = []

    class Counting(MemorySource):
        def rollups(
            self, since: float, until: float, *, api_code: str | None = None
        ) -> RollupFrame:
            reads.append(until)
            return super().rollups(since, until, api_code=api_code)

    # baselines off: their refresh (every 5 minutes) reads the source too
    analyzer = PerformanceAnalyzer(
        Counting(frame, now=clock.wall),
        cache_resolution=1.0,
        alert_policy=AlertPolicy(baselines=False),
    )
    analyzer.overview(60)
    analyzer.overview(60)
    assert len(reads) == 1
    assert analyzer.cache_info().hits == 1
    clock.advance(1.0)
    analyzer.overview(60)
    assert reads == [T, T + 1.0]


def test_background_evaluation_over_a_source_fires_alerts() -> None:
    """Background evaluation over a source runs every evaluation_interval seconds."""
    ring, _, collector = _pair(3000)
    frame = _frame(collector.store.snapshot())
    analyzer = PerformanceAnalyzer(
        MemorySource(frame, now=T), alert_policy=POLICY, evaluation_interval=0.01
    )
    analyzer.set_threshold("2201", ring.get_threshold("2201"))
    analyzer.start_background_evaluation()  # every evaluation_interval
    deadline = time.monotonic() + 10.0
    while not analyzer.get_active_alerts() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert analyzer.background_evaluation_running
    analyzer.stop_background_evaluation()
    ring.evaluate_alerts(15)  # the default alert window

    def keys(found: PerformanceAnalyzer) -> set[tuple[str, str, str, str]]:
        return {(a.api_code, a.org_code, a.alert_type, a.severity) for a in found.alerts.active()}

    assert keys(analyzer) == keys(ring)
    collector.shutdown()


#: Prometheus-style ``le`` bounds (seconds), as a scrape of a histogram gives them.
LE = np.array([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, np.inf])


def _prometheus_like(frame: RollupFrame, snap: CallSnapshot) -> RollupFrame:
    """``frame`` with its histograms in ``LE`` buckets and no min, max or sum of squares."""
    start = np.floor(snap.timestamp / 60.0) * 60.0
    table = np.stack((start, snap.api.astype(float), snap.org.astype(float)), axis=1)
    _, row = np.unique(table, axis=0, return_inverse=True)  # frame_from_calls' row order
    key = row.reshape(-1) * LE.size + np.searchsorted(LE, snap.duration, side="left")
    cells, counts = np.unique(key, return_counts=True)
    lengths = np.bincount(cells // LE.size, minlength=len(frame))
    nan = np.full(len(frame), np.nan)
    return replace(
        frame,
        bounds=LE,
        hist_offsets=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        hist_bucket=(cells % LE.size).astype(np.int32),
        hist_count=counts.astype(np.int64),
        latency_min=nan,
        latency_max=nan,
        latency_sumsq=nan,
    )


def test_prometheus_buckets_give_percentiles_within_the_bucket_width() -> None:
    """With le buckets and no extremes, counts stay exact and p95 lies in its bucket."""
    ring, _, collector = _pair(4000)
    snap = collector.store.snapshot()
    prom = PerformanceAnalyzer(MemorySource(_prometheus_like(_frame(snap), snap), now=T))
    for api in APIS:
        a, b = ring.analyze(api, 60), prom.analyze(api, 60)
        assert a.basic_stats.total_calls == b.basic_stats.total_calls
        assert a.error_analysis.to_dict() == b.error_analysis.to_dict()
        assert b.response_time_stats.mean == pytest.approx(a.response_time_stats.mean)
        for q in ("median", "p95", "p99"):
            exact = getattr(a.response_time_stats, q) / 1000.0
            k = int(np.searchsorted(LE, exact, side="left"))
            lo, hi = (LE[k - 1] if k else 0.0), LE[k]
            width = (hi - lo) if np.isfinite(hi) else exact
            assert abs(getattr(b.response_time_stats, q) / 1000.0 - exact) <= width, (api, q)
    collector.shutdown()
