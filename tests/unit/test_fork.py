"""Fork: a collector created before os.fork keeps working in the child, without deadlock."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from medical_insurance_sdk.core import MetricConfig, MetricsCollector


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child deadlocked")


def _housekeepers() -> int:
    """Live collector housekeeping threads (``misdk-housekeeping``) in this process."""
    return sum(t.name == "misdk-housekeeping" and t.is_alive() for t in threading.enumerate())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork only")
def test_collector_keeps_working_in_forked_child_under_load():
    """Forking while other threads record and scrape: the child records and reads fine."""
    c = MetricsCollector(
        MetricConfig(prometheus_port=0, collection_interval=0.05, fold_batch_size=64)
    )
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            with c.track("1101", "H1"):
                pass
            c.get_prometheus_metrics()

    threads = [threading.Thread(target=busy) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    # Every background collector alive at the fork restarts its worker in the child: the
    # child must have as many housekeeping threads as the parent (c's among them).
    housekeepers = _housekeepers()
    assert housekeepers >= 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        code = 1
        try:
            before = c.get_api_statistics()["total_calls"]
            for _ in range(100):
                with c.track("2207", "H2"):
                    pass
            stats = c.get_api_statistics()
            result = {
                "added": stats["total_calls"] - before,
                "pending": c.pending_calls,
                "worker": _housekeepers() == housekeepers,
                "exposed": "2207" in c.get_prometheus_metrics(),
            }
            os.write(write, json.dumps(result).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    exit_code = _wait(pid, 20)
    result = json.loads(os.read(read, 65536).decode())
    os.close(read)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert exit_code == 0
    assert result == {"added": 100, "pending": 0, "worker": True, "exposed": True}
    assert c.get_api_statistics()["total_calls"] > 0
    c.shutdown()
