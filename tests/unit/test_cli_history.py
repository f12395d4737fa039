"""`misdk history PATH`: what the file holds (zh/en), `--prune`, and bad files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

from medical_insurance_sdk.cli import main
from medical_insurance_sdk.core import HistorySource, ManualClock, MetricConfig, MetricsCollector

DAY = 86400.0


def write_history(path, now: float) -> None:
    """Calls of two APIs at two orgs: 3 days ago and 10 minutes ago."""
    config = MetricConfig(
        prometheus_port=0, background=False, system_metrics_enabled=False, history_path=str(path)
    )
    collector = MetricsCollector(config, clock=ManualClock(now))
    for age in (3 * DAY, 600.0):
        for api in ("2207", "1101"):
            for org in ("H43010500001", "H43010500002"):
                collector.record_api_call(api, org, "success", 25.0, timestamp=now - age)
    collector.shutdown()


def write_history_at(path):
    """A small history file written now; returns its path."""
    write_history(path, time.time())
    return path


def test_history_prints_series_span_size_and_writers_in_chinese(tmp_path, capsys):
    """The default output is Chinese and counts series, rows, calls and writers."""
    path = tmp_path / "h.sqlite"
    write_history(path, time.time())
    assert main(["history", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"历史文件: {path}" in out
    assert "序列 (接口×机构): 4  (接口 2, 机构 2)" in out
    assert "分钟汇总: " in out
    assert "(8 行)" in out
    assert "调用总数: 8" in out
    assert "写入进程: 1" in out


def test_history_in_english(tmp_path, capsys):
    """``--lang en`` prints the same figures in English."""
    path = tmp_path / "h.sqlite"
    write_history(path, time.time())
    assert main(["history", str(path), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Series (API x org): 4  (APIs 2, orgs 2)" in out
    assert "Calls: 8" in out
    assert "Writers: 1" in out


def test_prune_applies_retention_now(tmp_path, capsys):
    """``--prune --minute-days 1`` deletes the 3-day-old minute rows, keeps hour rows."""
    path = tmp_path / "h.sqlite"
    now = time.time()
    write_history(path, now)
    assert main(["history", str(path), "--prune", "--minute-days", "1", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Pruned: 4 minute rows, 0 hour rows (keeping 1 / 400 days)" in out
    summary = HistorySource(path).describe()
    assert summary.minute_rows == 4
    assert summary.calls == 8  # the hour rows still hold the old calls


def test_missing_foreign_and_newer_files_exit_2(tmp_path, capsys):
    """A missing file, a non-history database and a newer schema: one error line, code 2."""
    assert main(["history", str(tmp_path / "missing.sqlite")]) == 2
    assert "no such history file" in capsys.readouterr().err
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert main(["history", str(other)]) == 2
    assert "no history tables" in capsys.readouterr().err
    newer = tmp_path / "newer.sqlite"
    write_history(newer, time.time())
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE meta SET value = '42' WHERE key = 'schema_version'")
    conn.close()
    assert main(["history", str(newer), "--prune"]) == 2
    assert "42" in capsys.readouterr().err
    assert (
        main(
            [
                "history",
                str(write_history_at(tmp_path / "ok.sqlite")),
                "--prune",
                "--minute-days",
                "0",
            ]
        )
        == 2
    )
    assert "minute_days" in capsys.readouterr().err


def test_history_command_end_to_end(tmp_path):
    """``python -m medical_insurance_sdk history PATH`` in a fresh process."""
    path = tmp_path / "h.sqlite"
    write_history(path, time.time())
    proc = subprocess.run(
        [sys.executable, "-m", "medical_insurance_sdk", "history", str(path), "--lang", "en"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Calls: 8" in proc.stdout
