"""Recommendations: concrete, data-derived, zh-CN by default, English on request."""

from __future__ import annotations

from suite_constants import NOW

from medical_insurance_sdk.core import MetricsCollector, PerformanceAnalyzer


def _mix(c: MetricsCollector, api: str, org: str, ok: int, failed: int, code: str, ms=100.0):
    for i in range(ok + failed):
        bad = i < failed
        c.record_api_call(
            api,
            org,
            "error" if bad else "success",
            ms,
            error_code=code if bad else None,
            timestamp=NOW - 500 + i * 0.1,
        )


def test_clock_skew_points_to_ntp_and_names_the_org(clocked):
    """Gateway clock-skew errors concentrated in one org: code, share, org and NTP."""
    _mix(clocked, "2207", "H43010500001", 60, 40, "GATEWAY_AUTH_CLOCK_SKEW")
    _mix(clocked, "2207", "H43010500002", 100, 0, "")
    recs = PerformanceAnalyzer(clocked).analyze_api_performance("2207", 60)["recommendations"]
    errors = [r for r in recs if r["kind"] == "errors"]
    assert len(errors) == 1
    text = errors[0]["message"]
    assert "接口 2207（门诊结算）" in text
    assert "GATEWAY_AUTH_CLOCK_SKEW 占 100.0%" in text
    assert "集中在机构 H43010500001" in text
    assert "NTP" in text
    assert errors[0]["org_code"] == "H43010500001"


def test_english_recommendations(clocked):
    """language='en' gives the same facts in English."""
    _mix(clocked, "2207", "H1", 60, 40, "GATEWAY_AUTH_CLOCK_SKEW")
    recs = PerformanceAnalyzer(clocked, language="en").analyze_api_performance("2207", 60)
    text = recs["recommendations"][0]["message"]
    assert text.startswith("API 2207: success rate 60.0% (target 99.5%), 40 failed calls")
    assert "dominated by GATEWAY_AUTH_CLOCK_SKEW (100.0%); all from org H1" in text
    assert "NTP" in text


def test_read_timeout_on_settlement_says_never_resend(clocked):
    """Read timeouts on a W$ API recommend 2601 reversal / reconciliation, not a retry."""
    _mix(clocked, "2207", "H1", 90, 10, "TIMEOUT_READ")
    text = PerformanceAnalyzer(clocked).analyze_api_performance("2207", 60)["recommendations"][0]
    assert "切勿重发" in text["message"]
    assert "2601" in text["message"]


def test_healthy_api_gets_no_recommendation(clocked):
    """Nothing to say gives an empty list, not generic filler."""
    _mix(clocked, "1101", "H1", 200, 0, "")
    analysis = PerformanceAnalyzer(clocked).analyze_api_performance("1101", 60)
    assert analysis["recommendations"] == []
    assert analysis["performance_score"]["recommendations"] == []


def test_tail_versus_median_latency(clocked):
    """A slow tail with a fast median says tail; a slow median says everything is slow."""
    for i in range(100):
        ms = 5000.0 if i % 10 == 0 else 100.0
        clocked.record_api_call("1101", "H1", "success", ms, timestamp=NOW - 300 + i)
        clocked.record_api_call("5201", "H1", "success", 4000.0, timestamp=NOW - 300 + i)
    analyzer = PerformanceAnalyzer(clocked)
    tail = analyzer.analyze_api_performance("1101", 60)["recommendations"]
    slow = analyzer.analyze_api_performance("5201", 60)["recommendations"]
    assert [r["kind"] for r in tail] == ["latency"]
    assert "长尾延迟" in tail[0]["message"]
    assert "中位数 100 ms" in tail[0]["message"]
    assert [r["kind"] for r in slow] == ["latency"]
    assert "中位响应时间 4000 ms 已超过阈值 2000 ms" in slow[0]["message"]
