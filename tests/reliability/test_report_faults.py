"""Reports under faults: unwritable directory and a full disk give a clear error."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from medical_insurance_sdk.core import PerformanceAnalyzer
from medical_insurance_sdk.core.performance_analyzer import ReportWriteError


def _filled(collector):
    for i in range(200):
        collector.record_api_call("2207", "H1", "success" if i % 10 else "error", 100.0 + i)
    return collector


def test_unwritable_directory_raises_clear_error_and_keeps_data(collector, tmp_path):
    """A report path under a regular file fails with ReportWriteError; stats are intact."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    analyzer = PerformanceAnalyzer(_filled(collector))
    before = collector.get_api_statistics(60)
    with pytest.raises(ReportWriteError, match="无法写入报告") as raised:
        analyzer.write_report(blocker / "reports", formats=("json", "csv"))
    assert "not-a-dir" in str(raised.value)
    assert isinstance(raised.value, OSError)
    after = collector.get_api_statistics(60)
    assert after["total_calls"] == before["total_calls"] == 200
    assert analyzer.write_report(tmp_path / "ok", formats=("json",))


FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from medical_insurance_sdk.core import MetricConfig, MetricsCollector, PerformanceAnalyzer
    from medical_insurance_sdk.core.performance_analyzer import ReportWriteError

    out = Path(sys.argv[1])
    c = MetricsCollector(MetricConfig(prometheus_port=0, background=False))
    for i in range(300):
        c.record_api_call("2207", "H1", "success", 100.0 + i)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))  # files beyond 512 bytes: no space
    try:
        PerformanceAnalyzer(c).write_report(out, formats=("html",))
    except ReportWriteError as exc:
        print("ERROR", exc)
    leftovers = sorted(p.name for p in out.iterdir())
    print("LEFT", leftovers)
    print("CALLS", c.get_api_statistics(60)["total_calls"])
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE semantics are Linux's")
def test_full_disk_raises_and_leaves_no_partial_file(tmp_path):
    """When the disk is full mid-write, the error is clear and no partial report remains."""
    out = tmp_path / "reports"
    out.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ERROR 无法写入报告" in proc.stdout
    assert "LEFT []" in proc.stdout
    assert "CALLS 300" in proc.stdout


def test_reports_get_the_usual_permissions(collector, tmp_path):
    """Atomic writes keep the umask's permissions (reports are shared with operators)."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        paths = PerformanceAnalyzer(_filled(collector)).write_report(tmp_path, formats=("csv",))
    finally:
        os.umask(old)
    assert stat.S_IMODE(paths[0].stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["performance_report.csv"]
