"""StagedCall: one definition, every building site checked against it, every batch checked."""

from __future__ import annotations

import logging

import pytest
from staged_check import staged_call

from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.core.collection.staged import (
    CHECKED_FIELDS,
    STAGED_FIELDS,
    STAGED_WIDTH,
    StagedCall,
)
from medical_insurance_sdk.core.runtime.clock import ManualClock

TRACE = "0af7651916cd43dd8448eb211c80319c"


def test_the_definition_names_ten_fields_and_checks_the_typed_ones():
    """The field order is the documented one; the fold checks every int and bool field."""
    assert STAGED_FIELDS == (
        "end_ns", "start_ns", "api_code", "org_code", "success",
        "error_code", "error_message", "request_size", "response_size", "trace_id",
    )  # fmt: skip
    assert STAGED_WIDTH == 10
    assert CHECKED_FIELDS == {
        "end_ns": "iu", "start_ns": "iu", "success": "b",
        "request_size": "iu", "response_size": "iu",
    }  # fmt: skip


@pytest.mark.parametrize("ok", [True, False], ids=["success", "error"])
def test_the_collectors_end_stages_a_staged_call(clocked, clock, ok):
    """record_api_call_end's hand-built tuple is a StagedCall of the clock's readings."""
    call_id = clocked.record_api_call_start("2207", "H1", 120, TRACE, "http")
    start = clock.monotonic_ns()
    clock.advance(0.25)
    if ok:
        clocked.record_api_call_end(call_id, "success", response_size=2048)
    else:
        clocked.record_api_call_end(call_id, "error", "E1", "失败", 2048)
    call = staged_call(clocked.store.staging)
    assert call == StagedCall(
        clock.monotonic_ns(), start, "2207", "H1", ok,
        None if ok else "E1", None if ok else "失败", 120, 2048, TRACE,
    )  # fmt: skip


def test_record_api_call_stages_a_staged_call_from_seconds(clocked, clock):
    """The explicit API converts its epoch seconds to the clock's ns, and stores them back."""
    clocked.record_api_call("2207", "H1", "success", 250.0, timestamp=clock.wall() - 60)
    call = staged_call(clocked.store.staging)
    assert call.end_ns == clock.monotonic_ns() - 60 * 10**9
    assert call.end_ns - call.start_ns == 250 * 10**6
    (stored,) = clocked.get_recent_calls()
    assert (stored.end_time, stored.duration_ms) == (clock.wall() - 60, 250.0)


def _good(collector: MetricsCollector, clock: ManualClock, n: int) -> None:
    for _ in range(n):
        call_id = collector.record_api_call_start("2207", "H43010500001", 100, TRACE)
        clock.advance(0.05)
        collector.record_api_call_end(call_id, "success", response_size=200)


def test_a_malformed_record_drops_its_batch_whole_counted_and_logged_once(config, clock, caplog):
    """A 9-field record among good ones shifts nothing: its batch is dropped, counted in
    store_malformed and logged once; the calls around it in other batches are intact."""
    collector = MetricsCollector(config.replace(fold_batch_size=8), clock=clock)
    staging = collector.store.staging
    with caplog.at_level(logging.WARNING, logger="medical_insurance_sdk.monitoring"):
        _good(collector, clock, 8)  # a batch of its own, folded
        _good(collector, clock, 3)
        staging.extend((clock.monotonic_ns(), 0, "2207", "H1", True, None, None, 1, 1))
        _good(collector, clock, 5)  # reaches the fold: these 9 records are dropped
        # two torn records whose widths add up to whole ones: the types give them away
        staging.extend((clock.monotonic_ns(), 0, "2207", "H1", True, None, None, 1, 1))
        staging.extend((clock.monotonic_ns(), 0, "2207", "H1", True, None, None, 1, 1, TRACE, 7))
        collector.store.fold()
        _good(collector, clock, 4)
        stats = collector.get_api_statistics(time_range_minutes=60)
    calls = collector.get_recent_calls(100)
    assert len(calls) == 12
    assert {(c.api_code, c.org_code, c.status) for c in calls} == {
        ("2207", "H43010500001", "success")
    }
    assert {round(c.duration_ms) for c in calls} == {50}
    assert {(c.request_size, c.response_size) for c in calls} == {(100, 200)}
    assert (stats["total_calls"], stats["failed_calls"]) == (12, 0)
    health = collector.monitoring_health()
    assert health["dropped"]["store_malformed"] == 9 + 2
    assert health["errors"] == {"store_malformed": 2}
    logged = [r for r in caplog.records if "store_malformed" in r.getMessage()]
    assert len(logged) == 1
    assert TRACE not in logged[0].getMessage()
    collector.shutdown()


def test_a_shifted_size_or_flag_is_caught_by_its_column_type(config, clock):
    """Whole records with a float size, a None flag or a str reading are malformed too."""
    collector = MetricsCollector(config, clock=clock)
    staging = collector.store.staging
    for bad in (
        (1, 0, "2207", "H1", True, None, None, 1.5, 1, None),
        (1, 0, "2207", "H1", None, None, None, 1, 1, None),
        ("1", 0, "2207", "H1", True, None, None, 1, 1, None),
        (1.0, 0.5, "2207", "H1", True, None, None, 1, 1, None),
    ):
        staging.extend(bad)
        collector.store.fold()
    assert len(collector.store) == 0
    assert collector.monitoring_health()["dropped"]["store_malformed"] == 4
    # a size beyond every integer type is clipped, as every too-large size, not dropped
    staging.extend((1, 0, "2207", "H1", True, None, None, 2**70, 5, None))
    (call,) = collector.get_recent_calls()
    assert (call.request_size, call.response_size) == (2**32 - 1, 5)
    collector.shutdown()
