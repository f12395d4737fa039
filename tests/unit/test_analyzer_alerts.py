"""Alerts: fire once, stay active without duplicates, escalate, resolve with hysteresis."""

from __future__ import annotations

import threading

import pytest
from suite_constants import NOW

from medical_insurance_sdk.core import (
    MetricsCollector,
    PerformanceAlert,
    PerformanceAnalyzer,
    PerformanceThreshold,
)
from medical_insurance_sdk.core.analysis import AlertManager, AlertPolicy
from medical_insurance_sdk.core.analysis.alerts import Observation


def _calls(c: MetricsCollector, n: int, ms: float, *, start: float, org: str = "H1", **kw):
    for i in range(n):
        c.record_api_call(
            "1101",
            org,
            kw.get("status", "success"),
            ms,
            timestamp=start + i,
            error_code=kw.get("error_code"),
        )


def _analyzer(c: MetricsCollector) -> PerformanceAnalyzer:
    analyzer = PerformanceAnalyzer(c, alert_policy=AlertPolicy(min_calls=20, hysteresis=0.1))
    analyzer.set_threshold("1101", PerformanceThreshold("1101", 1000.0, 0.05, 0.9, 50))
    return analyzer


def test_slow_p95_fires_once_and_stays_active(mc):
    """A p95 above the threshold fires one alert; re-analysis does not duplicate it."""
    collector, clock = mc
    _calls(collector, 30, 1500.0, start=NOW - 600)
    analyzer = _analyzer(collector)
    events: list[PerformanceAlert] = []
    analyzer.on_alert(events.append)
    first = analyzer.analyze_api_performance("1101", 15)["alerts"]
    clock.advance(10)
    second = analyzer.analyze_api_performance("1101", 15)["alerts"]
    analyzer.get_system_performance_overview(15)
    assert [a["alert_type"] for a in first] == ["response_time"]
    assert first[0]["severity"] == "warning"
    assert first[0]["state"] == "active"
    assert first[0]["threshold_value"] == 1000.0
    assert first[0]["actual_value"] == pytest.approx(1500.0)
    assert "1101" in first[0]["message"]
    assert "H1" in first[0]["message"]
    assert [a["alert_id"] for a in second] == [first[0]["alert_id"]]
    assert len(analyzer.get_active_alerts()) == 1
    assert len(analyzer.get_alert_history()) == 1
    assert [e.state for e in events] == ["active"]


def test_alert_resolves_with_hysteresis_and_calls_back(mc):
    """Inside the threshold but within the 10 % margin stays active; clearly inside resolves."""
    collector, clock = mc
    _calls(collector, 30, 1500.0, start=NOW - 600)
    analyzer = _analyzer(collector)
    events: list[PerformanceAlert] = []
    analyzer.on_alert(events.append)
    analyzer.analyze_api_performance("1101", 15)
    clock.advance(15 * 60)  # the slow calls leave the window
    _calls(collector, 30, 950.0, start=clock.wall() - 100)  # p95 950 > 900: still in the margin
    assert len(analyzer.analyze_api_performance("1101", 5)["alerts"]) == 1
    clock.advance(10 * 60)
    _calls(collector, 30, 200.0, start=clock.wall() - 100)
    assert analyzer.analyze_api_performance("1101", 5)["alerts"] == []
    assert [e.state for e in events] == ["active", "resolved"]
    assert events[1].alert_id == events[0].alert_id
    assert events[1].resolved_at == clock.wall()
    history = analyzer.get_alert_history()
    assert [h["state"] for h in history] == ["active", "resolved"]


def test_too_few_calls_neither_fire_nor_resolve(mc):
    """Three slow calls do not fire; three fast calls do not resolve an active alert."""
    collector, clock = mc
    _calls(collector, 3, 5000.0, start=NOW - 60)
    analyzer = _analyzer(collector)
    assert analyzer.analyze_api_performance("1101", 5)["alerts"] == []
    _calls(collector, 30, 1500.0, start=NOW - 50)
    assert len(analyzer.analyze_api_performance("1101", 5)["alerts"]) == 1
    clock.advance(600)
    _calls(collector, 3, 10.0, start=clock.wall() - 10)
    assert len(analyzer.analyze_api_performance("1101", 5)["alerts"]) == 1


def test_no_calls_in_window_resolves(mc):
    """An org that made no call at all in the window has its alert resolved."""
    collector, clock = mc
    _calls(collector, 30, 1500.0, start=NOW - 60)
    analyzer = _analyzer(collector)
    assert len(analyzer.analyze_api_performance("1101", 5)["alerts"]) == 1
    clock.advance(3600)
    analyzer.get_system_performance_overview(5)
    assert analyzer.get_active_alerts() == []
    assert analyzer.get_alert_history()[-1]["state"] == "resolved"


