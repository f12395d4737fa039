"""CallChannel: the frame-free recording path stores what start/end would have stored."""

from __future__ import annotations

import os
import threading

import pytest

from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.core.runtime.clock import ManualClock

TRACE = "0af7651916cd43dd8448eb211c80319c"


def _record(channel, clock: ManualClock, ok: bool, code=None, message=None) -> None:
    """The channel protocol, as the SDK client follows it (core/collection/channel.py)."""
    start_ns = channel.clock()
    channel.enter(None)
    clock.advance(0.25)
    channel.stage((channel.clock(), start_ns, "2207", "H1", ok, code, message, 120, 2048, TRACE))
    channel.leave()
    if len(channel.staging) >= channel.fold_at:
        channel.fold()


def test_channel_records_equal_start_end_records(clocked, clock):
    """The same call through the channel and through start/end is stored identically."""
    channel = clocked._open_channel("http")
    _record(channel, clock, True)
    call_id = clocked.record_api_call_start("2207", "H1", 120, TRACE, "http")
    clock.advance(0.25)
    clocked.record_api_call_end(call_id, "success", response_size=2048)
    through_channel, through_registry = clocked.get_recent_calls()
    assert through_channel.duration_ms == pytest.approx(250.0)
    assert through_channel.end_time == pytest.approx(1_700_000_000.25)
    fields = ("api_code", "org_code", "status", "error_code", "request_size", "response_size")
    for name in fields:
        assert getattr(through_channel, name) == getattr(through_registry, name), name
    exposition = clocked.get_prometheus_metrics(openmetrics=True)
    assert f'trace_id="{TRACE}"' in exposition


def test_channel_errors_are_masked_like_every_call(clocked, clock):
    """An error message staged through a channel is masked when folded."""
    channel = clocked._open_channel("http")
    _record(channel, clock, False, "BUSINESS_-1", "证件号码440106199001011235不存在")
    (call,) = clocked.get_recent_calls()
    assert call.status == "error"
    assert call.error_code == "BUSINESS_-1"
    assert "199001011235" not in (call.error_message or "")
    assert call.error_message is not None
    assert "440106" in call.error_message


def test_channel_calls_count_in_flight_by_connection_type(collector):
    """enter/leave move active_connections{type} and the in-flight gauge."""
    first = collector._open_channel("http")
    second = collector._open_channel("http")  # channels of one type share the count
    assert first is not None
    assert second is not None
    first.enter(None)
    second.enter(None)
    collector.record_api_call_start("1101", "H1", connection_type="http")
    assert collector.connections()["http"] == 3
    assert collector.pending_calls == 3
    first.leave()
    second.leave()
    assert collector.connections()["http"] == 1
    text = collector.get_prometheus_metrics()
    assert "medical_insurance_api_calls_in_flight 1.0" in text


def test_channel_folds_at_the_batch_size(config):
    """A caller that folds at ``fold_at`` keeps the staging list bounded."""
    c = MetricsCollector(config.replace(fold_batch_size=16))
    channel = c._open_channel()
    assert channel is not None
    clock = ManualClock()
    for _ in range(40):
        _record(channel, clock, True)
    assert len(channel.staging) < channel.fold_at
    assert c.store.total_folded == 32
    assert c.get_api_statistics(time_range_minutes=10_000_000)["total_calls"] == 40
    c.shutdown()


def test_channel_staging_is_safe_across_threads(collector):
    """Threads staging at once lose no call and tear no record."""
    channel = collector._open_channel("http")
    clock = ManualClock()

    def work() -> None:
        for _ in range(500):
            _record(channel, clock, True)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert collector.get_api_statistics(time_range_minutes=10_000_000)["total_calls"] == 4000
    assert collector.connections()["http"] == 0
    assert collector.store.dropped_malformed == 0


def test_opening_a_channel_checks_its_connection_type():
    """A bad connection type is a ValueError; a disabled collector has no channel."""
    c = MetricsCollector(MetricConfig(enabled=False, prometheus_port=0, background=False))
    assert c._open_channel("http") is None
    with pytest.raises(ValueError, match="connection_type"):
        c._open_channel("")
    c.shutdown()


def test_channel_failures_are_counted_not_raised(collector, monkeypatch):
    """A failing fold or recording step is counted in the monitoring health."""
    channel = collector._open_channel("http")
    assert channel is not None
    channel.failed(IndexError("pop from empty list"))
    with monkeypatch.context() as patch:
        patch.setattr(collector.store, "fold", None)  # a fold that cannot run
        channel.fold()
    errors = collector.health.errors()
    assert errors["channel_record"] == 1
    assert errors["channel_fold"] == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_forgets_the_parents_calls_in_flight(collector):
    """Calls in flight in the parent are not the child's: its counts start at zero."""
    channel = collector._open_channel("http")
    assert channel is not None
    channel.enter(None)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports its count through the pipe, and never returns
        try:
            os.write(write, str(collector.connections().get("http", -1)).encode())
        finally:
            os._exit(0)
    os.close(write)
    child_count = os.read(read, 16).decode()
    os.waitpid(pid, 0)
    os.close(read)
    assert child_count == "0.0"
    assert collector.connections()["http"] == 1
    channel.leave()
