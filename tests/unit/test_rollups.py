"""Rollups: exact counts, the histogram's stated error, merging, selection and concatenation."""

from __future__ import annotations

import numpy as np
import pytest

from medical_insurance_sdk.core.collection.latency_buckets import (
    BOUNDS,
    MIN_SECONDS,
    RELATIVE_ERROR,
    bucket_index,
    percentiles,
)
from medical_insurance_sdk.core.collection.rollups import (
    HOUR,
    MINUTE,
    RollupFrame,
    frame_from_calls,
)

T0 = 1_700_000_040.0  # a minute boundary
CODES = ("BIZ_1001", "TIMEOUT_READ", "NETWORK")


def _calls(n: int, seed: int = 1, span: float = 3 * HOUR) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    success = rng.random(n) > 0.2
    error = np.where(success, -1, rng.integers(-1, len(CODES), n)).astype(np.int32)
    return {
        "timestamp": T0 + np.sort(rng.uniform(0, span, n)),
        "duration": rng.lognormal(-1.5, 1.0, n),
        "api": rng.integers(0, 3, n).astype(np.int32),
        "org": rng.integers(0, 4, n).astype(np.int32),
        "error": error,
        "success": success,
        "request_size": rng.integers(0, 5000, n).astype(np.uint32),
        "response_size": rng.integers(0, 5000, n).astype(np.uint32),
        "api_codes": ("1101", "2207", "2201"),
        "org_codes": ("H1", "H2", "H3", "H4"),
        "error_codes": CODES,
    }


def test_every_duration_lies_in_its_bucket() -> None:
    """A duration is above the previous bound and at or below its own, bounds included."""
    values = np.concatenate(
        (BOUNDS[:-1], BOUNDS[:-1] * 1.0000001, [0.0, MIN_SECONDS / 2, 5000.0, 1e-9])
    )
    index = bucket_index(values)
    assert np.all(values <= BOUNDS[index])
    inner = index > 0
    assert np.all(values[inner] > BOUNDS[index[inner] - 1])


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 2, 37, 5000])
def test_percentiles_are_within_the_stated_error_of_numpy(seed: int, n: int) -> None:
    """Percentiles from the buckets are within 2 % of numpy's exact (linear) percentiles."""
    rng = np.random.default_rng(seed)
    values = np.concatenate((rng.lognormal(-1.5, 1.2, n), [MIN_SECONDS * 1.5]))
    counts = np.bincount(bucket_index(values), minlength=len(BOUNDS))
    qs = (0.0, 50.0, 90.0, 95.0, 99.0, 100.0)
    est = percentiles(counts[None, :], BOUNDS, qs, values.min()[None], values.max()[None])[:, 0]
    exact = np.percentile(values, qs)
    assert pytest.approx(0.02) == RELATIVE_ERROR
    assert np.all(np.abs(est - exact) <= RELATIVE_ERROR * exact + 1e-12)


def test_frame_counts_are_exact() -> None:
    """Calls, outcomes, error codes, latency sums and extremes equal the records'."""
    calls = _calls(4000)
    frame = frame_from_calls(**calls)  # type: ignore[arg-type]
    success = np.asarray(calls["success"])
    error = np.asarray(calls["error"])
    duration = np.asarray(calls["duration"])
    assert frame.total_calls == 4000
    assert int(frame.successes.sum()) == int(success.sum())
    business = (~success) & (error == 0)
    assert int(frame.business_errors.sum()) == int(business.sum())
    assert int(frame.system_errors.sum()) == int((~success).sum() - business.sum())
    assert int(frame.hist_count.sum()) == 4000
    totals = frame.totals(np.zeros(len(frame), np.int64), 1)
    assert totals.latency_sum[0] == pytest.approx(duration.sum())
    assert totals.latency_sumsq[0] == pytest.approx((duration**2).sum())
    assert totals.latency_min[0] == duration.min()
    assert totals.latency_max[0] == duration.max()
    for i in range(len(CODES)):
        assert totals.errors[0, i] == int(((~success) & (error == i)).sum())
    assert np.all(frame.start % MINUTE == 0)


