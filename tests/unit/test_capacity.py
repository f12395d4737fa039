"""Capacity planning: forecast accuracy, limit dates, short history, arguments, paths."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from bench.capacity_history import MONDAY, counts, hourly_frame, pattern
from medical_insurance_sdk.client.sync_client import DEFAULT_LIMITS
from medical_insurance_sdk.core import (
    CapacityPlan,
    ManualClock,
    MemorySource,
    MetricConfig,
    MetricsCollector,
    PerformanceAnalyzer,
    RollupFrame,
)
from medical_insurance_sdk.core.analysis.capacity_options import DEFAULT_POOL_SIZE
from medical_insurance_sdk.core.analysis.forecast import (
    HourlyForecast,
    forecast_hourly,
    holdout_error,
)

WEEK = 168
CST = timezone(timedelta(hours=8))


def _analyzer(frame: RollupFrame, hours: int, lang: str = "zh") -> PerformanceAnalyzer:
    return PerformanceAnalyzer(MemorySource(frame, now=MONDAY + hours * 3600.0), language=lang)


def _date(hour: int) -> str:
    return datetime.fromtimestamp(MONDAY + hour * 3600.0, tz=CST).date().isoformat()


@pytest.mark.parametrize("seed", range(5))
def test_forecast_error_on_a_held_out_week(seed):
    """8 weeks (daily + weekly cycle, growth, noise): MAPE < 15 %, 90 % bands cover 80-98 %."""
    truth = pattern(8 * WEEK, 400.0, 0.03)
    calls = counts(truth, 0.08, seed)
    found = holdout_error(MONDAY, calls, WEEK, level=0.9)
    held = calls[-WEEK:] > 0
    floor = np.mean(np.abs(truth[-WEEK:][held] - calls[-WEEK:][held]) / calls[-WEEK:][held])
    assert found.hours == WEEK
    assert found.mape < 15.0
    assert found.mape < 1.3 * floor * 100  # within 30 % of the true mean's own error
    assert found.smape < 15.0
    assert 0.80 <= found.coverage <= 0.98


def test_forecast_follows_the_weekly_cycle_and_the_trend():
    """The forecast's weekday peaks beat its weekend peaks; the trend is the known growth."""
    calls = np.rint(pattern(4 * WEEK, 400.0, 0.05)).astype(np.int64)
    fc = forecast_hourly(MONDAY, calls, WEEK)
    assert fc.seasonality == "weekly"
    assert fc.start == MONDAY + 4 * WEEK * 3600.0
    weekday, weekend = fc.point[:120].max(), fc.point[120:].max()
    assert weekend < 0.45 * weekday
    truth = pattern(5 * WEEK, 400.0, 0.05)[4 * WEEK :]
    assert np.abs(fc.point - truth).max() < 0.03 * truth.max()
    assert (fc.lower <= fc.point).all()
    assert (fc.point <= fc.upper).all()


