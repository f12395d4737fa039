"""GuardedMonitor: our collector's never-raising methods are called directly, others wrapped."""

from __future__ import annotations

from typing import Any

import pytest

from medical_insurance_sdk.client.monitoring import GuardedMonitor
from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.core.clock import AnchoredClock


@pytest.fixture
def collector():
    c = MetricsCollector(MetricConfig(prometheus_port=0, background=False))
    yield c
    c.shutdown()


def test_own_collector_methods_are_bound_directly(collector):
    """No wrapper frame between the client and MetricsCollector on the per-call path."""
    monitor = GuardedMonitor(collector)
    assert monitor.start.__func__ is MetricsCollector.record_api_call_start  # type: ignore[attr-defined]
    assert monitor.end_ok.__func__ is MetricsCollector.record_api_call_success  # type: ignore[attr-defined]
    call_id = monitor.start("1101", "H1", 10, "0af7651916cd43dd8448eb211c80319c", "http")
    assert collector.pending_calls == 1
    monitor.end_ok(call_id, 20)
    assert collector.get_api_statistics()["total_calls"] == 1


def test_replaced_method_is_guarded_and_its_failures_counted(collector):
    """A collector whose method was replaced (here: one that raises) gets the guard."""

    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    collector.record_api_call_success = broken  # type: ignore[method-assign]
    monitor = GuardedMonitor(collector)
    assert monitor.start.__func__ is MetricsCollector.record_api_call_start  # type: ignore[attr-defined]
    call_id = monitor.start("1101", "H1", 10, "0af7651916cd43dd8448eb211c80319c", "http")
    # end_ok falls back to the guarded generic end, which is still the collector's own
    monitor.end_ok(call_id, 20)
    assert monitor.failures == 0
    assert collector.get_api_statistics()["total_calls"] == 1


def test_foreign_collector_is_guarded():
    """Any other collector's failures are counted, and the call goes on."""

    class Failing:
        def record_api_call_start(self, *args: Any) -> int:
            raise RuntimeError("start failed")

        def record_api_call_end(self, *args: Any) -> None:
            raise RuntimeError("end failed")

        def record_cache_hit_ratio(self, *args: Any) -> None: ...

        def record_outcome_unknown(self, *args: Any) -> None: ...

    monitor = GuardedMonitor(Failing())
    call_id = monitor.start("1101", "H1", 10, "t", "http")
    assert call_id is None
    monitor.end_ok(call_id, 20)  # nothing started: nothing to end
    monitor.end(7, "error", "E", None, 0)
    monitor.end_ok(7, 0)
    assert monitor.failures == 3


def test_the_anchored_clock_read_is_the_builtin():
    """The hot path's two clock reads per call are C calls, not Python frames."""
    import time

    assert AnchoredClock().monotonic_ns is time.perf_counter_ns


def test_a_channel_only_for_a_collector_recording_as_ours(collector):
    """Our collector gets the frame-free channel; a subclass that overrides how a call
    ends, or a disabled collector, records through the methods instead."""

    class Counting(MetricsCollector):
        ended = 0

        def record_api_call_end(self, call_id: int, status: str, *args: Any) -> None:
            Counting.ended += 1
            super().record_api_call_end(call_id, status, *args)

    class LeanEnd(MetricsCollector):
        def record_api_call_success(self, call_id: int, response_size: int = 0) -> None:
            raise AssertionError("not part of the protocol: the client ends through end()")

    assert GuardedMonitor(collector).channel is not None
    for cls in (Counting, LeanEnd):
        other = cls(MetricConfig(prometheus_port=0, background=False))
        monitor = GuardedMonitor(other)
        assert monitor.channel is None
        monitor.end_ok(monitor.start("1101", "H1", 10, "t", "http"), 20)
        assert other.get_api_statistics()["total_calls"] == 1
        assert monitor.failures == 0
        other.shutdown()
    assert Counting.ended == 1
    off = MetricsCollector(MetricConfig(enabled=False, prometheus_port=0, background=False))
    assert GuardedMonitor(off).channel is None
    off.shutdown()