def test_merging_to_hours_keeps_every_count() -> None:
    """Minute rollups summed into hours hold the same calls, errors and buckets per API."""
    frame = frame_from_calls(**_calls(3000))  # type: ignore[arg-type]
    hours = frame.merge(HOUR)
    assert set(hours.step.tolist()) == {HOUR}
    assert len(hours) < len(frame)
    a = frame.totals(frame.api.astype(np.int64), 3)
    b = hours.totals(hours.api.astype(np.int64), 3)
    for name in ("calls", "successes", "business_errors", "system_errors", "histogram", "errors"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.allclose(a.latency_sum, b.latency_sum)
    assert np.array_equal(a.latency_max, b.latency_max)


def test_select_and_concat_round_trip() -> None:
    """Splitting a frame by time and joining the halves gives the same totals."""
    frame = frame_from_calls(**_calls(2000))  # type: ignore[arg-type]
    cut = T0 + HOUR
    early, late = frame.window(0, cut), frame.window(cut, np.inf)
    assert len(early) + len(late) == len(frame)
    other = frame_from_calls(**{**_calls(500, seed=9), "api_codes": ("9001", "1101", "X")})  # type: ignore[arg-type]
    joined = RollupFrame.concat([early, late, other])
    assert joined.total_calls == 2500
    assert "9001" in joined.api_codes
    ours = joined.for_api("1101").total_calls
    expected = frame.for_api("1101").total_calls + other.for_api("1101").total_calls
    assert ours == expected
    assert int(joined.hist_count.sum()) == 2500


def test_unknown_outcomes_are_added_to_their_rows() -> None:
    """Outcome-unknown counts land on the matching rollup, or on a row of their own."""
    frame = frame_from_calls(**_calls(200))  # type: ignore[arg-type]
    row = 0
    key = (
        float(frame.start[row]),
        frame.api_codes[frame.api[row]],
        frame.org_codes[frame.org[row]],
    )
    added = frame.with_unknown_outcomes({key: 2, (T0, "2401", "H9"): 1})
    assert int(added.unknown_outcomes.sum()) == 3
    assert added.total_calls == 200
    assert added.for_api("2401").total_calls == 0


def test_empty_frame_has_no_calls() -> None:
    """An empty frame merges, selects and sums to nothing."""
    empty = RollupFrame.empty()
    assert len(empty.merge(HOUR)) == 0
    assert empty.window(0, 1e12).total_calls == 0
    assert RollupFrame.concat([empty, empty]).total_calls == 0


def test_builder_rolls_up_folded_batches_and_drains_closed_minutes() -> None:
    """The store's folds feed the builder; drain takes closed minutes only, exactly once."""
    from medical_insurance_sdk.core import ManualClock, MetricConfig, MetricsCollector
    from medical_insurance_sdk.core.collection.rollup_builder import RollupBuilder

    clock = ManualClock(T0)
    collector = MetricsCollector(MetricConfig(prometheus_port=0, background=False), clock=clock)
    builder = RollupBuilder()
    collector.store.add_listener(builder)
    try:
        for i in range(150):
            ok = i % 5 != 0
            collector.record_api_call(
                "1101" if i % 3 else "2207",
                "H1",
                "success" if ok else "error",
                50.0,
                error_code=None if ok else "BIZ_X",
            )
            clock.advance(1.0)
        collector.store.fold()
        builder.note_unknown("2207", "H1", T0 + 10)
        held = builder.peek()
        assert held.total_calls == 150
        closed = builder.drain(T0 + 2 * MINUTE)
        assert closed.total_calls == 120
        assert int(closed.unknown_outcomes.sum()) == 1
        assert builder.drain(T0 + 2 * MINUTE).total_calls == 0
        assert builder.peek().total_calls == 30
        builder.restore(closed)
        assert builder.peek().total_calls == 150
    finally:
        collector.shutdown()


def test_memory_source_windows_and_bad_windows() -> None:
    """A memory source answers rows starting in the window; a reversed window is refused."""
    from medical_insurance_sdk.core.history import MemorySource, RollupSource

    frame = frame_from_calls(**_calls(1000))  # type: ignore[arg-type]
    source = MemorySource(frame, now=T0 + 3 * HOUR)
    assert isinstance(source, RollupSource)
    assert source.rollups(0, T0 + 10 * HOUR).total_calls == 1000
    assert (
        source.rollups(0, T0 + 10 * HOUR, api_code="2207").total_calls
        == frame.for_api("2207").total_calls
    )
    with pytest.raises(ValueError, match="starts after"):
        source.rollups(T0 + 10, T0)
