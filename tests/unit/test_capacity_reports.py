"""The capacity plan in the JSON, CSV and HTML reports and in `misdk report`."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import numpy as np
import pytest

from bench.capacity_history import MONDAY, counts, hourly_frame, pattern
from medical_insurance_sdk.cli import main
from medical_insurance_sdk.core import MemorySource, PerformanceAnalyzer, SourceError
from medical_insurance_sdk.core.history import HistoryWriter

HOURS = 3 * 168
SERIES = [("1101", "H1"), ("2207", "H1"), ("2207", "H2")]
TITLES = {"zh": ("容量规划", "预计到达日期"), "en": ("Capacity planning", "reached_on")}


@pytest.fixture(params=["zh", "en"])
def analyzer(request):
    calls = np.stack([counts(pattern(HOURS, 200.0, 0.05), 0.05, s) for s in range(3)])
    frame = hourly_frame(SERIES, calls, concurrency=calls // 20)
    return PerformanceAnalyzer(
        MemorySource(frame, now=MONDAY + HOURS * 3600.0), language=request.param
    )


def test_json_report_carries_the_plan(analyzer):
    """The JSON report has the plan of each API and of all of them, without daily rows."""
    report = json.loads(analyzer.export_performance_report(24, "json"))
    plan = report["capacity"]
    assert [s["api_code"] for s in plan["series"]] == ["1101", "2207", None]
    assert all("daily_peaks" not in s for s in plan["series"])
    assert plan["messages"] == analyzer.get_capacity_plan().messages()
    kinds = {lim["kind"] for lim in plan["series"][1]["limits"]}
    assert kinds == {"max_concurrent_calls", "connection_pool", "latency_knee"}


def test_csv_report_has_the_capacity_table(analyzer):
    """After the other tables, the CSV has one row per limit with its dates and sentence."""
    rows = list(csv.reader(io.StringIO(analyzer.export_performance_report(24, "csv"))))
    heads = [i for i, row in enumerate(rows) if row[:1] in (["接口编号"], ["api_code"])]
    table = rows[heads[-1] + 1 :]
    assert rows[heads[-1]][-3] == TITLES[analyzer.language][1]
    assert len(table) == 3 + 3 + 1  # 1101 and 2207: threshold, pool, knee; all: pool
    by_kind = {(r[0], r[6]): r for r in table}
    settle = by_kind[("2207", "max_concurrent_calls")]
    assert settle[7] == "20.0"
    assert settle[10] in ("exceeded", "reached", "ok")
    assert settle[-1] == next(
        lim.message
        for s in analyzer.get_capacity_plan().series
        if s.api_code == "2207"
        for lim in s.limits
        if lim.kind == "max_concurrent_calls"
    )


def test_html_report_has_the_capacity_section(analyzer):
    """The HTML report has the section's title, its sentences and its table."""
    html = analyzer.export_performance_report(24, "html")
    title, column = TITLES[analyzer.language]
    assert f"<h2>{title}</h2>" in html
    assert column in html
    first = analyzer.get_capacity_plan().messages()[0]
    assert first.split("（")[0].split(" (")[0] in html


def test_misdk_report_prints_the_plan(tmp_path, capsys):
    """`misdk report` on a 4-day log writes the section and prints the plan's sentences."""
    rows = [
        {
            "api_code": "2207",
            "org_code": "H1",
            "status": "success",
            "duration_ms": 300,
            "timestamp": MONDAY + h * 3600 + i * 600,
        }
        for h in range(4 * 24)
        for i in range(1 + (3 if 8 <= h % 24 < 18 else 0))
    ]
    log = tmp_path / "calls.jsonl"
    log.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = tmp_path / "reports"
    assert main(["report", str(log), "--out", str(out), "--format", "json"]) == 0
    printed = capsys.readouterr().out
    assert "容量规划（未来 90 天）：" in printed
    assert "接口 2207（门诊结算）历史仅 4.0 天（不足 2 周）：仅按日周期预测" in printed
    assert "最大并发阈值 20" in printed
    report = json.loads((out / "performance_report.json").read_text(encoding="utf-8"))
    assert report["capacity"]["series"][0]["status"] == "short_history"


class _ShortMemory:
    """A source that answers the last day only, and fails for longer windows."""

    def __init__(self, source: MemorySource) -> None:
        self.source = source

    @property
    def name(self) -> str:
        return "short-memory"

    def now(self) -> float:
        return self.source.now()

    def rollups(self, since, until, *, api_code=None, fine=False):
        if until - since > 2 * 86400:
            raise SourceError(self.name, "too many series for this window")
        return self.source.rollups(since, until, api_code=api_code, fine=fine)


def test_a_source_failing_for_the_long_history_still_gives_a_report(analyzer, caplog):
    """The plan's longer read failing leaves the section out (logged); the report is written."""
    failing = PerformanceAnalyzer(_ShortMemory(analyzer.source), language=analyzer.language)
    with pytest.raises(SourceError, match="too many series"):
        failing.get_capacity_plan()
    report = json.loads(failing.export_performance_report(24, "json"))
    assert "capacity" not in report
    assert report["overview"]["total_calls"] > 0
    assert "capacity plan left out of the report" in caplog.text


def test_the_plan_is_cached_like_the_other_results(analyzer):
    """Asked twice in the same second the plan is computed once (the report, then the CLI)."""
    first = analyzer.get_capacity_plan()
    hits = analyzer.cache_info().hits
    assert analyzer.get_capacity_plan() is first
    assert analyzer.cache_info().hits == hits + 1
    assert analyzer.get_capacity_plan(horizon_days=30) is not first


def test_misdk_report_from_a_history_file_prints_the_plan(tmp_path, capsys):
    """`misdk report --source history:PATH` plans from three weeks of the embedded history."""
    calls = counts(pattern(HOURS, 200.0, 0.05), 0.05, 9)[None, :]
    hourly = hourly_frame([("2207", "H1")], calls, concurrency=calls // 20)
    path = tmp_path / "history.sqlite"
    end = MONDAY + HOURS * 3600.0
    writer = HistoryWriter(path, minute_days=30, clock=lambda: end)
    writer.write(replace(hourly, step=np.full(len(hourly), 60.0)))  # a minute row per hour
    writer.close()
    out = tmp_path / "reports"
    command = ["report", "--source", f"history:{path}", "--now", str(end), "--lang", "en"]
    assert main([*command, "--out", str(out), "--format", "json"]) == 0
    printed = capsys.readouterr().out
    assert "Capacity plan (next 90 days):" in printed
    assert "API 2207: peak concurrency" in printed
    report = json.loads((out / "performance_report.json").read_text(encoding="utf-8"))
    (series,) = report["capacity"]["series"]
    assert series["status"] == "ok"
    assert series["peak_calls_per_hour"] == float(calls[0, -168:].max())