def test_pool_date_for_a_known_linear_growth():
    """Concurrency = calls/10, +5 %/week: the pool of 100 is crossed on the analytic date."""
    hours = 4 * WEEK
    calls = 10 * np.rint(pattern(hours, 400.0, 0.05) / 10).astype(np.int64)[None, :]
    frame = hourly_frame([("2207", "H1")], calls, concurrency=calls // 10)
    plan = _analyzer(frame, hours).get_capacity_plan("2207", horizon_days=365)
    (series,) = plan.series
    limits = {lim.kind: lim for lim in series.limits}
    future = pattern(hours + 365 * 24, 400.0, 0.05)[hours:] / 10.0
    expected = datetime.fromisoformat(_date(hours + int(np.flatnonzero(future > 100)[0])))
    pool = limits["connection_pool"]
    assert pool.status == "reached"
    assert pool.limit == 100
    assert pool.reached_on is not None
    assert pool.earliest_on is not None
    assert abs((datetime.fromisoformat(pool.reached_on) - expected).days) <= 3
    assert pool.earliest_on <= pool.reached_on
    assert "前后超过连接池 100" in pool.message
    assert pool.reached_on in pool.message
    settle = limits["max_concurrent_calls"]  # 2207 is a settlement: 20 at once
    assert settle.status == "exceeded"
    assert settle.current_peak == float(calls.max() // 10)


def test_rate_limit_and_latency_knee():
    """A rate limit gets its date; a p95 that climbs above 5 calls/min is found as a knee."""
    hours = 4 * WEEK
    calls = counts(pattern(hours, 300.0, 0.05), 0.05, 1)[None, :]
    p95 = 200.0 + 80.0 * np.maximum(0.0, calls / 60.0 - 5.0)
    frame = hourly_frame([("1101", "H1")], calls, p95_ms=p95)
    plan = _analyzer(frame, hours, "en").get_capacity_plan(rate_limit_per_minute=10.0)
    limits = {lim.kind: lim for lim in plan.series[0].limits}
    knee = limits["latency_knee"]
    assert knee.limit is not None
    assert 4.5 <= knee.limit <= 6.0
    assert knee.status == "exceeded"
    assert "above the latency knee" in knee.message
    assert knee.unit == "calls_per_minute"
    rate = limits["rate_limit"]
    peak_now = float(calls[0, -WEEK:].max()) / 60.0
    assert rate.current_peak == pytest.approx(peak_now)
    assert rate.status == "reached"
    assert "platform rate limit" in rate.message


def test_a_source_without_concurrency_says_so():
    """Rollups that do not know the calls in flight (Prometheus): the limits are unknown."""
    hours = 3 * WEEK
    calls = counts(pattern(hours, 200.0, 0.0), 0.05, 3)[None, :]
    frame = hourly_frame([("2207", "H1")], calls, concurrency=np.full(calls.shape, -1))
    limits = _analyzer(frame, hours).get_capacity_plan().series[0].limits
    unknown = [lim for lim in limits if lim.unit == "calls_in_flight"]
    assert [lim.kind for lim in unknown] == ["max_concurrent_calls", "connection_pool"]
    assert all(lim.status == "unknown" for lim in unknown)
    assert all(lim.reached_on is None for lim in unknown)
    assert "来源未记录并发数，无法与连接池 100 比较" in unknown[1].message


def test_flat_latency_has_no_knee():
    """Latency that does not move with load: no knee, said so."""
    hours = 3 * WEEK
    frame = hourly_frame([("1101", "H1")], counts(pattern(hours, 200.0, 0.0), 0.05, 2)[None, :])
    (knee,) = [
        lim
        for lim in _analyzer(frame, hours).get_capacity_plan().series[0].limits
        if lim.kind == "latency_knee"
    ]
    assert knee.status == "not_found"
    assert knee.limit is None
    assert "未见响应时间拐点" in knee.message


@pytest.mark.parametrize(
    ("days", "status", "seasonality", "needle"),
    [
        (5, "short_history", "daily", "仅按日周期预测"),
        (1.5, "insufficient_data", "none", "数据不足"),
        (21, "ok", "weekly", None),
    ],
    ids=["five-days", "a-day-and-a-half", "three-weeks"],
)
def test_short_history_degrades(days, status, seasonality, needle):
    """Under 2 weeks: daily cycle only; under 2 days: no forecast, "数据不足"."""
    hours = int(days * 24)
    calls = counts(pattern(hours, 300.0, 0.02), 0.05, 4)[None, :]
    plan = _analyzer(hourly_frame([("2207", "H1")], calls), hours).get_capacity_plan()
    (series,) = plan.series
    data = series.to_dict()
    assert (series.status, data["seasonality"]) == (status, seasonality)
    if needle is None:
        assert series.note == ""
        assert series.accuracy is not None
    else:
        assert needle in series.note
        assert series.note in plan.messages()
    if status == "insufficient_data":
        assert series.forecast is None
        assert series.limits == ()
        assert data["daily_peaks"] == []


def _relative_width(fc: HourlyForecast) -> float:
    return float(np.mean((fc.upper - fc.lower) / np.maximum(fc.point, 1.0)))


def test_daily_only_intervals_are_wider():
    """The same last five days give wider relative bands alone than after three weeks."""
    calls = counts(pattern(4 * WEEK, 300.0, 0.0), 0.05, 5)
    short = forecast_hourly(MONDAY, calls[-5 * 24 :], 24)
    long = forecast_hourly(MONDAY, calls, 24)
    assert short.seasonality == "daily"
    assert long.seasonality == "weekly"
    assert _relative_width(short) > 1.3 * _relative_width(long)


def test_every_api_and_the_total_in_english():
    """api_code=None plans each API and all of them together, in the analyzer's language."""
    hours = 3 * WEEK
    series = [("1101", "H1"), ("1101", "H2"), ("2207", "H1")]
    calls = np.stack([counts(pattern(hours, 100.0, 0.02), 0.05, s) for s in range(3)])
    plan = _analyzer(hourly_frame(series, calls), hours, "en").get_capacity_plan(org_code="H1")
    assert isinstance(plan, CapacityPlan)
    assert [s.api_code for s in plan.series] == ["1101", "2207", None]
    assert all(s.org_code == "H1" for s in plan.series)
    assert plan.series[0].peak_calls_per_hour == float(calls[0, -WEEK:].max())
    total = plan.series[-1]
    assert [lim.kind for lim in total.limits] == ["connection_pool"]
    assert "all APIs of org H1" in total.limits[0].message
    text = json.dumps(plan.to_dict(), ensure_ascii=False, allow_nan=False)
    assert "daily_peaks" in text
    assert "按当前增长" not in text


def test_collector_ring_and_its_rollups_give_the_same_plan():
    """The plan over a collector's ring equals the plan over the same calls' rollups."""
    start = MONDAY
    hours = 3 * 24
    config = MetricConfig(
        prometheus_enabled=False, prometheus_port=None, background=False,
        system_metrics_enabled=False, retention_days=0, max_memory_metrics=50_000,
    )  # fmt: skip
    collector = MetricsCollector(config, clock=ManualClock(start + hours * 3600.0))
    for h in range(hours):
        n = int(pattern(1, 30.0, 0.0, offset=h)[0]) + 1
        for i in range(n):
            collector.record_api_call(
                "2207", "H1", "success", 200.0, timestamp=start + h * 3600 + i * 3600 / n
            )
    frame = RollupFrame.from_snapshot(collector.snapshot(), step=3600.0)
    analyzer = PerformanceAnalyzer(collector)
    ring = analyzer.get_capacity_plan()
    rolled = PerformanceAnalyzer(MemorySource(frame, now=collector.now())).get_capacity_plan()
    assert ring.to_dict() == rolled.to_dict()
    assert ring.series[0].status == "short_history"
    collector.record_api_call("1101", "H1", "success", 90.0, timestamp=collector.now() - 600)
    fresh = analyzer.get_capacity_plan()  # a new call: not the cached plan
    collector.shutdown()
    assert [s.api_code for s in fresh.series] == ["1101", "2207", None]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"horizon_days": 0}, "horizon_days"),
        ({"horizon_days": 1.5}, "horizon_days"),
        ({"history_days": -1}, "history_days"),
        ({"history_days": 1000}, "history_days"),
        ({"pool_size": 0}, "pool_size"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"level": 1.5}, "level"),
        ({"utc_offset_hours": 20}, "utc_offset_hours"),
        ({"org_code": ""}, "org_code"),
        ({"api_code": 2207}, "api_code"),
    ],
    ids=lambda v: v if isinstance(v, str) else next(iter(v)),
)
def test_bad_arguments_name_the_problem(kwargs, needle):
    """Each bad option raises ValueError naming it."""
    analyzer = _analyzer(RollupFrame.empty(), 1)
    with pytest.raises(ValueError, match=needle):
        analyzer.get_capacity_plan(**kwargs)


