"""Resource control: cardinality bombs, clock jumps, dead worker threads."""

from __future__ import annotations

import threading
import time
import tracemalloc

import pytest
from prometheus_client.parser import text_string_to_metric_families

from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.core.runtime.clock import ManualClock


@pytest.mark.slow  # ~10 s: 140 000 calls with distinct label values
def test_cardinality_bomb_keeps_exposition_and_memory_bounded(scale):
    """140k distinct org and error codes (1.4M under `make stress`): bounded everywhere."""
    half = 70_000 * scale  # more than the store's 65535 org codes: every table is full
    n = 2 * half
    c = MetricsCollector(
        MetricConfig(prometheus_port=0, background=False, max_memory_metrics=10_000)
    )
    start, end = c.record_api_call_start, c.record_api_call_end
    tracemalloc.start()
    for i in range(n):
        end(start("2207", f"H{i:09d}"), "error", f"E{i}")
        if i == half:
            c.get_prometheus_metrics()
            early = tracemalloc.get_traced_memory()[0]
    text = c.get_prometheus_metrics()
    late = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    families = list(text_string_to_metric_families(text))
    assert sum(len(f.samples) for f in families) < 5000
    calls = sum(
        s.value
        for f in families
        if f.name == "medical_insurance_api_calls"
        for s in f.samples
        if s.name.endswith("_total")
    )
    assert calls == n
    dropped = c.monitoring_health()["dropped"]
    overflow = {
        s.labels["reason"]: s.value
        for f in families
        if f.name == "medical_insurance_monitoring_dropped"
        for s in f.samples
    }
    # The store keeps up to 65535 org codes and 4096 error codes; later ones are counted
    # per call and stored as __other__. The exposition keeps 200 and 100 of those.
    assert overflow["store_overflow_org_code"] == dropped["store_overflow_org_code"] == n - 65535
    assert overflow["store_overflow_error_code"] == n - 4096
    assert overflow["overflow_label_org_code"] == 65535 - 200
    assert overflow["overflow_label_error_code"] == 4096 - 100
    assert dropped["store_evicted"] == n - 10_000
    # Once the caps are reached memory stops growing: the second half adds < 1 MB.
    assert late - early < 2**20, (early, late)
    c.shutdown()


def test_wall_clock_jumps_do_not_change_durations_or_windows(monkeypatch):
    """time.time() stepping ±1 h during calls: durations stay right, windows stay sane."""
    c = MetricsCollector(MetricConfig(prometheus_port=0, background=False))
    real_time = time.time
    for jump in (3600.0, -3600.0, -86400.0 * 365):
        call_id = c.record_api_call_start("2207", "H1")
        monkeypatch.setattr(time, "time", lambda jump=jump: real_time() + jump)
        time.sleep(0.02)
        c.record_api_call_end(call_id, "success")
        monkeypatch.setattr(time, "time", real_time)
    calls = c.get_recent_calls()
    assert len(calls) == 3
    for call in calls:
        assert 15.0 <= call.duration_ms < 2000.0
        assert abs(call.end_time - real_time()) < 60
    assert c.get_api_statistics(1)["total_calls"] == 3
    c.shutdown()


def test_worker_thread_dying_inside_a_call_is_counted_abandoned():
    """A thread that dies between start and end leaves a pending call that expires."""
    clock = ManualClock()
    c = MetricsCollector(
        MetricConfig(prometheus_port=0, background=False, pending_timeout=30.0), clock=clock
    )

    def worker() -> None:
        c.record_api_call_start("2207", "H1")
        # ... and the thread ends here, without ever ending its call

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert c.pending_calls == 1
    clock.advance(31)
    c.run_housekeeping()
    assert c.pending_calls == 0
    assert c.abandoned.get("2207", "H1") == 1
    text = c.get_prometheus_metrics()
    assert 'medical_insurance_api_calls_abandoned_total{api_code="2207",org_code="H1"} 1.0' in text
    c.shutdown()


@pytest.mark.parametrize("capacity", [1_000, 50_000])
def test_store_memory_follows_the_bound(capacity, scale):
    """Recording far more calls than max_memory_metrics keeps the store at its bound."""
    c = MetricsCollector(
        MetricConfig(prometheus_port=0, background=False, max_memory_metrics=capacity)
    )
    for _ in range(3 * capacity * scale):
        with c.track("1101", "H1"):
            pass
    c.store.fold()
    assert len(c.store) == capacity
    assert c.store.nbytes <= 64 * capacity + 64 * 16384
    c.shutdown()
