"""Incidents: the alert conditions replayed from minute rollups match the live evaluation."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from medical_insurance_sdk.core import MetricsCollector, PerformanceAnalyzer
from medical_insurance_sdk.core.analysis.alerts import PerformanceAlert
from medical_insurance_sdk.core.analysis.conditions import AlertPolicy
from medical_insurance_sdk.core.analysis.incidents import Incident, find_incidents, open_alerts
from medical_insurance_sdk.core.analysis.thresholds import default_threshold
from medical_insurance_sdk.core.collection.latency_buckets import BOUNDS, bucket_index, percentiles
from medical_insurance_sdk.core.collection.rollups import MINUTE, RollupFrame, frame_from_calls
from medical_insurance_sdk.core.runtime.clock import ManualClock
from medical_insurance_sdk.core.runtime.config import MetricConfig

T0 = 1_699_999_980.0  # a minute boundary
_Span = tuple[str, str, str, float, float | None]
MINUTES = 70


def _config() -> MetricConfig:
    return MetricConfig(
        prometheus_enabled=False,
        prometheus_port=None,
        background=False,
        system_metrics_enabled=False,
        retention_days=0,
        max_memory_metrics=100_000,
    )


def _minute_calls(m: int, rng: np.random.Generator) -> Iterator[tuple[str, str, bool, float, str]]:
    """(api, org, ok, duration_ms, error_code) of minute ``m`` of the scenario."""
    for i in range(30):  # H1 on 2207: errors and slow calls in minutes 20-29
        bad = 20 <= m < 30
        fails = bad and i % 10 == 0
        slow = (bad and i % 5 == 1) or (45 <= m < 48 and i % 4 == 1)
        ms = 12_000.0 if slow else float(rng.uniform(100, 400))
        yield "2207", "H1", not fails, ms, "NETWORK_ERROR" if fails else ""
    for _ in range(5):  # H2 on 2207: healthy all along
        yield "2207", "H2", True, float(rng.uniform(100, 400)), ""
    if 20 <= m < 26:  # H3 on 1101: slow, then silent (closes without calls)
        for i in range(8):
            yield "1101", "H3", True, 4_500.0 if i % 2 else 300.0, ""
    if m >= 55:  # H4 on 2201: system errors until the end (open at the end)
        for i in range(10):
            ok = i % 3 != 0
            yield "2201", "H4", ok, 200.0, "" if ok else "TIMEOUT_READ"
    if m == 40:  # H5 on 1101: bad but too few calls to decide anything
        for _ in range(5):
            yield "1101", "H5", False, 9_000.0, "NETWORK_ERROR"


@pytest.fixture(scope="module")
def driven() -> tuple[PerformanceAnalyzer, set[_Span], set[_Span]]:
    """The scenario recorded minute by minute, alerts evaluated live at every minute."""
    rng = np.random.default_rng(7)
    clock = ManualClock(T0)
    collector = MetricsCollector(_config(), clock=clock)
    # the replay covers the threshold alerts (the baseline ones are live only)
    policy = AlertPolicy(baselines=False)
    analyzer = PerformanceAnalyzer(collector, alert_window_minutes=15, alert_policy=policy)
    every_five = PerformanceAnalyzer(collector, alert_window_minutes=15, alert_policy=policy)
    opened: dict[str, tuple[str, str, str, float]] = {}
    live: set[tuple[str, str, str, float, float | None]] = set()
    opened5: dict[str, tuple[str, str, str, float]] = {}
    live5: set[tuple[str, str, str, float, float | None]] = set()
    for m in range(MINUTES):
        calls = list(_minute_calls(m, rng))
        for k, (api, org, ok, ms, code) in enumerate(calls):
            collector.record_api_call(
                api,
                org,
                "success" if ok else "error",
                ms,
                error_code=code or None,
                timestamp=T0 + m * 60 + 1 + 50 * k / len(calls),
            )
        clock.advance(60.0)
        _follow(analyzer.evaluate_alerts(), clock.wall(), opened, live)
        if clock.wall() % 300 == 0:  # the evaluations of a 5-minute step
            _follow(every_five.evaluate_alerts(), clock.wall(), opened5, live5)
    for api, org, kind, start in opened.values():
        live.add((api, org, kind, start, None))
    for api, org, kind, start in opened5.values():
        live5.add((api, org, kind, start, None))
    return analyzer, live, live5


def _follow(
    changed: list[PerformanceAlert],
    now: float,
    opened: dict[str, tuple[str, str, str, float]],
    closed: set[tuple[str, str, str, float, float | None]],
) -> None:
    """Note the alerts that fired (by id) and those that resolved, with the time."""
    for alert in changed:
        if alert.state == "active" and alert.alert_id not in opened:
            opened[alert.alert_id] = (alert.api_code, alert.org_code, alert.alert_type, now)
        elif alert.state == "resolved":
            api, org, kind, start = opened.pop(alert.alert_id)
            closed.add((api, org, kind, start, now))


def _key(i: Incident) -> tuple[str, str, str, float, float | None]:
    return (i.api_code, i.org_code, i.alert_type, i.start, i.end)


def test_replay_opens_and_closes_at_the_live_evaluations(driven):
    """get_incidents gives the live evaluation's open and close times, to the step."""
    analyzer, live, _ = driven
    incidents = analyzer.get_incidents(MINUTES)
    assert {_key(i) for i in incidents} == live
    kinds = {(i.api_code, i.org_code, i.alert_type) for i in incidents}
    assert ("2207", "H1", "response_time") in kinds
    assert ("2207", "H1", "error_rate") in kinds
    assert ("1101", "H3", "response_time") in kinds
    assert not any(i.org_code in {"H2", "H5"} for i in incidents)