@pytest.mark.parametrize(
    ("counts_", "kwargs", "needle"),
    [
        ([1.0] * 47, {}, "at least 48"),
        ([-1.0] * 48, {}, ">= 0"),
        ([1.0] * 48, {"level": 1.0}, "level"),
        ([1.0] * 48, {"horizon_hours": 0}, "horizon_hours"),
    ],
    ids=["too-short", "negative", "level", "horizon"],
)
def test_forecast_arguments(counts_, kwargs, needle):
    """forecast_hourly refuses what it cannot forecast, naming why."""
    args = {"horizon_hours": 24, **kwargs}
    with pytest.raises(ValueError, match=needle):
        forecast_hourly(MONDAY, counts_, **args)


def test_no_calls_plans_nothing_and_the_default_pool_is_the_clients():
    """An empty source gives an empty plan; the default pool is the clients' pool."""
    plan = _analyzer(RollupFrame.empty(), 10).get_capacity_plan()
    assert plan.series == ()
    assert plan.messages() == []
    assert plan.pool_size == DEFAULT_POOL_SIZE == DEFAULT_LIMITS.max_connections
    assert math.isclose(plan.to_dict()["history_days"], 56.0)


def test_the_rate_limit_meets_the_minute_burst():
    """Calls bunched in 10 minutes an hour: the rate limit sees 6x the hour's mean rate."""
    hours = 3 * 24
    config = MetricConfig(
        prometheus_enabled=False, prometheus_port=None, background=False,
        system_metrics_enabled=False, retention_days=0, max_memory_metrics=50_000,
    )  # fmt: skip
    collector = MetricsCollector(config, clock=ManualClock(MONDAY + hours * 3600.0))
    for h in range(hours):
        for i in range(120):  # 2 a minute on average, 12 a minute in the first ten
            stamp = MONDAY + h * 3600 + i * 5.0
            collector.record_api_call("1101", "H1", "success", 80.0, timestamp=stamp)
    analyzer = PerformanceAnalyzer(collector)
    plan = analyzer.get_capacity_plan(rate_limit_per_minute=10.0)
    collector.shutdown()
    assert plan.minute_burst == pytest.approx(6.0)
    (rate,) = [lim for lim in plan.series[0].limits if lim.kind == "rate_limit"]
    assert rate.current_peak == pytest.approx(12.0)
    assert rate.status == "exceeded"
    assert analyzer.get_capacity_plan().minute_burst is None  # no rate limit, no burst
