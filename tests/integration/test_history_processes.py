"""History across processes: two writers share one file; ``kill -9`` mid-write corrupts nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from medical_insurance_sdk.core import HistorySource, MetricConfig, MetricsCollector
from medical_insurance_sdk.core.collection.rollups import RollupFrame
from medical_insurance_sdk.core.history import SourceError

#: The past hour the children write into (whole minutes, every minute closed at once).
BASE = float(int(time.time()) // 3600 * 3600 - 6 * 3600)

#: A process writing ``N`` calls per org for its API (background housekeeping every 0.05 s).
WRITER = """
import sys
from medical_insurance_sdk.core import MetricConfig, MetricsCollector
path, api, n, base = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
collector = MetricsCollector(MetricConfig(
    prometheus_port=0, system_metrics_enabled=False, background=True,
    collection_interval=0.05, history_path=path,
))
for i in range(n):
    for org in ("H1", "H2"):
        ok = i % 10 != 0
        collector.record_api_call(
            api, org, "success" if ok else "error", 5.0 + i % 50,
            error_code=None if ok else "BIZ_REFUSED", timestamp=base + (i % 3600),
        )
    collector.record_api_call("2207", "H1", "success", 20.0, timestamp=base + (i % 3600))
collector.shutdown()
assert collector.monitoring_health()["errors"] == {}, collector.monitoring_health()
"""

#: A process writing minute after minute until it is killed; prints each minute it recorded
#: and when (CLOCK_MONOTONIC, the same clock for every process on the host).
ENDLESS = """
import sys, time
from medical_insurance_sdk.core import MetricConfig, MetricsCollector
path, base, per_minute = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
collector = MetricsCollector(MetricConfig(
    prometheus_port=0, system_metrics_enabled=False, background=True,
    collection_interval=0.05, history_path=path,
))
minute = 0
while True:
    for j in range(per_minute):
        when = base + minute * 60 + j * 0.05
        collector.record_api_call("2207", "H1", "success", 10.0, timestamp=when)
    print(minute, time.monotonic(), flush=True)
    minute += 1
    time.sleep(0.01)  # pacing: about five minutes of calls per housekeeping run
"""


def test_two_processes_write_one_file_and_a_reader_sums_both(tmp_path):
    """Two concurrent writers (shared series 2207/H1 included): the reader sums exactly."""
    path = tmp_path / "shared.sqlite"
    n = 3000
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), api, str(n), str(BASE)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for api in ("1101", "5205")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    source = HistorySource(path)
    frame = source.rollups(BASE, BASE + 3600)
    per_series: dict[tuple[str, str], int] = {}
    for i in range(len(frame)):
        key = (frame.api_codes[frame.api[i]], frame.org_codes[frame.org[i]])
        per_series[key] = per_series.get(key, 0) + int(frame.calls[i])
    assert per_series == {
        ("1101", "H1"): n,
        ("1101", "H2"): n,
        ("5205", "H1"): n,
        ("5205", "H2"): n,
        ("2207", "H1"): 2 * n,  # both processes wrote it: summed over writers
    }
    assert int(frame.business_errors.sum()) == 2 * 2 * n // 10
    summary = source.describe()
    assert len(summary.writers) == 2
    assert {w.pid for w in summary.writers} == {p.pid for p in procs}
    assert summary.calls == 6 * n


#: Seconds before the kill whose calls must be in the file (20 housekeeping intervals: the
#: test allows for a loaded machine; the design loses one interval).
LOSS_BOUND = 1.0


def when_killed_ok(recorded: dict[int, float]) -> bool:
    """True once the child has written for 2 s (so some minutes are older than the bound)."""
    return max(recorded.values()) - min(recorded.values()) >= 2.0


def written_minutes(path: Path) -> int:
    """Minute rows in the file so far (0 before the writer created its tables)."""
    try:
        return HistorySource(path).describe().minute_rows
    except SourceError:
        return 0


def test_kill_9_during_writes_loses_at_most_the_last_interval(tmp_path):
    """SIGKILL while writing: the file opens, integrity_check is ok, the minutes are a prefix."""
    path = tmp_path / "killed.sqlite"
    per_minute = 200
    with subprocess.Popen(
        [sys.executable, "-c", ENDLESS, str(path), str(BASE - 86400), str(per_minute)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        recorded: dict[int, float] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # 2 s of writing, and 10 minutes written
            line = proc.stdout.readline()
            assert line, f"the writer exited with {proc.poll()}"
            minute, when = line.split()
            recorded[int(minute)] = float(when)
            if when_killed_ok(recorded) and written_minutes(path) >= 10:
                break
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    source = HistorySource(path)
    start = BASE - 86400
    # windows of 59 minutes hold no whole hour: they read minute rows
    frame = RollupFrame.concat(
        [source.rollups(a, a + 59 * 60) for a in np.arange(start, start + 6 * 3600, 59 * 60)]
    )
    assert set(frame.step) == {60.0}
    minutes = ((frame.start - start) // 60).astype(np.int64)
    counts = dict(zip(minutes.tolist(), frame.calls.tolist(), strict=True))
    last = max(counts)
    # a prefix: every minute before the last written one is complete
    assert sorted(counts) == list(range(last + 1))
    assert all(counts[m] == per_minute for m in range(last))
    # what was recorded more than LOSS_BOUND seconds before the kill is in the file: only the
    # last housekeeping runs (every 0.05 s) can be lost
    must_have = [m for m, t in recorded.items() if t < killed_at - LOSS_BOUND]
    assert must_have
    assert max(must_have) <= last
    # hour rows were written in the same transactions as the minutes
    hours = source.rollups(start, start + 6 * 3600)
    assert set(hours.step) == {3600.0}
    assert hours.total_calls == frame.total_calls


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("the forked child did not finish")


def test_a_forked_worker_writes_as_a_writer_of_its_own(tmp_path):
    """A collector forked with unwritten rollups: parent and child each count their calls once."""
    path = tmp_path / "forked.sqlite"
    config = MetricConfig(
        prometheus_port=0, system_metrics_enabled=False, background=False, history_path=str(path)
    )
    collector = MetricsCollector(config)
    for i in range(10):  # held (staged or rolled up) when the pre-fork server forks
        collector.record_api_call("2207", "H1", "success", 20.0, timestamp=BASE + i)
    pid = os.fork()
    if pid == 0:  # the worker
        code = 1
        try:
            for i in range(5):
                collector.record_api_call("2207", "H1", "success", 20.0, timestamp=BASE + 60 + i)
            collector.shutdown()
            code = 0 if collector.monitoring_health()["errors"] == {} else 3
        finally:
            os._exit(code)
    assert _wait(pid, 60) == 0
    collector.shutdown()
    source = HistorySource(path)
    assert source.rollups(BASE, BASE + 3600).total_calls == 15
    assert {w.pid for w in source.describe().writers} == {os.getpid(), pid}
