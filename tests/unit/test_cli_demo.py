"""`misdk demo` end to end: it ends by itself, serves /metrics, writes both reports."""

from __future__ import annotations

import json
import subprocess
import sys


def test_demo_runs_and_writes_reports(tmp_path):
    """A short demo prints the per-API table and writes report.json and a BOM CSV."""
    out = tmp_path / "report"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "medical_insurance_sdk.cli",
            "demo",
            "--duration",
            "2",
            "--metrics-port",
            "0",
            "--out",
            str(out),
            "--seed",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "合计" in proc.stdout
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["api_statistics"]["total_calls"] > 0
    raw = (out / "report.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "接口编号" in raw.decode("utf-8-sig")


def test_demo_rejects_bad_duration():
    """A non-positive duration exits with code 2 and a Chinese message."""
    proc = subprocess.run(
        [sys.executable, "-m", "medical_insurance_sdk.cli", "demo", "--duration", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "必须大于 0" in proc.stderr
