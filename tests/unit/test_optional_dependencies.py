"""Graceful degradation: without prometheus_client or psutil, one warning, still working."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, logging, sys
    BLOCKED = set(sys.argv[1].split(","))

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked {name}")
            return None

    sys.meta_path.insert(0, Block())
    logging.basicConfig(level=logging.WARNING, format="WARN %(message)s")
    from medical_insurance_sdk.core import MetricConfig, MetricsCollector, monitor_api_call

    cfg = MetricConfig(prometheus_port=0, background=False)
    collectors = [MetricsCollector(cfg) for _ in range(3)]
    c = collectors[0]
    for i in range(10):
        with c.track("2207", "H1") as call:
            if i % 5 == 0:
                call.fail("E1")
    c.record_custom_metric("queue", 3)
    stats = c.get_api_statistics(60)
    assert stats["total_calls"] == 10, stats
    assert stats["failed_calls"] == 2, stats
    print("EXPOSITION", repr(c.get_prometheus_metrics()))
    print("SYSTEM", c.get_system_metrics()["available"])
    for x in collectors:
        x.shutdown()
    print("OK")
    """
)


@pytest.mark.parametrize(
    ("blocked", "feature"),
    [("prometheus_client", "Prometheus export"), ("psutil", "System metrics")],
    ids=["no-prometheus_client", "no-psutil"],
)
def test_missing_optional_dependency_warns_once_and_keeps_working(blocked, feature):
    """With an optional dependency blocked, exactly one warning names it; stats still work."""
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, blocked],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARN")]
    assert len(warnings) == 1, proc.stderr
    assert feature in warnings[0]
    assert blocked in warnings[0]
    assert (
        f"medical-insurance-sdk[{'prometheus' if blocked != 'psutil' else 'system'}]"
        in (warnings[0])
    )
    if blocked == "prometheus_client":
        assert "EXPOSITION ''" in proc.stdout
    else:
        assert "SYSTEM False" in proc.stdout
