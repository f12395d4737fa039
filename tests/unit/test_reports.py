"""Reports: JSON, CSV (BOM, Chinese headers) and self-contained HTML, parsed back."""

from __future__ import annotations

import csv
import io
import json
import re
import sys

import pytest
from suite_constants import NOW

from medical_insurance_sdk.core import (
    MetricsCollector,
    PerformanceAnalyzer,
    PerformanceThreshold,
)

CERTNO = "110101199003074518"


@pytest.fixture
def analyzer(clocked: MetricsCollector) -> PerformanceAnalyzer:
    """An analyzer over known calls of 1101 and 2207, one carrying personal data."""
    c = clocked
    for i in range(40):
        c.record_api_call("1101", "H1", "success", 100.0 + i, timestamp=NOW - 3000 + i * 60)
    for i in range(30):
        failed = i >= 20  # the last ten: an incident still going when the calls stop
        c.record_api_call(
            "2207",
            "H2",
            "error" if failed else "success",
            6000.0 if failed else 200.0,
            error_code="GATEWAY_AUTH_CLOCK_SKEW" if failed else None,
            error_message=f"姓名：张三 证件号 {CERTNO} 结算失败" if failed else None,
            timestamp=NOW - 1800 + i * 30,
        )
    a = PerformanceAnalyzer(c)
    a.set_threshold("2207", PerformanceThreshold("2207", 3000.0, 0.005, 0.995, 20))
    return a


def test_json_report_is_the_full_structure(analyzer):
    """The JSON report loads and holds every API's full analysis and the alerts."""
    report = json.loads(analyzer.export_performance_report(24, "json"))
    overview = report["overview"]
    assert report["time_range_hours"] == 24.0
    assert overview["total_calls"] == 70
    assert sorted(overview["apis"]) == ["1101", "2207"]
    api = overview["apis"]["2207"]
    assert api["basic_stats"]["failed_calls"] == 10
    assert api["error_analysis"]["error_types"] == {"GATEWAY_AUTH_CLOCK_SKEW": 10}
    assert api["performance_score"]["grade"] == "F"
    # the failures' incidents closed at 22:03, before the window's end (22:13:20): none active
    assert overview["active_alerts"] == []
    incidents = {i["alert_type"]: i for i in report["incidents"]}
    assert sorted(incidents) == ["error_rate", "response_time", "success_rate"]
    # the third failure (21:54:20) is the first evidence: 3 of 23 calls against 0.5 %
    assert incidents["error_rate"]["start"] == "2023-11-14T21:55:00+00:00"
    # the last call (21:57:50) left the 15-minute window
    assert incidents["error_rate"]["end"] == "2023-11-14T22:13:00+00:00"
    assert incidents["error_rate"]["severity"] == "critical"
    assert incidents["error_rate"]["system_errors"] == 10
    assert report["alert_history"] == []  # a report evaluates no live alert
    assert overview["time_series_analysis"]["interval_minutes"] == 30


def test_csv_report_has_bom_chinese_headers_and_one_row_per_api(analyzer, tmp_path):
    """The CSV file opens in Excel: UTF-8 BOM, Chinese headers, figures per API, incidents."""
    (path,) = analyzer.write_report(tmp_path, formats=("csv",))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [
        "接口编号",
        "接口名称",
        "调用次数",
        "成功率",
        "P50(ms)",
        "P95(ms)",
        "P99(ms)",
        "性能评分",
        "等级",
        "活动告警",
    ]
    blank = rows.index([])
    body = {r[0]: r for r in rows[1:blank]}
    assert blank == 3
    assert body["1101"][1:4] == ["人员信息获取", "40", "100.00%"]
    assert body["1101"][4] == "119.5"  # median of 100..139
    assert body["1101"][7:9] == ["100.0", "A"]
    assert body["2207"][1:4] == ["门诊结算", "30", "66.67%"]
    assert body["2207"][9] == "0"  # no incident open at the end of the window
    assert rows[blank + 1][:3] == ["开始时间(UTC)", "结束时间(UTC)", "告警类型"]
    end = rows.index([], blank + 1)  # the capacity plan's table follows
    incidents = rows[blank + 2 : end]
    assert rows[end + 1][:3] == ["接口编号", "机构编号", "状态"]
    assert sorted(r[2] for r in incidents) == ["error_rate", "response_time", "success_rate"]
    assert {(r[0], r[1], r[3], r[4]) for r in incidents} == {
        # the p95 is above 3 s from the second slow call; the ratios need three failures
        ("2023-11-14T21:54:00+00:00", "2023-11-14T22:13:00+00:00", "2207", "H2"),
        ("2023-11-14T21:55:00+00:00", "2023-11-14T22:13:00+00:00", "2207", "H2"),
    }


