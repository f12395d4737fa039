"""History faults (locked, corrupt, read-only, full) are counted and retried, never raised."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
from suite_constants import NOW

from medical_insurance_sdk.core import HistorySource, ManualClock, MetricConfig, MetricsCollector
from medical_insurance_sdk.core.collection.rollup_builder import RollupBuilder
from medical_insurance_sdk.core.collection.rollups import frame_from_calls
from medical_insurance_sdk.core.history import HistoryRecorder, HistoryWriter
from medical_insurance_sdk.core.runtime.health import MonitoringHealth

START = NOW - NOW % 3600 - 3600


def make_collector(path) -> MetricsCollector:
    """A collector with history at ``path`` (a str: a file or an SQLite URI), manual clock."""
    config = MetricConfig(
        prometheus_port=0, background=False, system_metrics_enabled=False, history_path=str(path)
    )
    return MetricsCollector(config, clock=ManualClock(NOW))


def record(collector: MetricsCollector, n: int, offset: float = 0.0) -> None:
    """``n`` calls of 2207/H1 in the hour before the last one."""
    for i in range(n):
        collector.record_api_call("2207", "H1", "success", 30.0, timestamp=START + offset + i)


def history_errors(collector: MetricsCollector) -> int:
    """``monitoring_errors_total{stage="history"}`` as the exposition text shows it."""
    for line in collector.get_prometheus_metrics().splitlines():
        if line.startswith('medical_insurance_monitoring_errors_total{stage="history"}'):
            return int(float(line.split()[-1]))
    return 0


def own_calls(collector: MetricsCollector) -> int:
    """Calls in this collector's rollups (written or held) over the test hour."""
    frame = collector.rollups(START, START + 3600)
    assert frame is not None
    return frame.total_calls


def test_a_locked_file_is_counted_and_retried(tmp_path):
    """Another connection's exclusive lock: the write fails, is counted, and succeeds later."""
    path = tmp_path / "h.sqlite"
    collector = make_collector(path)
    record(collector, 10)
    collector.run_housekeeping()
    assert HistorySource(path).rollups(START, START + 3600).total_calls == 10
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    record(collector, 5, offset=600)
    collector.run_housekeeping()  # waits out the busy timeout, then gives up
    assert collector.monitoring_health()["errors"].get("history", 0) >= 1
    assert history_errors(collector) >= 1
    assert own_calls(collector) == 15  # nothing lost: held again for the next run
    blocker.execute("ROLLBACK")
    blocker.close()
    collector.run_housekeeping()
    assert HistorySource(path).rollups(START, START + 3600).total_calls == 15
    collector.shutdown()


def test_a_corrupt_file_is_counted_and_the_rollups_kept(tmp_path):
    """Garbage bytes in the file: every run counts an error; once replaced, all is written."""
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"\x00garbage, not SQLite\xff" * 500)
    collector = make_collector(path)
    record(collector, 12)
    collector.run_housekeeping()
    collector.run_housekeeping()
    assert collector.monitoring_health()["errors"]["history"] >= 2
    assert history_errors(collector) >= 2
    assert own_calls(collector) == 12
    path.unlink()  # the operator moves the broken file away
    collector.run_housekeeping()
    assert HistorySource(path).rollups(START, START + 3600).total_calls == 12
    collector.shutdown()


def test_a_read_only_open_is_counted_and_the_rollups_kept(tmp_path):
    """A history the process may only read (SQLite ``mode=ro``): counted, kept, no raise."""
    path = tmp_path / "h.sqlite"
    writer = make_collector(path)
    record(writer, 3)
    writer.shutdown()
    collector = make_collector(f"file:{path}?mode=ro")
    record(collector, 7, offset=100)
    collector.run_housekeeping()
    assert collector.monitoring_health()["errors"]["history"] >= 1
    assert history_errors(collector) >= 1
    assert own_calls(collector) == 7
    collector.shutdown()  # the final write fails the same way, counted
    assert HistorySource(path).rollups(START, START + 3600).total_calls == 3


