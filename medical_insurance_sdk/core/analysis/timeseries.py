"""Time buckets of a window: calls, errors and latency per bucket, and their trends.

The window ``[now - minutes, now]`` is cut into equal buckets of ``interval_minutes``
(chosen so that there are at most 60 buckets: 1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720
or 1440 minutes); bucket ``i`` starts at ``now - minutes + i·interval``. A call belongs to
the bucket its end time falls in; a call ending exactly at ``now`` is in the last bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.analysis.descriptive import (
    group_slices,
    sorted_percentiles,
)
from medical_insurance_sdk.core.analysis.trend import Trend, trend_of
from medical_insurance_sdk.core.collection.store import CallSnapshot

__all__ = ["Bucket", "TimeSeries", "bucket_interval_minutes", "time_series"]

_INTERVALS = (1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720, 1440)
MAX_BUCKETS = 60
_QS = (50.0, 95.0, 99.0)


def bucket_interval_minutes(minutes: float) -> int:
    """The smallest listed interval giving at most 60 buckets over ``minutes``."""
    for interval in _INTERVALS:
        if minutes / interval <= MAX_BUCKETS:
            return interval
    return math.ceil(minutes / MAX_BUCKETS)


@dataclass(frozen=True)
class Bucket:
    """Figures of one time bucket (latency in ms; ``None`` when it holds no call)."""

    start: float
    calls: int
    errors: int
    error_rate: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    mean: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "calls": self.calls,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "p50_ms": self.p50,
            "p95_ms": self.p95,
            "p99_ms": self.p99,
            "mean_ms": self.mean,
        }


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def _no_calls() -> npt.NDArray[np.int64]:
    return np.zeros(0, np.int64)


def _no_latency() -> npt.NDArray[np.float64]:
    return np.zeros(0, np.float64)


def _flat() -> Trend:
    return Trend("stable", 0.0, 0.0, 1.0, 0)


@dataclass(frozen=True, eq=False)  # array fields: compare with to_dict()
class TimeSeries:
    """Buckets of the window and the trends of calls and of median latency.

    The per-bucket figures are kept as arrays (``calls[i]`` ... of the bucket starting at
    ``start + i·interval``; NaN latency where a bucket holds no call); :attr:`buckets`
    turns them into :class:`Bucket` objects on first use.
    """

    interval_minutes: int
    start: float = 0.0
    calls: npt.NDArray[np.int64] = field(default_factory=_no_calls)
    errors: npt.NDArray[np.int64] = field(default_factory=_no_calls)
    p50: npt.NDArray[np.float64] = field(default_factory=_no_latency)
    p95: npt.NDArray[np.float64] = field(default_factory=_no_latency)
    p99: npt.NDArray[np.float64] = field(default_factory=_no_latency)
    mean: npt.NDArray[np.float64] = field(default_factory=_no_latency)
    call_trend: Trend = field(default_factory=_flat)
    response_time_trend: Trend = field(default_factory=_flat)

    @cached_property
    def buckets(self) -> list[Bucket]:
        """One :class:`Bucket` per interval, oldest first."""
        width = self.interval_minutes * 60.0
        calls, errors = self.calls.tolist(), self.errors.tolist()
        p50, p95, p99, mean = (a.tolist() for a in (self.p50, self.p95, self.p99, self.mean))
        return [
            Bucket(
                start=self.start + i * width,
                calls=calls[i],
                errors=errors[i],
                error_rate=errors[i] / calls[i] if calls[i] else None,
                p50=_none_if_nan(p50[i]),
                p95=_none_if_nan(p95[i]),
                p99=_none_if_nan(p99[i]),
                mean=_none_if_nan(mean[i]),
            )
            for i in range(len(calls))
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "interval_minutes": self.interval_minutes,
            "time_series": [b.to_dict() for b in self.buckets],
            "call_trend": self.call_trend.to_dict(),
            "response_time_trend": self.response_time_trend.to_dict(),
        }


def _bucket_index(
    ts: npt.NDArray[np.float64], since: float, width: float, n: int
) -> npt.NDArray[np.int32]:
    idx = np.floor((ts - since) / width)
    return np.clip(idx, 0, n - 1).astype(np.int32)


def time_series(
    snap: CallSnapshot,
    minutes: float,
    now: float,
    by_latency: npt.NDArray[np.intp] | None = None,
) -> TimeSeries:
    """Bucket ``snap`` (calls within the window ending at ``now``).

    ``by_latency`` (``argsort`` of the durations) lets every bucket's percentiles come
    from one sort; without it each bucket is partitioned separately.
    """
    interval = bucket_interval_minutes(minutes)
    width = interval * 60.0
    n = max(1, math.ceil(minutes / interval - 1e-9))
    since = now - n * width
    idx = _bucket_index(snap.timestamp, since, width, n)
    calls = np.bincount(idx, minlength=n)
    errors = np.bincount(idx[~snap.success], minlength=n)
    ms = snap.duration_ms
    sums = np.bincount(idx, weights=ms, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(calls > 0, sums / np.maximum(calls, 1), np.nan)
    if by_latency is not None:
        # in latency order, a stable radix sort by bucket keeps each bucket sorted
        order = by_latency[np.argsort(idx[by_latency].astype(np.int16), kind="stable")]
        starts = np.concatenate(([0], np.cumsum(calls)[:-1])).astype(np.intp)
        p50, p95, p99 = sorted_percentiles(ms[order], starts, calls.astype(np.intp), _QS)
    else:
        p50, p95, p99 = (np.full(n, np.nan) for _ in _QS)
        order, groups = group_slices(idx)
        ordered = ms[order]
        for key, a, b in groups:
            p50[key], p95[key], p99[key] = np.percentile(ordered[a:b], _QS)
    x = np.arange(n, dtype=np.float64)
    has = calls > 0
    return TimeSeries(
        interval_minutes=interval,
        start=since,
        calls=calls,
        errors=errors,
        p50=p50,
        p95=p95,
        p99=p99,
        mean=mean,
        call_trend=trend_of(x, calls.astype(np.float64), bucket_seconds=width, origin=since),
        response_time_trend=trend_of(
            x[has], p50[has], bucket_seconds=width, origin=since, last_bucket=n - 1
        ),
    )