def test_html_report_is_self_contained(analyzer):
    """The HTML has charts as inline SVG, the tables and alerts, and no network URL."""
    html = analyzer.export_performance_report(24, "html")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") == 2
    assert "各接口评分" in html
    assert "活动告警" in html
    assert "故障时间线" in html
    assert "2023-11-14T22:13:00+00:00" in html  # an incident's end
    assert "优化建议" in html
    assert "门诊结算" in html
    assert re.search(r"https?:", html) is None
    assert "src=" not in html
    assert "<link" not in html


def test_html_without_matplotlib_still_renders_tables(analyzer, monkeypatch):
    """Without the reports extra the HTML has the tables and a note instead of charts."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    html = analyzer.export_performance_report(24, "html")
    assert "<svg" not in html
    assert "未安装 matplotlib" in html
    assert "各接口评分" in html


def test_reports_never_contain_personal_data(analyzer, tmp_path):
    """Masked or not, stored error messages never reach any report."""
    for path in analyzer.write_report(tmp_path / "out"):
        text = path.read_text(encoding="utf-8-sig")
        assert CERTNO not in text
        assert "张三" not in text
        assert "结算失败" not in text


def test_write_report_paths_and_formats(analyzer, tmp_path):
    """A directory gets performance_report.*; a file path keeps its stem; bad formats fail."""
    paths = analyzer.write_report(tmp_path / "dir")
    assert [p.name for p in paths] == [
        "performance_report.json",
        "performance_report.csv",
        "performance_report.html",
    ]
    assert all(p.stat().st_size > 0 for p in paths)
    (single,) = analyzer.write_report(tmp_path / "weekly.json", formats=["json"])
    assert single == tmp_path / "weekly.json"
    assert json.loads(single.read_text(encoding="utf-8"))["overview"]["total_calls"] == 70
    with pytest.raises(ValueError, match="formats"):
        analyzer.write_report(tmp_path, formats=("pdf",))


def test_unknown_export_format_raises(analyzer):
    """export_performance_report accepts json, csv and html only."""
    with pytest.raises(ValueError, match="format"):
        analyzer.export_performance_report(24, "xml")


def test_english_report_headers(analyzer):
    """language='en' switches the CSV headers and report text."""
    english = PerformanceAnalyzer(analyzer.collector, language="en")
    header = english.export_performance_report(24, "csv").splitlines()[0]
    assert header.startswith("api_code,name,calls,success_rate")
    assert "Score per API" in english.export_performance_report(24, "html")


def test_report_active_alerts_are_incidents_open_at_the_end(clocked, tmp_path):
    """Failures in the last minutes: the report shows them active; no live alert fires."""
    c = clocked
    for i in range(40):
        failed = i >= 20
        c.record_api_call(
            "1101",
            "H9",
            "error" if failed else "success",
            150.0,
            error_code="NETWORK_ERROR" if failed else None,
            timestamp=NOW - 590 + i * 14,
        )
    analyzer = PerformanceAnalyzer(c, language="en")
    fired: list[object] = []
    analyzer.on_alert(fired.append)
    report = json.loads(analyzer.export_performance_report(1, "json"))
    active = report["overview"]["active_alerts"]
    assert sorted(a["alert_type"] for a in active) == ["error_rate", "success_rate"]
    assert {a["state"] for a in active} == {"active"}
    assert all(i["end"] is None for i in report["incidents"])
    assert report["overview"]["apis"]["1101"]["alerts"]
    assert report["overview"]["alert_summary"]["active"] == 2
    assert fired == []
    assert analyzer.get_alert_history() == []