def test_replay_at_a_five_minute_step_matches_five_minute_evaluations(driven):
    """step=300 gives the open and close times of an evaluation every 5 minutes."""
    analyzer, every_minute, every_five = driven
    incidents = analyzer.get_incidents(MINUTES, step=300)
    assert {_key(i) for i in incidents} == every_five
    assert every_five != every_minute  # the step matters
    assert all(i.start % 300 == 0 for i in incidents)


def test_incident_figures_peak_severity_and_counts(driven):
    """Peak severity and value, threshold, and the calls the incident's evaluations saw."""
    analyzer, _, _ = driven
    by_key: dict[tuple[str, str, str], Incident] = {}
    for i in analyzer.get_incidents(MINUTES):  # the first incident of each kind
        by_key.setdefault((i.api_code, i.org_code, i.alert_type), i)
    err = by_key[("2207", "H1", "error_rate")]
    assert err.severity == "critical"
    assert err.peak_value == pytest.approx(30 / 450)  # 10 bad minutes of 15 in the window
    assert err.threshold == default_threshold("2207").max_error_rate
    assert err.start == T0 + 21 * 60
    # calls of H1 on 2207 in [start - 15 min, end): 30 a minute
    assert err.end is not None
    assert err.calls == 30 * round((err.end - (err.start - 900)) / 60)
    assert err.failures == err.system_errors == 30  # 3 a minute over the 10 bad minutes
    slow = by_key[("2207", "H1", "response_time")]
    assert slow.severity == "critical"
    assert slow.peak_value == pytest.approx(12_000.0, rel=0.02)
    success = by_key[("2207", "H1", "success_rate")]
    assert success.peak_value == pytest.approx(1 - 30 / 450)
    assert success.threshold == default_threshold("2207").min_success_rate


def test_open_at_the_end_is_active_and_closed_ones_are_not(driven):
    """An incident still open at the window's end has end None and is the only active alert."""
    analyzer, _, _ = driven
    incidents = analyzer.get_incidents(MINUTES)
    still_open = [i for i in incidents if i.is_open]
    assert {(i.api_code, i.org_code) for i in still_open} == {("2201", "H4")}
    alerts = open_alerts(incidents, T0 + MINUTES * 60)
    assert {a.state for a in alerts} == {"active"}
    assert {a.api_code for a in alerts} == {"2201"}
    d = still_open[0].to_dict()
    assert d["end"] is None
    assert d["state"] == "active"
    assert d["start"].endswith("+00:00")


def test_shorter_window_starts_clean(driven):
    """Only evaluations inside the window count: a window after the incidents finds none."""
    analyzer, _, _ = driven
    assert [i for i in analyzer.get_incidents(10) if i.api_code == "2207"] == []


