"""CSV reports neutralise formula-like cells (OWASP CSV injection); plain numbers stay numbers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from medical_insurance_sdk.cli import main
from medical_insurance_sdk.cli.demo import stats_csv as demo_csv
from medical_insurance_sdk.core import MetricConfig, MetricsCollector, PerformanceAnalyzer
from medical_insurance_sdk.core.analysis.reports.csv_report import csv_safe, csv_safe_row
from medical_insurance_sdk.core.runtime.clock import ManualClock

NOW = 1_700_000_000.0
#: API codes a caller may record; each one starts a spreadsheet formula when left as it is.
HOSTILE = (
    '=HYPERLINK("http://x.example")',
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.5", "-12.5"),
        ("+3", "+3"),
        ("-1e-3", "-1e-3"),
        ("-0.5%", "-0.5%"),
        ("-", "'-"),
        ("2207", "2207"),
        ("门诊结算", "门诊结算"),
        ("", ""),
    ],
    ids=[
        "equals",
        "plus",
        "minus-formula",
        "at",
        "tab",
        "carriage-return",
        "negative-number",
        "signed-number",
        "exponent",
        "negative-percent",
        "lone-minus",
        "code",
        "chinese",
        "empty",
    ],
)
def test_csv_safe_prefixes_formulas_and_keeps_numbers(cell: str, expected: str) -> None:
    """Formula-like text gets a leading quote; plain (negative) numbers are kept."""
    assert csv_safe(cell) == expected


def test_csv_safe_row_leaves_non_text_cells() -> None:
    """Numbers written as numbers pass through a row unchanged."""
    assert csv_safe_row(["=1", -3, -2.5, None]) == ["'=1", -3, -2.5, None]


def _collector(codes: tuple[str, ...]) -> MetricsCollector:
    c = MetricsCollector(MetricConfig(prometheus_port=0, background=False), clock=ManualClock(NOW))
    for code in codes:
        c.record_api_call(
            code,
            '=HYPERLINK("http://evil.example","org")',
            "error",
            12.0,
            error_code="=cmd|' /C calc'!A0",
            error_message='=HYPERLINK("http://evil.example","msg")',
            timestamp=NOW - 60,
        )
    return c


def _library_csv(tmp_path: Path) -> str:
    c = _collector(HOSTILE)
    try:
        (path,) = PerformanceAnalyzer(c).write_report(tmp_path, formats=("csv",))
    finally:
        c.shutdown()
    return path.read_text(encoding="utf-8-sig")


def _cli_report_csv(tmp_path: Path) -> str:
    log = tmp_path / "calls.jsonl"
    rows = [
        {
            "api_code": code,
            "org_code": "@org",
            "status": "error",
            "duration_ms": 12,
            "timestamp": NOW - 60,
            "error_code": "=cmd|' /C calc'!A0",
            "error_message": "+HYPERLINK(1)",
        }
        for code in HOSTILE
    ]
    log.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["report", str(log), "--out", str(out), "--format", "csv"]) == 0
    return (out / "performance_report.csv").read_text(encoding="utf-8-sig")


def _demo_csv(tmp_path: Path) -> str:
    c = _collector(HOSTILE)
    try:
        return demo_csv(c.get_api_statistics(time_range_minutes=60))
    finally:
        c.shutdown()


@pytest.mark.parametrize(
    "write",
    [_library_csv, _cli_report_csv, _demo_csv],
    ids=["analyzer.write_report", "misdk-report", "misdk-demo"],
)
def test_every_csv_writer_neutralises_hostile_codes(
    write: Callable[[Path], str], tmp_path: Path
) -> None:
    """No cell of a CSV report starts a formula, whatever API code was recorded."""
    rows = list(csv.reader(io.StringIO(write(tmp_path))))
    first_table = rows[1 : rows.index([])] if [] in rows else rows[1:]  # then the capacity plan
    codes = sorted(row[0] for row in first_table)
    assert codes == sorted("'" + code for code in HOSTILE)
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), row
            assert not cell.startswith("-") or cell.lstrip("-").replace(".", "").isdigit(), row
