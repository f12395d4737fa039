"""Window statistics over a :class:`~medical_insurance_sdk.core.collection.store.CallSnapshot`.

Vectorised with numpy: one ``bincount`` per figure, whatever the number of calls.
:func:`api_statistics` backs ``MetricsCollector.get_api_statistics``; its
:meth:`ApiStatistics.to_dict` is the dict shape the original API promises.
:func:`rollup_statistics` computes the same figures from rollups (history): every one
of them is exact (counts, rates, mean time from the latency sums, errors by code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from medical_insurance_sdk.core.collection.rollups import RollupFrame
from medical_insurance_sdk.core.collection.store import CallSnapshot

__all__ = ["ApiBreakdown", "ApiStatistics", "api_statistics", "rollup_statistics"]


@dataclass(frozen=True)
class ApiBreakdown:
    """Figures for one API code within the window."""

    count: int
    success: int
    success_rate: float
    avg_time: float  # ms

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "success": self.success,
            "success_rate": self.success_rate,
            "avg_time": self.avg_time,
        }


@dataclass(frozen=True)
class ApiStatistics:
    """Calls in a time window: totals, rates (fractions 0-1), times in milliseconds."""

    time_range_minutes: float
    timestamp: str
    total_calls: int
    successful_calls: int
    failed_calls: int
    success_rate: float
    average_response_time: float
    api_breakdown: dict[str, ApiBreakdown] = field(default_factory=dict)
    error_breakdown: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_range_minutes": self.time_range_minutes,
            "timestamp": self.timestamp,
            "total_calls": self.total_calls,
            "successful_calls": self.successful_calls,
            "failed_calls": self.failed_calls,
            "success_rate": self.success_rate,
            "average_response_time": self.average_response_time,
            "api_breakdown": {k: v.to_dict() for k, v in self.api_breakdown.items()},
            "error_breakdown": dict(self.error_breakdown),
        }


def api_statistics(snap: CallSnapshot, time_range_minutes: float, now: float) -> ApiStatistics:
    """Compute the statistics of every call in ``snap`` (already cut to the window)."""
    stamp = datetime.fromtimestamp(now, tz=timezone.utc).isoformat()
    total = len(snap)
    if total == 0:
        return ApiStatistics(time_range_minutes, stamp, 0, 0, 0, 0.0, 0.0)
    ok = snap.success
    successes = int(ok.sum())
    ms = snap.duration_ms
    n_api = len(snap.api_codes)
    counts = np.bincount(snap.api, minlength=n_api)
    oks = np.bincount(snap.api, weights=ok.astype(np.float64), minlength=n_api)
    times = np.bincount(snap.api, weights=ms, minlength=n_api)
    breakdown = {
        snap.api_codes[i]: ApiBreakdown(
            count=int(counts[i]),
            success=int(oks[i]),
            success_rate=float(oks[i] / counts[i]),
            avg_time=float(times[i] / counts[i]),
        )
        for i in np.flatnonzero(counts)
    }
    errors: dict[str, int] = {}
    failed_codes = snap.error[~ok]
    if failed_codes.size:
        known = failed_codes[failed_codes >= 0]
        by_code = np.bincount(known, minlength=len(snap.error_codes)) if known.size else None
        if by_code is not None:
            for i in np.flatnonzero(by_code):
                errors[snap.error_codes[i]] = int(by_code[i])
        unknown = int((failed_codes < 0).sum())
        if unknown:
            errors["unknown"] = errors.get("unknown", 0) + unknown
    errors = dict(sorted(errors.items(), key=lambda kv: (-kv[1], kv[0])))
    return ApiStatistics(
        time_range_minutes=time_range_minutes,
        timestamp=stamp,
        total_calls=total,
        successful_calls=successes,
        failed_calls=total - successes,
        success_rate=successes / total,
        average_response_time=float(ms.mean()),
        api_breakdown=dict(sorted(breakdown.items())),
        error_breakdown=errors,
    )


def rollup_statistics(frame: RollupFrame, time_range_minutes: float, now: float) -> ApiStatistics:
    """:func:`api_statistics` of the calls rolled up in ``frame`` (already cut to the window).

    A mean time the source does not know (NaN latency sum) reads as 0.0.
    """
    stamp = datetime.fromtimestamp(now, tz=timezone.utc).isoformat()
    total = frame.total_calls
    if total == 0:
        return ApiStatistics(time_range_minutes, stamp, 0, 0, 0, 0.0, 0.0)
    n_api = len(frame.api_codes)
    api = frame.api
    counts = np.bincount(api, weights=frame.calls, minlength=n_api)
    oks = np.bincount(api, weights=frame.successes, minlength=n_api)
    times = np.nan_to_num(np.bincount(api, weights=frame.latency_sum, minlength=n_api)) * 1000.0
    breakdown = {
        frame.api_codes[i]: ApiBreakdown(
            count=int(counts[i]),
            success=int(oks[i]),
            success_rate=float(oks[i] / counts[i]),
            avg_time=float(times[i] / counts[i]),
        )
        for i in np.flatnonzero(counts)
    }
    by_code = np.bincount(frame.err_code, weights=frame.err_count, minlength=len(frame.error_codes))
    errors = {frame.error_codes[i]: int(by_code[i]) for i in np.flatnonzero(by_code)}
    successes = int(frame.successes.sum())
    unknown = total - successes - int(frame.err_count.sum())
    if unknown > 0:
        errors["unknown"] = errors.get("unknown", 0) + unknown
    errors = dict(sorted(errors.items(), key=lambda kv: (-kv[1], kv[0])))
    return ApiStatistics(
        time_range_minutes=time_range_minutes,
        timestamp=stamp,
        total_calls=total,
        successful_calls=successes,
        failed_calls=total - successes,
        success_rate=successes / total,
        average_response_time=float(times.sum() / total),
        api_breakdown=dict(sorted(breakdown.items())),
        error_breakdown=errors,
    )