def _frame(times: list[float], ms: float, ok: bool = True) -> RollupFrame:
    n = len(times)
    return frame_from_calls(
        timestamp=np.array(times),
        duration=np.full(n, ms / 1000.0),
        api=np.zeros(n, np.int32),
        org=np.zeros(n, np.int32),
        error=np.full(n, -1 if ok else 0, np.int32),
        success=np.full(n, ok),
        request_size=np.zeros(n, np.uint32),
        response_size=np.zeros(n, np.uint32),
        api_codes=("1101",),
        org_codes=("H1",),
        error_codes=("NETWORK_ERROR",),
    )


def test_hysteresis_keeps_an_incident_open_between_margin_and_limit():
    """A p95 between limit·(1-h) and the limit neither fires nor resolves."""

    def minute(m: int, ms: float) -> RollupFrame:
        return _frame([T0 + m * 60 + 5 + i for i in range(40)], ms)

    slow = [minute(0, 2_500.0)]  # above 2 000 ms
    between = [minute(m, 1_900.0) for m in range(1, 10)]  # inside the margin (1 800-2 000)
    frame = RollupFrame.concat([*slow, *between, minute(10, 1_000.0)]).merge()
    found = find_incidents(frame, T0, T0 + 1200, default_threshold, AlertPolicy(), 1.0)
    (incident,) = found
    assert incident.start == T0 + 60
    assert incident.end == T0 + 660  # the minute of healthy calls, not the minutes between


def test_bad_arguments_raise_value_error():
    """A step that is no multiple of a minute, a reversed window or a bad window length."""
    frame = _frame([T0 + 5], 100.0)
    with pytest.raises(ValueError, match="step"):
        find_incidents(frame, T0, T0 + 600, default_threshold, AlertPolicy(), 15, step=30)
    with pytest.raises(ValueError, match="window"):
        find_incidents(frame, T0 + 600, T0, default_threshold, AlertPolicy(), 15)
    with pytest.raises(ValueError, match="alert_window_minutes"):
        find_incidents(frame, T0, T0 + 600, default_threshold, AlertPolicy(), 0)
    assert (
        find_incidents(RollupFrame.empty(), T0, T0 + 600, default_threshold, AlertPolicy(), 15)
        == []
    )
    assert MINUTE == 60.0


@pytest.mark.parametrize("where", [0.0001, 0.9999])
def test_p95_in_the_limits_bucket_is_read_from_the_histogram(where):
    """When the p95 shares the limit's bucket, the histogram's p95 decides (2 % error)."""
    limit = default_threshold("1101").max_response_time_ms / 1000.0
    i = int(bucket_index(np.array([limit]))[0])
    lo, hi = BOUNDS[i - 1], BOUNDS[i]
    slow = lo + (hi - lo) * where
    times = [T0 + 5 + k for k in range(40)]
    ms = [100.0] * 36 + [slow * 1000.0] * 4
    frame = frame_from_calls(
        timestamp=np.array(times),
        duration=np.array(ms) / 1000.0,
        api=np.zeros(40, np.int32),
        org=np.zeros(40, np.int32),
        error=np.full(40, -1, np.int32),
        success=np.ones(40, np.bool_),
        request_size=np.zeros(40, np.uint32),
        response_size=np.zeros(40, np.uint32),
        api_codes=("1101",),
        org_codes=("H1",),
        error_codes=(),
    )
    totals = frame.totals(np.zeros(len(frame), np.int64), 1)
    p95 = percentiles(totals.histogram, BOUNDS, (95.0,), totals.latency_min, totals.latency_max)
    expected = bool(p95[0, 0] > limit)
    found = find_incidents(frame, T0, T0 + 120, default_threshold, AlertPolicy(), 1.0)
    assert [i.alert_type for i in found] == (["response_time"] if expected else [])
    if expected:
        assert found[0].peak_value == pytest.approx(p95[0, 0] * 1000.0)


def test_a_source_of_the_same_rollups_replays_the_same_incidents(driven):
    """PerformanceAnalyzer over a MemorySource of the ring's rollups finds the same incidents."""
    from medical_insurance_sdk.core import MemorySource

    analyzer, live, _ = driven
    collector = analyzer.collector
    frame = RollupFrame.from_snapshot(collector.snapshot())
    over_source = PerformanceAnalyzer(
        MemorySource(frame, now=collector.now()), alert_window_minutes=15
    )
    assert {_key(i) for i in over_source.get_incidents(MINUTES)} == live
