"""A resolved alert reads as a resolve: 已恢复 with the value at resolve time and the target."""

from __future__ import annotations

import json

import pytest
from suite_constants import NOW

from medical_insurance_sdk.cli.demo import print_alert
from medical_insurance_sdk.core import (
    MetricsCollector,
    PerformanceAlert,
    PerformanceAnalyzer,
    PerformanceThreshold,
)
from medical_insurance_sdk.core.analysis import AlertPolicy
from medical_insurance_sdk.core.runtime.clock import ManualClock

ORG = "H43010500001"


def _settlements(c: MetricsCollector, calls: int, failed: int, start: float) -> None:
    for i in range(calls):
        c.record_api_call(
            "2207",
            ORG,
            "error" if i < failed else "success",
            100.0,
            error_code="BUSINESS_ERROR" if i < failed else None,
            timestamp=start + i * 0.1,
        )


def _incident_and_recovery(
    c: MetricsCollector, clock: ManualClock, language: str
) -> tuple[PerformanceAnalyzer, list[PerformanceAlert]]:
    """2207 at 80 % success (fires), then 99.8 % over 1000 calls (resolves)."""
    analyzer = PerformanceAnalyzer(
        c, language=language, alert_policy=AlertPolicy(min_calls=20, hysteresis=0.1)
    )
    analyzer.set_threshold("2207", PerformanceThreshold("2207", 5000.0, 0.5, 0.995, 100))
    events: list[PerformanceAlert] = []
    analyzer.on_alert(events.append)
    _settlements(c, 50, 10, clock.wall() - 60)
    analyzer.evaluate_alerts(5)
    clock.advance(600)
    _settlements(c, 1000, 2, clock.wall() - 120)
    analyzer.evaluate_alerts(5)
    return analyzer, [e for e in events if e.alert_type == "success_rate"]


def test_resolved_alert_message_has_current_value_and_target(mc):
    """The resolve event says 已恢复 with the success rate now (99.8 %) and the target."""
    collector, clock = mc
    _, events = _incident_and_recovery(collector, clock, "zh")
    fired, resolved = events
    assert fired.state == "active"
    assert fired.message.startswith("接口 2207（门诊结算） 机构 H43010500001 成功率 80.0%")
    assert resolved.state == "resolved"
    assert resolved.alert_id == fired.alert_id
    assert (
        resolved.message
        == "已恢复：接口 2207（门诊结算） 机构 H43010500001 成功率 99.8%（目标 99.5%）"
    )
    assert resolved.actual_value == pytest.approx(0.998)
    assert resolved.threshold_value == 0.995


def test_resolved_alert_message_in_english(mc):
    """With language='en' the resolve text is the English one."""
    collector, clock = mc
    _, events = _incident_and_recovery(collector, clock, "en")
    assert events[-1].message == (
        "Resolved: API 2207 org H43010500001: success rate 99.8% (target 99.5%)"
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh", "已恢复：接口 2207（门诊结算） 机构 H43010500001 窗口内已无调用，成功率告警解除"),
        (
            "en",
            "Resolved: API 2207 org H43010500001: no calls in the window, the success rate "
            "alert ends",
        ),
    ],
    ids=["zh", "en"],
)
def test_alert_resolved_by_silence_says_there_were_no_calls(mc, language, expected):
    """An org without calls in the window resolves with a text that says so, not a value."""
    collector, clock = mc
    analyzer = PerformanceAnalyzer(collector, language=language)
    analyzer.set_threshold("2207", PerformanceThreshold("2207", 5000.0, 0.5, 0.995, 100))
    _settlements(collector, 50, 10, NOW - 60)
    analyzer.evaluate_alerts(5)
    clock.advance(3600)
    analyzer.evaluate_alerts(5)
    resolved = [a for a in analyzer.get_alert_history() if a["alert_type"] == "success_rate"]
    assert [a["state"] for a in resolved] == ["active", "resolved"]
    assert resolved[-1]["message"] == expected


def test_reports_and_history_show_the_resolve_text(mc, tmp_path):
    """JSON and HTML reports and the alert history carry the resolve text for the resolve."""
    collector, clock = mc
    analyzer, _ = _incident_and_recovery(collector, clock, "zh")
    history = analyzer.get_alert_history()
    resolved = [h for h in history if h["state"] == "resolved"]
    assert resolved
    assert all(h["message"].startswith("已恢复：") for h in resolved)
    assert all(not h["message"].startswith("已恢复") for h in history if h["state"] == "active")
    written = analyzer.write_report(tmp_path, formats=("json", "html"), time_range_hours=1)
    report = json.loads(written[0].read_text(encoding="utf-8"))
    texts = [a["message"] for a in report["alert_history"] if a["state"] == "resolved"]
    assert "已恢复：接口 2207（门诊结算） 机构 H43010500001 成功率 99.8%（目标 99.5%）" in texts
    html = written[1].read_text(encoding="utf-8")
    assert "已恢复：接口 2207（门诊结算） 机构 H43010500001 成功率 99.8%（目标 99.5%）" in html


def test_demo_prints_a_resolve_as_a_resolve(mc, capsys):
    """The demo's alert line for a resolve is the resolve text, without the firing text."""
    collector, clock = mc
    _, events = _incident_and_recovery(collector, clock, "zh")
    print_alert(events[-1])
    line = capsys.readouterr().err.strip()
    assert line == "=== 已恢复：接口 2207（门诊结算） 机构 H43010500001 成功率 99.8%（目标 99.5%）"
