"""MetricsCollector: the hot path, explicit recording, track() and the decorator."""

from __future__ import annotations

import asyncio
import math
import threading

import pytest

from medical_insurance_sdk.core import MetricConfig, MetricsCollector, monitor_api_call
from medical_insurance_sdk.core.runtime.clock import ManualClock


def test_start_end_records_one_call_with_monotonic_duration(clocked, clock):
    """A started and ended call is stored with the duration the monotonic clock saw."""
    call_id = clocked.record_api_call_start("1101", "H43010500001", request_size=120)
    clock.advance(0.25)
    clocked.record_api_call_end(call_id, "success", response_size=2048)
    (call,) = clocked.get_recent_calls()
    assert call.api_code == "1101"
    assert call.org_code == "H43010500001"
    assert call.status == "success"
    assert call.duration_ms == pytest.approx(250.0)
    assert call.end_time == pytest.approx(1_700_000_000.25)
    assert (call.request_size, call.response_size) == (120, 2048)


def test_call_ids_unique_across_threads(collector):
    """Ids stay unique when many threads start calls at once."""
    ids: list[list[int]] = [[] for _ in range(8)]

    def worker(out: list[int]) -> None:
        out.extend(collector.record_api_call_start("1101", "org") for _ in range(5000))

    threads = [threading.Thread(target=worker, args=(out,)) for out in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [i for out in ids for i in out]
    assert len(flat) == len(set(flat)) == 40000


def test_unknown_and_repeated_call_ids_are_counted_not_raised(collector):
    """Ending an unknown or already-ended id is counted once each, never raised."""
    call_id = collector.record_api_call_start("1101", "org")
    collector.record_api_call_end(call_id, "success")
    collector.record_api_call_end(call_id, "success")
    collector.record_api_call_end(987654321, "error")
    collector.record_api_call_end(["unhashable"], "success")  # type: ignore[arg-type]
    assert collector.get_api_statistics()["total_calls"] == 1
    assert collector.health.dropped()["unknown_call_id"] == 3


def test_staging_rejects_a_torn_record(collector):
    """A staged record of the wrong width would shift every later one: it is refused."""
    with pytest.raises(ValueError, match="10 fields"):
        collector.store.append((1.0, 0.1, "1101"))  # type: ignore[arg-type]
    assert len(collector.store) == 0


def test_invalid_status_on_hot_path_is_recorded_as_error_and_counted(collector):
    """A bad status never raises on the hot path; the call counts as an error."""
    call_id = collector.record_api_call_start("2207", "org")
    collector.record_api_call_end(call_id, "timeout")
    stats = collector.get_api_statistics()
    assert stats["failed_calls"] == 1
    assert stats["error_breakdown"] == {"invalid_status": 1}
    assert collector.health.dropped()["invalid_status_recorded_as_error"] == 1


def test_error_details_are_stored_masked(collector):
    """Error code and a masked message are kept; the ID number never is."""
    call_id = collector.record_api_call_start("1101", "org")
    collector.record_api_call_end(
        call_id, "error", "-1", "请求失败,错误原因：证件号码44010619900101123X不存在"
    )
    (call,) = collector.get_recent_calls()
    assert call.error_code == "-1"
    assert call.error_message is not None
    assert "44010619900101123X" not in call.error_message
    assert "440106********123X" in call.error_message


def test_disabled_collector_records_nothing():
    """enabled=False makes recording a no-op: nothing is stored or pending."""
    c = MetricsCollector(MetricConfig(enabled=False, prometheus_port=0, background=False))
    call_id = c.record_api_call_start("1101", "org")
    c.record_api_call_end(call_id, "success")
    with c.track("1101", "org"):
        pass
    c.record_api_call("1101", "org", "success", 10.0)
    assert c.record_custom_metric("queue_depth", 3) is None
    assert c.get_api_statistics()["total_calls"] == 0
    assert c.pending_calls == 0
    assert c.get_custom_metrics() == []
    assert c.health.dropped().get("unknown_call_id", 0) == 0
    c.shutdown()


def test_record_api_call_stores_a_completed_call_at_its_timestamp(clocked):
    """record_api_call keeps the given timestamp and duration."""
    clocked.record_api_call(
        "2207",
        "org",
        "error",
        1500.0,
        error_code="E1",
        timestamp=1_700_000_000.0 - 120,
        request_size=10,
        response_size=20,
    )
    (call,) = clocked.get_recent_calls()
    assert call.end_time == 1_700_000_000.0 - 120
    assert call.duration_ms == pytest.approx(1500.0)
    assert (call.status, call.error_code) == ("error", "E1")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"duration_ms": -1.0}, "duration_ms must be >= 0"),
        ({"duration_ms": math.nan}, "duration_ms must be finite"),
        ({"duration_ms": math.inf}, "duration_ms must be finite"),
        ({"status": "ok"}, "status must be 'success' or 'error'"),
        ({"api_code": ""}, "api_code must be a non-empty str"),
        ({"timestamp": math.nan}, "timestamp must be finite"),
        ({"request_size": -5}, "request_size must be an int >= 0"),
        ({"error_code": 12}, "error_code must be a str or None"),
    ],
    ids=["negative", "nan", "inf", "status", "api_code", "timestamp", "size", "error_code"],
)
def test_record_api_call_rejects_bad_input(collector, kwargs, message):
    """Explicit recording raises ValueError naming the problem."""
    args = {"api_code": "1101", "org_code": "org", "status": "success", "duration_ms": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        collector.record_api_call(**args)
    assert collector.get_api_statistics()["total_calls"] == 0


def test_track_records_success_sizes_and_failure_without_raising(clocked, clock):
    """track() times the block; fail() marks an error without an exception."""
    with clocked.track("2201", "org", request_size=50) as call:
        clock.advance(0.1)
        call.response_size = 300
    with clocked.track("2207", "org") as call:
        call.fail("BIZ_-1", "结算失败")
    ok, failed = clocked.get_recent_calls()
    assert (ok.status, ok.request_size, ok.response_size) == ("success", 50, 300)
    assert ok.duration_ms == pytest.approx(100.0)
    assert (failed.status, failed.error_code, failed.error_message) == (
        "error",
        "BIZ_-1",
        "结算失败",
    )


def test_track_marks_exceptions_and_reraises_them_unchanged(collector):
    """An exception escaping track() is an error with its error_code, re-raised as is."""

    class PlatformDown(RuntimeError):
        error_code = "NETWORK"

    err = PlatformDown("connection refused")
    with pytest.raises(PlatformDown) as raised, collector.track("1101", "org"):
        raise err
    assert raised.value is err
    with pytest.raises(KeyError), collector.track("1101", "org"):
        raise KeyError("x")
    codes = [c.error_code for c in collector.get_recent_calls()]
    assert codes == ["NETWORK", "KeyError"]


def test_decorator_sync_takes_codes_from_arguments(collector):
    """Without explicit codes, api_code/org_code come from the call's arguments."""

    @monitor_api_call(collector=collector)
    def call_platform(api_code: str, org_code: str, payload: dict) -> str:
        """Docstring kept."""
        return f"{api_code}@{org_code}"

    assert call_platform("1101", "H1", {}) == "1101@H1"
    assert call_platform(payload={}, org_code="H2", api_code="2201") == "2201@H2"
    assert call_platform.__name__ == "call_platform"
    assert call_platform.__doc__ == "Docstring kept."
    calls = [(c.api_code, c.org_code) for c in collector.get_recent_calls()]
    assert calls == [("1101", "H1"), ("2201", "H2")]


def test_decorator_defaults_to_unknown_and_reraises(collector):
    """Codes default to 'unknown'; exceptions are recorded by class name and re-raised."""

    @monitor_api_call(collector=collector)
    def broken() -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        broken()
    (call,) = collector.get_recent_calls()
    assert (call.api_code, call.org_code, call.error_code) == ("unknown", "unknown", "ValueError")


def test_decorator_async(collector):
    """The decorator works on coroutine functions and measures the awaited time."""

    @monitor_api_call(api_code="2207", org_code="H1", collector=collector)
    async def settle(delay: float) -> str:
        await asyncio.sleep(delay)
        return "ok"

    assert asyncio.run(settle(0.02)) == "ok"
    (call,) = collector.get_recent_calls()
    assert call.api_code == "2207"
    assert call.duration_ms >= 19.0


def test_decorator_uses_global_collector_by_default():
    """Without collector=, the process-wide collector records the call."""
    from medical_insurance_sdk.core import get_metrics_collector

    @monitor_api_call("1101", "org_x")
    def f() -> int:
        return 1

    f()
    stats = get_metrics_collector().get_api_statistics()
    assert stats["api_breakdown"]["1101"]["count"] == 1


def test_pending_calls_expire_and_count_as_abandoned(config, clock):
    """A call never ended expires after pending_timeout and is counted abandoned."""
    c = MetricsCollector(config.replace(pending_timeout=30.0), clock=clock)
    c.record_api_call_start("2207", "H1")
    clock.advance(10)
    fresh = c.record_api_call_start("1101", "H1")
    clock.advance(25)
    assert c.expire_pending() == 1
    assert c.pending_calls == 1
    assert c.abandoned.get("2207", "H1") == 1
    assert c.health.dropped()["pending_expired"] == 1
    c.record_api_call_end(fresh, "success")
    assert c.get_api_statistics()["total_calls"] == 1
    c.shutdown()


def test_pending_calls_are_bounded(config):
    """More started calls than max_memory_metrics evict the oldest, counted abandoned."""
    c = MetricsCollector(config.replace(max_memory_metrics=100))
    ids = [c.record_api_call_start("1101", "H1") for _ in range(150)]
    assert c.pending_calls == 100
    assert c.health.dropped()["pending_overflow"] == 50
    c.record_api_call_end(ids[0], "success")  # evicted: unknown now
    c.record_api_call_end(ids[-1], "success")
    assert c.get_api_statistics()["total_calls"] == 1
    c.shutdown()


def test_hostile_values_on_hot_path_never_raise(collector):
    """Odd codes and sizes are sanitised, not raised; the exposition still parses."""
    from prometheus_client.parser import text_string_to_metric_families

    class Evil:
        def __str__(self) -> str:
            raise RuntimeError("no")

    weird = ['a"b\\c\nd}{', None, 12, Evil(), "x" * 10_000, "\x00\x07"]
    for value in weird:
        call_id = collector.record_api_call_start(value, value, request_size=-3)  # type: ignore[arg-type]
        collector.record_api_call_end(call_id, "error", value, value, "big")  # type: ignore[arg-type]
    assert collector.get_api_statistics()["total_calls"] == len(weird)
    families = list(text_string_to_metric_families(collector.get_prometheus_metrics()))
    calls = next(f for f in families if f.name == "medical_insurance_api_calls")
    assert sum(s.value for s in calls.samples if s.name.endswith("_total")) == len(weird)
    assert all(len(s.labels["api_code"]) <= 128 for s in calls.samples)


def test_clock_uses_monotonic_time_for_durations(config):
    """Durations come from the monotonic clock: a wall-clock step cannot change them."""
    clock = ManualClock(1_800_000_000.0)
    c = MetricsCollector(config, clock=clock)
    call_id = c.record_api_call_start("1101", "H1")
    clock.advance(0.5)
    c.record_api_call_end(call_id, "success")
    (call,) = c.get_recent_calls()
    assert call.duration_ms == pytest.approx(500.0)
    assert call.start_time == pytest.approx(1_800_000_000.0)
    c.shutdown()
