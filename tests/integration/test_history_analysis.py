"""The analyzer and `misdk report` over the embedded history equal the ring's exact figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medical_insurance_sdk.cli import main
from medical_insurance_sdk.core import (
    HistorySource,
    ManualClock,
    MetricConfig,
    MetricsCollector,
    PerformanceAnalyzer,
)
from medical_insurance_sdk.core.report_source import EndingAt

T0 = 1_699_999_200.0  # an hour boundary
HOURS = 3


def _record(collector: MetricsCollector, clock: ManualClock) -> None:
    """Three hours of 2207 and 1101 at three orgs; 2207 at H1 fails half its calls for
    half an hour (an incident), and a few of its settlements end unknown."""
    rng = np.random.default_rng(3)
    for minute in range(HOURS * 60):
        bad = 60 <= minute < 90
        for k in range(12):
            org = f"H{k % 3 + 1}"
            api = "2207" if k % 2 else "1101"
            fails = bad and k == 3  # 2207 at H1: half its calls fail
            collector.record_api_call(
                api,
                org,
                "error" if fails else "success",
                float(rng.lognormal(5.5, 0.4)),
                error_code="NETWORK_ERROR" if fails else None,
                timestamp=T0 + minute * 60 + 2 + 4 * k,
            )
        if bad and minute % 10 == 0:
            clock.advance(T0 + minute * 60 + 30 - clock.wall())
            collector.record_outcome_unknown("2207", "H1")
        clock.advance(T0 + (minute + 1) * 60 - clock.wall())
        if minute % 15 == 14:
            collector.run_housekeeping()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PerformanceAnalyzer]:
    """A history file of the scenario, and an analyzer over the ring holding every call."""
    path = tmp_path_factory.mktemp("history") / "history.sqlite"
    clock = ManualClock(T0)
    config = MetricConfig(
        prometheus_port=0,
        background=False,
        system_metrics_enabled=False,
        history_path=str(path),
        max_memory_metrics=100_000,
        retention_days=0,
    )
    collector = MetricsCollector(config, clock=clock)
    _record(collector, clock)
    ring = PerformanceAnalyzer(collector, alert_window_minutes=15)
    ring.overview(HOURS * 60)  # computed while the collector is alive
    collector.shutdown()  # the final write
    return path, ring


def test_analysis_over_history_equals_the_ring(recorded):
    """Per-API counts and errors are exact and percentiles within 2 % over the history."""
    path, ring = recorded
    end = T0 + HOURS * 3600
    exact = ring.overview(HOURS * 60)
    history = PerformanceAnalyzer(EndingAt(HistorySource(path), end), alert_window_minutes=15)
    rolled = history.overview(HOURS * 60)
    assert [a.api_code for a in rolled.apis] == [a.api_code for a in exact.apis]
    for ours, theirs in zip(rolled.apis, exact.apis, strict=True):
        assert ours.basic_stats.total_calls == theirs.basic_stats.total_calls
        assert ours.basic_stats.failed_calls == theirs.basic_stats.failed_calls
        assert ours.error_analysis.error_types == theirs.error_analysis.error_types
        for q in ("median", "p90", "p95", "p99"):
            a, b = getattr(ours.response_time_stats, q), getattr(theirs.response_time_stats, q)
            assert abs(a - b) <= 0.02 * b, q
    assert sum(a.basic_stats.total_calls for a in rolled.apis) == HOURS * 60 * 12


def test_incidents_over_history_equal_the_rings(recorded):
    """The incident of the second hour is found over the history as over the ring,
    with the outcome-unknown settlements inside it (the ring has no time for those)."""
    path, ring = recorded
    end = T0 + HOURS * 3600
    history = PerformanceAnalyzer(EndingAt(HistorySource(path), end), alert_window_minutes=15)
    ours = history.get_incidents(HOURS * 60)
    theirs = ring.get_incidents(HOURS * 60)
    key = lambda i: (i.api_code, i.org_code, i.alert_type, i.start, i.end)  # noqa: E731
    assert [key(i) for i in ours] == [key(i) for i in theirs]
    assert any(i.api_code == "2207" and i.org_code == "H1" for i in ours)
    assert all(i.end is not None for i in ours)
    assert sum(i.outcome_unknown for i in ours) >= 1


def test_misdk_report_reads_the_history(recorded, tmp_path):
    """`misdk report --source history:PATH --from --to` reports every call of the window."""
    path, _ = recorded
    out = tmp_path / "report"
    code = main(
        [
            "report",
            "--source",
            f"history:{path}",
            "--from",
            str(T0),
            "--to",
            str(T0 + HOURS * 3600),
            "--format",
            "json",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    data = json.loads((out / "performance_report.json").read_text(encoding="utf-8"))
    assert data["overview"]["total_calls"] == HOURS * 60 * 12
    kinds = {i["alert_type"]: i for i in data["incidents"] if i["api_code"] == "2207"}
    incident = kinds["error_rate"]
    assert incident["org_code"] == "H1"
    assert incident["state"] == "resolved"
    assert incident["outcome_unknown"] == 3
    assert data["overview"]["active_alerts"] == []  # nothing open at the end of the window
