"""CallStore: bounded columnar storage, eviction, retention, snapshots."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.core.collection.store import RECORD_DTYPES, CallStore, StagedCall
from medical_insurance_sdk.core.runtime.clock import ManualClock


def _call(ts: float, api: str = "1101", ok: bool = True, dur: float = 0.1) -> StagedCall:
    """A call ending at ``ts`` epoch seconds (for a store whose clock starts at epoch 0)."""
    error = None if ok else "E"
    return StagedCall.from_seconds(ts, dur, api, "H1", ok, error, wall_offset=0.0)


def test_store_evicts_oldest_beyond_capacity():
    """The store keeps the newest `capacity` calls and counts the evicted."""
    store = CallStore(1000, batch_size=64)
    for i in range(2500):
        store.append(_call(float(i)))
    snap = store.snapshot()
    assert len(snap) == 1000
    assert snap.timestamp[0] == 1500.0
    assert snap.timestamp[-1] == 2499.0
    assert store.evicted == 1500


def test_record_is_at_most_64_bytes():
    """A stored call costs at most 64 bytes in the columns, measured at 100k calls."""
    assert sum(np.dtype(dt).itemsize for dt in RECORD_DTYPES.values()) <= 64
    store = CallStore(100_000)
    for i in range(100_000):
        store.append(_call(float(i), api=f"{1100 + i % 40}"))
    store.fold()
    assert store.nbytes / 100_000 <= 64


def test_snapshot_filters_window_and_is_immutable_copy():
    """A snapshot holds the calls in [since, until] and later writes do not change it."""
    store = CallStore(100)
    for i in range(10):
        store.append(_call(float(i)))
    snap = store.snapshot(since=3.0, until=6.0)
    assert list(snap.timestamp) == [3.0, 4.0, 5.0, 6.0]
    version = snap.version
    store.append(_call(7.5))
    assert len(store.snapshot(since=3.0, until=8.0)) == 7
    assert list(snap.timestamp) == [3.0, 4.0, 5.0, 6.0]
    assert store.version != version


def test_retention_removes_old_prefix_and_out_of_order_records():
    """remove_older_than drops old calls, including ones imported out of order."""
    store = CallStore(1000, batch_size=10)
    for i in range(100):
        store.append(_call(float(i)))
    assert store.remove_older_than(50.0) == 50
    assert len(store) == 50
    store.append(_call(10.0))  # a historical import, out of order
    store.append(_call(200.0))
    assert store.remove_older_than(60.0) == 11
    snap = store.snapshot()
    assert snap.timestamp.min() == 60.0
    assert len(snap) == 41
    assert store.expired == 61


def test_cleanup_old_metrics_applies_retention_days(clocked, clock):
    """cleanup_old_metrics removes calls older than retention_days."""
    now = clock.wall()
    clocked.record_api_call("1101", "H1", "success", 5, timestamp=now - 8 * 86400)
    clocked.record_api_call("1101", "H1", "success", 5, timestamp=now - 6 * 86400)
    clocked.record_custom_metric("queue_depth", 1)
    assert clocked.cleanup_old_metrics() == 1
    assert len(clocked.snapshot()) == 1


def test_background_retention_thread_is_daemon(config):
    """The housekeeping thread is a daemon: it never keeps a program alive."""
    before = set(threading.enumerate())
    c = MetricsCollector(config.replace(background=True, collection_interval=0.05))
    started = [t for t in threading.enumerate() if t not in before]
    housekeeping = [t for t in started if t.name == "misdk-housekeeping"]
    assert len(housekeeping) == 1
    assert housekeeping[0].is_alive()
    assert housekeeping[0].daemon
    c.shutdown()
    assert not housekeeping[0].is_alive()


def test_snapshot_api_mask_and_select():
    """api_mask selects one API; an unknown API selects nothing."""
    store = CallStore(100)
    for i, api in enumerate(["1101", "2207", "1101"]):
        store.append(_call(float(i), api=api))
    snap = store.snapshot()
    sub = snap.select(snap.api_mask("1101"))
    assert list(sub.timestamp) == [0.0, 2.0]
    assert not snap.api_mask("9999").any()


def test_snapshot_columns_copies_only_those_and_rows_keep_them_absent():
    """columns= copies the named columns; the others read as zeros and cost no memory."""
    store = CallStore(100)
    for i, api in enumerate(["1101", "2207", "1101", "2207"]):
        store.append(
            StagedCall.from_seconds(float(i), 0.1 * (i + 1), api, "H1", True, None, None, 10, 20,
                                    wall_offset=0.0)
        )  # fmt: skip
    full = store.snapshot()
    part = store.snapshot(columns=("timestamp", "duration", "api"))
    assert list(part.duration) == list(full.duration)
    assert list(part.request_size) == [0, 0, 0, 0]
    assert part.request_size.strides == (0,)  # a broadcast view, not a copy
    assert list(full.request_size) == [10, 10, 10, 10]
    index = np.array([3, 1], dtype=np.intp)
    taken = part.take(index)
    assert list(taken.timestamp) == [3.0, 1.0]
    assert list(taken.request_size) == [0, 0]
    assert taken.request_size.strides == (0,)
    assert list(full.take(index).request_size) == [10, 10]
    rows = part.rows(1, 3)
    assert list(rows.api) == [part.api[1], part.api[2]]
    assert len(rows.org) == 2
    assert list(part.select(part.api_mask("2207")).timestamp) == [1.0, 3.0]
    assert len(store.snapshot(since=99.0, columns=("timestamp",)).org) == 0


def test_clock_readings_become_the_same_seconds_as_the_clock_gives():
    """Staged (end ns, start ns) fold to ``end / 1e9 + wall_offset`` (the clock's own
    ``wall()``) and ``(end - start) / 1e9``, exactly."""
    offset = 1_700_000_000.123
    clock = ManualClock(offset)
    store = CallStore(100, wall_offset=offset)
    readings = [(8_625_437_120_317 + 7919 * i, 8_625_437_000_000 + 13 * i) for i in range(6)]
    walls = []
    for end, start in readings:
        store.append(StagedCall(end, start, "1101", "H1", True, None, None, 0, 0, None))
        clock.advance((end - clock.monotonic_ns()) / 1e9)
        walls.append(clock.wall())
    snap = store.snapshot()
    assert list(snap.timestamp) == [end / 1e9 + offset for end, _ in readings]
    assert list(snap.timestamp) == walls
    assert list(snap.duration) == [(end - start) / 1e9 for end, start in readings]


def test_staged_times_have_one_unit_and_seconds_are_converted_explicitly():
    """An int time is clock nanoseconds, always; a float one is refused, naming the way
    to pass seconds; from_seconds stores epoch seconds and durations exactly."""
    store = CallStore(100, wall_offset=1_699_999_000.0)
    with pytest.raises(ValueError, match=r"end_ns.*int.*from_seconds"):
        store.append(StagedCall(1_700_000_000.0, 0.25, "1101", "H1", True, None, None, 0, 0, None))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"start_ns.*int"):
        store.append(StagedCall(1_000, 0.5, "1101", "H1", True, None, None, 0, 0, None))  # type: ignore[arg-type]
    assert len(store) == 0
    store.append(
        StagedCall(1_700_000_000, 1_450_000_000, "1101", "H1", True, None, None, 0, 0, None)
    )
    store.append(
        StagedCall.from_seconds(
            1_700_000_000.0, 0.25, "2207", "H1", True, wall_offset=1_699_999_000.0
        )
    )
    ns_call, seconds_call = zip(store.snapshot().timestamp, store.snapshot().duration, strict=True)
    assert ns_call == (1_699_999_000.0 + 1.7, 0.25)  # 1.7e9 ns after the clock's zero
    assert seconds_call == (1_700_000_000.0, 0.25)
    with pytest.raises(ValueError, match="finite"):
        StagedCall.from_seconds(float("nan"), 0.25, "1101", "H1", True, wall_offset=0.0)
    with pytest.raises(ValueError, match="out of range"):
        store.append(StagedCall.from_seconds(1e12, 0.0, "1101", "H1", True, wall_offset=0.0))


@pytest.mark.parametrize("columns", [("duration",), ("timestamp", "nope")])
def test_snapshot_columns_misuse_names_the_problem(columns):
    """Unknown columns, or no timestamp (which gives a snapshot its length), raise."""
    store = CallStore(10)
    with pytest.raises(ValueError, match=r"timestamp|nope"):
        store.snapshot(columns=columns)


def test_duration_ms_is_computed_once_and_read_only():
    """duration_ms is cached on the snapshot and cannot be changed through it."""
    store = CallStore(10)
    store.append(_call(1.0, dur=0.25))
    snap = store.snapshot()
    assert snap.duration_ms is snap.duration_ms
    assert list(snap.duration_ms) == [250.0]
    with pytest.raises(ValueError, match="read-only"):
        snap.duration_ms[0] = 1.0


@pytest.mark.parametrize("capacity", [1, 7, 16384, 20000])
def test_capacity_edge_cases(capacity):
    """Any capacity holds exactly min(n, capacity) calls, newest last."""
    store = CallStore(capacity, batch_size=100)
    n = 20500
    for i in range(n):
        store.append(_call(float(i)))
    snap = store.snapshot()
    assert len(snap) == min(n, capacity)
    assert snap.timestamp[-1] == n - 1
    assert np.all(np.diff(snap.timestamp) == 1.0)
