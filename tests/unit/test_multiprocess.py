"""Multiprocess mode: N worker processes, one merged scrape equal to the sum of their calls."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from prometheus_client.parser import text_string_to_metric_families

from medical_insurance_sdk.core.export.multiprocess import mark_process_dead, multiprocess_registry

WORKER = textwrap.dedent(
    """
    import sys
    from medical_insurance_sdk.core import MetricConfig, MetricsCollector

    k, n = int(sys.argv[1]), int(sys.argv[2])
    c = MetricsCollector(MetricConfig(prometheus_port=0, background=False))
    assert c.prometheus.multiprocess is not None
    for i in range(n):
        with c.track("2207" if i % 2 else "1101", f"H{k}") as call:
            if i % 10 == 0:
                call.fail("E1")
    c.inc_active_connections("http", 2)
    c.record_outcome_unknown("2207", f"H{k}")
    c.record_custom_metric("his_jobs", 1, "counter")
    c.shutdown()
    print("done", k)
    """
)


def _merged(path: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client import generate_latest

    text = generate_latest(multiprocess_registry(path)).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def test_merged_scrape_equals_sum_of_workers(tmp_path):
    """Four worker processes' calls add up exactly in the merged registry."""
    workers, calls = 4, 500
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(k), str(calls)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for k in range(workers)
    ]
    pids = []
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        pids.append(p.pid)
    merged = _merged(str(tmp_path))
    total = sum(v for (name, _), v in merged.items() if name == "medical_insurance_api_calls_total")
    assert total == workers * calls
    errors = sum(
        v for (name, _), v in merged.items() if name == "medical_insurance_api_errors_total"
    )
    assert errors == workers * calls // 10
    counts = sum(
        v
        for (name, _), v in merged.items()
        if name == "medical_insurance_api_duration_seconds_count"
    )
    assert counts == workers * calls
    outcome = sum(
        v
        for (name, _), v in merged.items()
        if name == "medical_insurance_api_outcome_unknown_total"
    )
    assert outcome == workers
    assert merged[("his_jobs_total", ())] == workers
    # Dead workers: their live gauges go, their counters stay.
    for pid in pids:
        mark_process_dead(pid, str(tmp_path))
    after = _merged(str(tmp_path))
    live = [k for k in after if k[0] == "medical_insurance_active_connections"]
    assert live == []
    assert (
        sum(v for (name, _), v in after.items() if name == "medical_insurance_api_calls_total")
        == workers * calls
    )
