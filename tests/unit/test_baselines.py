"""Baselines: level, spread, days and hour of the week learned from synthetic rollups."""

from __future__ import annotations

import numpy as np
import pytest

from medical_insurance_sdk.core import (
    Baseline,
    MemorySource,
    MetricConfig,
    MetricsCollector,
    PerformanceAnalyzer,
)
from medical_insurance_sdk.core.analysis.baselines import hour_of_week
from medical_insurance_sdk.core.collection.rollups import frame_from_calls
from medical_insurance_sdk.core.runtime.clock import ManualClock

#: Tuesday 2026-03-03 10:30 China Standard Time (02:30 UTC).
NOW = 1_772_505_000.0
DAY = 86400.0
HOUR_START = NOW - 1800.0  # 10:00 CST


def _history(days: int, factors: tuple[float, ...] = (0.9, 1.0, 1.1)) -> MemorySource:
    """``days`` earlier days, 60 calls between 10:00 and 11:00 each (one a minute).

    Day ``d``'s calls all take ``200 ms * factors[d % 3]``; every 20th is refused by the
    platform, every 30th a network error.
    """
    ts, dur, err, ok = [], [], [], []
    for d in range(1, days + 1):
        f = factors[d % len(factors)]
        for i in range(60):
            ts.append(HOUR_START - d * DAY + 60.0 * i + 30.0)
            dur.append(0.2 * f)
            code = 0 if i % 20 == 0 else (1 if i % 30 == 1 else -1)
            err.append(code)
            ok.append(code < 0)
    n = len(ts)
    frame = frame_from_calls(
        timestamp=np.array(ts),
        duration=np.array(dur),
        api=np.zeros(n, dtype=np.int32),
        org=np.zeros(n, dtype=np.int32),
        error=np.array(err, dtype=np.int32),
        success=np.array(ok),
        request_size=np.zeros(n, dtype=np.int64),
        response_size=np.zeros(n, dtype=np.int64),
        api_codes=("2207",),
        org_codes=("H1",),
        error_codes=("BIZ_1001", "NETWORK_RESET"),
    )
    return MemorySource(frame, now=NOW)


def test_hour_of_week_is_china_standard_time():
    """Monday 00:00 CST is hour 0; the test's Tuesday 10:30 CST is 24 + 10."""
    assert hour_of_week(NOW) == 34
    monday = NOW - DAY - 10.5 * 3600
    assert hour_of_week(monday) == 0
    assert hour_of_week(monday - 1) == 167


def test_three_weeks_give_an_hour_of_week_baseline_with_known_level_and_spread():
    """21 days: the 3 earlier Tuesdays at 10h; medians and MAD of their samples."""
    analyzer = PerformanceAnalyzer(_history(21))
    b = analyzer.get_baseline("2207", "H1")
    assert isinstance(b, Baseline)
    assert (b.kind, b.days, b.hour_of_week) == ("hour_of_week", 3, 34)
    # days 7, 14, 21 (factors 1.1, 0.9, 1.0): median 200 ms, MAD 20 ms
    assert b.p50_ms == pytest.approx(200.0, rel=0.02)
    assert b.p95_ms == pytest.approx(200.0, rel=0.02)
    # each sample's p50 is read within 2 % (4 ms of 200): the MAD of 20 ms within 8
    assert b.p50_spread_ms == pytest.approx(1.4826 * 20.0, abs=1.4826 * 8.0)
    assert b.calls_per_minute == pytest.approx(1.0)
    assert b.refusal_ratio == pytest.approx(3 / 60)
    assert b.system_error_ratio == pytest.approx(2 / 60)
    assert b.calls == 180
    assert b.to_dict()["kind"] == "hour_of_week"
    whole = analyzer.get_baseline("2207")  # every org of the API
    assert whole is not None
    assert whole.org_code is None
    assert whole.calls == 180


def test_a_few_days_give_an_hour_of_day_baseline():
    """Three earlier days, none a Tuesday: the same hour on each of them."""
    b = PerformanceAnalyzer(_history(3)).get_baseline("2207", "H1")
    assert b is not None
    assert (b.kind, b.days) == ("hour_of_day", 3)
    assert b.p50_ms == pytest.approx(200.0, rel=0.02)  # 1.1, 0.9 and 1.0 of 200 ms


def _steady(minutes: int, per_minute: int = 30) -> MetricsCollector:
    clock = ManualClock(NOW)
    collector = MetricsCollector(
        MetricConfig(prometheus_enabled=False, background=False), clock=clock
    )
    rng = np.random.default_rng(11)
    for k in range(minutes * per_minute):
        collector.record_api_call(
            "2207",
            "H1",
            "success",
            float(rng.lognormal(np.log(220.0), 0.6)),
            timestamp=NOW - minutes * 60.0 + k * 60.0 / per_minute + 0.5,
        )
    return collector


def test_thirty_minutes_of_traffic_give_a_recent_baseline():
    """Without history, 30 minutes of steady calls: the recent baseline, no days."""
    collector = _steady(30)
    b = PerformanceAnalyzer(collector).get_baseline("2207", "H1")
    assert b is not None
    assert (b.kind, b.days) == ("recent", 0)
    assert b.samples == 5  # 25 minutes (the last 5 excluded) in 5-minute samples
    assert b.calls_per_minute == pytest.approx(30.0, rel=0.05)
    assert b.p50_ms == pytest.approx(220.0, rel=0.1)
    assert b.p95_ms == pytest.approx(220.0 * np.exp(1.645 * 0.6), rel=0.15)
    collector.shutdown()


def test_too_little_traffic_has_no_baseline_yet():
    """Ten minutes of calls are not enough for a baseline."""
    collector = _steady(10)
    analyzer = PerformanceAnalyzer(collector)
    assert analyzer.get_baseline("2207", "H1") is None
    assert analyzer.get_baseline("9999") is None
    collector.shutdown()


@pytest.mark.parametrize(("api", "org"), [("", None), ("2207", ""), (7, None)])
def test_get_baseline_rejects_bad_arguments(api, org):
    """An empty or non-str code is a ValueError."""
    with pytest.raises(ValueError, match="must be"):
        PerformanceAnalyzer(_history(1)).get_baseline(api, org)