def test_warning_escalates_to_critical(mc):
    """A warning turns critical (same alert id) when the value passes twice the limit."""
    collector, _clock = mc
    _calls(collector, 30, 1500.0, start=NOW - 60)
    analyzer = _analyzer(collector)
    events: list[PerformanceAlert] = []
    analyzer.on_alert(events.append)
    first = analyzer.analyze_api_performance("1101", 5)["alerts"][0]
    _calls(collector, 200, 2500.0, start=NOW - 40)
    second = analyzer.analyze_api_performance("1101", 5)["alerts"][0]
    assert (first["severity"], second["severity"]) == ("warning", "critical")
    assert second["alert_id"] == first["alert_id"]
    assert [e.severity for e in events] == ["warning", "critical"]


def test_error_success_and_concurrency_alerts(mc):
    """Gateway errors fire error_rate and success_rate; overlapping calls fire concurrency."""
    collector, _ = mc
    for i in range(40):
        collector.record_api_call(
            "1101",
            "H2",
            "error" if i % 2 else "success",
            100.0,
            error_code="GATEWAY_AUTH_CLOCK_SKEW" if i % 2 else None,
            timestamp=NOW - 100 + i,
        )
    for _ in range(60):  # 60 calls of 10 s all ending at NOW - 5: 60 in flight
        collector.record_api_call("1101", "H3", "success", 10_000.0, timestamp=NOW - 5)
    analyzer = _analyzer(collector)
    alerts = analyzer.analyze_api_performance("1101", 5)["alerts"]
    kinds = {(a["org_code"], a["alert_type"]): a for a in alerts}
    assert kinds["H2", "error_rate"]["severity"] == "critical"  # 50 % > 2 x 5 %
    assert kinds["H2", "error_rate"]["actual_value"] == pytest.approx(0.5)
    assert kinds["H2", "success_rate"]["actual_value"] == pytest.approx(0.5)
    assert kinds["H3", "concurrency"]["actual_value"] == 60.0
    assert kinds["H3", "concurrency"]["severity"] == "warning"
    assert kinds["H3", "response_time"]["severity"] == "critical"


def test_business_errors_do_not_count_as_system_errors(mc):
    """Platform rejections lower the success rate but not the system error rate."""
    collector, _ = mc
    for i in range(40):
        collector.record_api_call(
            "1101",
            "H1",
            "error" if i % 2 else "success",
            100.0,
            error_code="BIZ_MBS_HygeiaException" if i % 2 else None,
            timestamp=NOW - 100 + i,
        )
    alerts = _analyzer(collector).analyze_api_performance("1101", 5)["alerts"]
    assert [a["alert_type"] for a in alerts] == ["success_rate"]


def test_failing_callback_is_logged_not_raised(mc, caplog):
    """A raising callback does not break evaluation; others still run."""
    collector, _ = mc
    _calls(collector, 30, 1500.0, start=NOW - 60)
    analyzer = _analyzer(collector)
    seen: list[str] = []

    def broken(alert: PerformanceAlert) -> None:
        raise RuntimeError("boom")

    analyzer.on_alert(broken)
    analyzer.on_alert(lambda a: seen.append(a.alert_id))
    analyzer.analyze_api_performance("1101", 5)
    assert len(seen) == 1
    assert analyzer.alerts.callback_errors == 1
    assert "alert callback" in caplog.text


def test_history_is_bounded():
    """The alert history keeps only the newest history_size events."""
    manager = AlertManager(history_size=5)
    for i in range(10):
        obs = Observation(
            "1101", f"H{i}", "response_time", 30, 2000.0, 1000.0, "warning", False, "m"
        )
        manager.update([obs], [], NOW + i)  # empty scope: no org is resolved
    assert len(manager.history()) == 5
    assert len(manager.active()) == 10
    with pytest.raises(ValueError, match="history_size"):
        AlertManager(history_size=0)


def test_background_evaluation_fires_and_stops(mc):
    """The background thread evaluates alerts on its own and stops on request."""
    collector, _ = mc
    _calls(collector, 30, 1500.0, start=NOW - 60)
    analyzer = PerformanceAnalyzer(collector, alert_window_minutes=5)
    analyzer.set_threshold("1101", PerformanceThreshold("1101", 1000.0, 0.05, 0.9))
    fired = threading.Event()
    analyzer.on_alert(lambda a: fired.set())
    assert not analyzer.background_evaluation_running
    analyzer.start_background_evaluation(interval=0.01)
    try:
        assert analyzer.background_evaluation_running
        assert fired.wait(5.0)
    finally:
        analyzer.stop_background_evaluation()
    assert not analyzer.background_evaluation_running
    assert [a["alert_type"] for a in analyzer.get_active_alerts()] == ["response_time"]
