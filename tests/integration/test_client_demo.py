"""``misdk demo`` drives the real clients against the in-process simulator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from medical_insurance_sdk.cli.demo import HISTORY_FILE, run_demo
from medical_insurance_sdk.core import HistorySource

pytestmark = pytest.mark.integration


def test_demo_runs_the_real_client_and_stages_the_incident(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A short demo serves real traffic, stages the 2207 incident and writes all reports."""
    assert run_demo(4.0, 0, tmp_path, seed=3, workers=3, speed=0.1) == 0
    captured = capsys.readouterr()
    assert "故障演练：2207 门诊结算 延迟×5" in captured.err
    assert "2207 门诊结算恢复正常" in captured.err
    for name in ("9001 签到", "1101 人员信息获取", "2201 门诊挂号", "2207 门诊结算", "合计"):
        assert name in captured.out
    match = re.search(r"平台共收到 (\d+) 个请求", captured.out)
    assert match is not None
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    total = report["api_statistics"]["total_calls"]
    assert 0 < total <= int(match.group(1))
    assert {"9001", "1101", "2201", "2203", "2204", "2206", "2207"} <= set(
        report["api_statistics"]["api_breakdown"]
    )
    for name in ("report.csv", "performance_report.json", "performance_report.html"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "report.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    # the demo keeps its history: every call the collector saw is in the file
    summary = HistorySource(tmp_path / HISTORY_FILE).describe()
    assert summary.calls == total
    assert len(summary.writers) == 1
    assert re.findall(r"\d{17}[\dX]", captured.out + captured.err) == []
