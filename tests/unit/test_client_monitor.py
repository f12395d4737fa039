"""GuardedMonitor: one documented rule picks the path; every path records the same call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from recording_paths import PATHS, Foreign, ForeignOldEnd, Subclassed, recorder

from medical_insurance_sdk.client.monitoring import GuardedMonitor, recording_path
from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.core.runtime.clock import AnchoredClock

TRACE = "0af7651916cd43dd8448eb211c80319c"
CONFIG = MetricConfig(prometheus_port=0, background=False)


@pytest.fixture
def collector() -> Iterator[MetricsCollector]:
    c = MetricsCollector(CONFIG)
    yield c
    c.shutdown()


@pytest.fixture(params=list(PATHS))
def recording(request: pytest.FixtureRequest) -> Iterator[tuple[MetricsCollector, Any]]:
    """(collector to read, monitor for the client) for each recording path."""
    read, monitor = recorder(request.param, CONFIG)
    yield read, monitor
    read.shutdown()


def _one_call(monitor: GuardedMonitor, ok: bool) -> None:
    """One call as the client records it (core/collection/channel.py or start/end), 9101-like: the
    request size is only known after the start."""
    channel = monitor.channel
    if channel is not None:
        start_ns = channel.clock()
        channel.enter(None)
        channel.stage((
            channel.clock(), start_ns, "9101", "H1", ok,
            None if ok else "E1", None if ok else "失败", 50_714, 2048, TRACE,
        ))  # fmt: skip
        channel.leave()
        return
    call_id = monitor.start("9101", "H1", 445, TRACE, "http")
    if ok:
        monitor.end(call_id, "success", None, None, 2048, 50_714)
    else:
        monitor.end(call_id, "error", "E1", "失败", 2048, 50_714)


@pytest.mark.parametrize("ok", [True, False], ids=["success", "error"])
def test_every_path_records_the_same_values(recording, ok):
    """Ours (channel), a subclass and a foreign monitor store the same fields, the
    request size given at the end included."""
    read, given = recording
    monitor = GuardedMonitor(given)
    _one_call(monitor, ok)
    (call,) = read.get_recent_calls()
    got = (call.api_code, call.org_code, call.status, call.error_code, call.error_message)
    assert got == ("9101", "H1", "success" if ok else "error", None if ok else "E1",
                   None if ok else "失败")  # fmt: skip
    assert (call.request_size, call.response_size) == (50_714, 2048)
    assert read.connections()["http"] == 0
    assert read.pending_calls == 0
    assert monitor.failures == 0


def test_the_path_is_chosen_by_one_documented_rule(collector):
    """recording_path: ours -> channel; its own methods without a channel -> direct;
    an override of start or end, or anything else -> guarded."""

    class EmptySubclass(MetricsCollector):
        """Changes nothing: records like ours."""

    class OwnStart(MetricsCollector):
        def record_api_call_start(self, *args: Any, **kwargs: Any) -> int:
            return super().record_api_call_start(*args, **kwargs)

    off = MetricsCollector(MetricConfig(enabled=False, prometheus_port=0, background=False))
    cases = {
        "ours": (collector, "channel"),
        "empty subclass": (EmptySubclass(CONFIG), "channel"),
        "disabled": (off, "direct"),
        "subclass overriding end": (Subclassed(CONFIG), "guarded"),
        "subclass overriding start": (OwnStart(CONFIG), "guarded"),
        "foreign": (Foreign(collector), "guarded"),
    }
    for name, (given, path) in cases.items():
        assert recording_path(given) == path, name
        monitor = GuardedMonitor(given)
        assert monitor.path == path, name
        assert (monitor.channel is not None) == (path == "channel"), name
        if path != "guarded":  # no wrapper frame between the client and our methods
            assert monitor.start.__func__ is MetricsCollector.record_api_call_start  # type: ignore[attr-defined]
            assert monitor.end.__func__ is MetricsCollector.record_api_call_end  # type: ignore[attr-defined]
    for given, _ in cases.values():
        if isinstance(given, MetricsCollector) and given is not collector:
            given.shutdown()


def test_a_foreign_monitor_with_the_older_end_still_records(collector):
    """An end without request_size is called the old way: recorded, the start's size kept."""
    monitor = GuardedMonitor(ForeignOldEnd(collector))
    _one_call(monitor, True)
    (call,) = collector.get_recent_calls()
    assert (call.status, call.request_size, call.response_size) == ("success", 445, 2048)
    assert monitor.failures == 0


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
    assert monitor.path == "guarded"
    call_id = monitor.start("1101", "H1", 10, "t", "http")
    assert call_id is None
    monitor.end(call_id, "success", None, None, 20, 10)  # nothing started: nothing to end
    monitor.end(7, "error", "E", None, 0, 10)
    monitor.end(7, "success", None, None, 0, 10)
    assert monitor.failures == 3


def test_a_replaced_method_is_guarded_and_its_failures_counted(collector):
    """A collector whose end was replaced on the instance (here: one that raises) gets
    the guard and no channel; the failure is counted, the call goes on."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    collector.record_api_call_end = broken  # type: ignore[method-assign]
    monitor = GuardedMonitor(collector)
    assert (monitor.path, monitor.channel) == ("guarded", None)
    call_id = monitor.start("1101", "H1", 10, TRACE, "http")
    monitor.end(call_id, "success", None, None, 20, 10)
    assert monitor.failures == 1


def test_the_anchored_clock_read_is_the_builtin():
    """The hot path's two clock reads per call are C calls, not Python frames."""
    import time

    assert AnchoredClock().monotonic_ns is time.perf_counter_ns