def _read_only_file_mode_scenario(path) -> None:
    collector = make_collector(path)
    record(collector, 7, offset=100)
    collector.run_housekeeping()
    assert collector.monitoring_health()["errors"]["history"] >= 1
    assert own_calls(collector) == 7
    collector.shutdown()


def test_a_read_only_file_mode_is_counted_and_the_rollups_kept(tmp_path):
    """chmod 0444 on the file and 0555 on its directory: counted, kept, no raise.

    Root ignores file modes, so as root the scenario runs in a forked child that has
    dropped to the ``nobody`` user first.
    """
    path = tmp_path / "h.sqlite"
    writer = make_collector(path)
    record(writer, 3)
    writer.shutdown()
    os.chmod(path, 0o444)
    os.chmod(tmp_path, 0o555)
    try:
        if os.geteuid() != 0:
            _read_only_file_mode_scenario(path)
            return
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                os.setgid(65534)
                os.setuid(65534)
                _read_only_file_mode_scenario(path)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        os.chmod(tmp_path, 0o755)
        os.chmod(path, 0o644)
    assert HistorySource(path).rollups(START, START + 3600).total_calls == 3


def frame(n: int, seed: int = 0):
    """Minute rollups of ``n`` calls over 40 APIs x 20 orgs."""
    rng = np.random.default_rng(seed)
    return frame_from_calls(
        timestamp=START + rng.uniform(0, 1800, n),
        duration=rng.lognormal(-2, 1, n),
        api=rng.integers(0, 40, n).astype(np.int32),
        org=rng.integers(0, 20, n).astype(np.int32),
        error=np.full(n, -1, dtype=np.int32),
        success=np.ones(n, dtype=np.bool_),
        request_size=np.zeros(n, dtype=np.int64),
        response_size=np.zeros(n, dtype=np.int64),
        api_codes=tuple(f"A{i:03d}" for i in range(40)),
        org_codes=tuple(f"H{i:03d}" for i in range(20)),
        error_codes=(),
    )


def test_a_full_file_is_counted_and_retried_when_space_returns(tmp_path):
    """``max_page_count`` reached (a full disk): counted, kept, written once there is room."""
    path = tmp_path / "h.sqlite"
    HistoryWriter(path).write(frame(10, seed=1))  # the file exists, small
    writer = HistoryWriter(path, max_pages=1)  # no page more than it has
    builder, health = RollupBuilder(), MonitoringHealth()
    recorder = HistoryRecorder(builder, writer, health)
    big = frame(20_000)
    builder.restore(big)  # rollups waiting to be written
    assert recorder.flush(NOW) == -1
    assert health.errors()["history"] == 1
    assert builder.peek().total_calls == big.total_calls
    writer.max_pages = None  # space again
    assert recorder.flush(NOW) > 0
    assert builder.peek().total_calls == 0
    assert HistorySource(path).rollups(START, START + 3600).total_calls == 20_010


def test_rollups_beyond_the_builders_bound_are_dropped_and_counted(tmp_path):
    """History down for long: the builder keeps max_rows rollups and counts the rest."""
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"not a database" * 100)
    builder, health = RollupBuilder(max_rows=50), MonitoringHealth()
    recorder = HistoryRecorder(builder, HistoryWriter(path), health)
    builder.restore(frame(5000))
    recorder.flush(NOW)
    recorder.flush(NOW)
    assert health.errors()["history"] == 2
    assert len(builder.peek()) == 50
    assert health.dropped()["history_rollups"] == builder.dropped_rows > 0


def test_a_newer_schema_never_breaks_the_collector(tmp_path):
    """A file from a newer SDK: the collector counts the refusal and keeps its rollups."""
    path = tmp_path / "h.sqlite"
    HistoryWriter(path).write(frame(5))
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    conn.close()
    collector = make_collector(path)
    record(collector, 4)
    collector.run_housekeeping()
    assert collector.monitoring_health()["errors"]["history"] >= 1
    assert collector.rollups(START, START + 3600).total_calls == 4
    collector.shutdown()
