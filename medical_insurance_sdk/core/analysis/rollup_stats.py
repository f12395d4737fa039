"""Descriptive statistics from rollups: the ring's result types, computed per group.

Given :class:`~medical_insurance_sdk.core.collection.rollups.RollupTotals` (rollups
summed per API, per (API, org) or per time bucket), these functions give the same
:class:`BasicStats`, :class:`ResponseTimeStats` and :class:`ErrorAnalysis` that
:mod:`.descriptive` computes from exact records:

* **exact** (when the source knows them): calls, successes, failures, rates, error
  counts by code, org and class, the mean latency (from the latency sum), the minimum
  and maximum, and the sample standard deviation (from the sum of squares);
* **from the histogram**: the percentiles (within the histogram's stated error: 2 % with
  the embedded history's buckets, the bucket width with Prometheus buckets), and counts
  of calls at or below a latency (:func:`count_at_most`, for the Apdex);
* **a lower bound**: the most calls in flight at once, the largest of the rollups'
  figures (calls folded in different batches or intervals are not compared).

A figure the source does not know (NaN) is read from the histogram instead: the mean
and the standard deviation from bucket midpoints, the extremes as the 0th/100th
percentiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.analysis.descriptive import (
    PERCENTILES,
    BasicStats,
    ErrorAnalysis,
    ResponseTimeStats,
    error_class,
)
from medical_insurance_sdk.core.collection.latency_buckets import percentiles
from medical_insurance_sdk.core.collection.rollups import RollupTotals
from medical_insurance_sdk.redaction import mask_text

__all__ = [
    "LatencyFigures",
    "basic_stats_of",
    "count_at_most",
    "error_analysis_of",
    "latency_figures",
]

_F8 = npt.NDArray[np.float64]
_I8 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)  # array fields
class LatencyFigures:
    """Per-group latency figures in milliseconds (NaN where a group has no call).

    ``percentile[k]`` holds the ``qs[k]`` percentile of every group.
    """

    count: _I8
    mean: _F8
    min: _F8
    max: _F8
    std: _F8
    percentile: _F8
    qs: tuple[float, ...]

    def stats(self, i: int) -> ResponseTimeStats:
        """Group ``i``'s :class:`ResponseTimeStats` (zeros when it has no call)."""
        n = int(self.count[i])
        if n == 0:
            return ResponseTimeStats(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        p = dict(zip(self.qs, self.percentile[:, i].tolist(), strict=True))
        return ResponseTimeStats(
            count=n,
            mean=float(self.mean[i]),
            median=p[50.0],
            min=float(self.min[i]),
            max=float(self.max[i]),
            std_dev=float(self.std[i]),
            p90=p[90.0],
            p95=p[95.0],
            p99=p[99.0],
        )


def latency_figures(totals: RollupTotals, qs: tuple[float, ...] = PERCENTILES) -> LatencyFigures:
    """Every group's latency figures: exact from the sums and extremes when known.

    A figure the source does not know (NaN) is read from the histogram: the mean and the
    sum of squares from bucket midpoints, the extremes as the 0th and 100th percentiles.
    """
    t = totals
    n = t.calls.astype(np.float64)
    has = n > 0
    safe = np.maximum(n, 1.0)
    upper = np.asarray(t.bounds, dtype=np.float64)
    lower = np.concatenate(([0.0], upper[:-1]))
    mid = np.where(np.isfinite(upper), (lower + upper) / 2.0, lower)
    hist = t.histogram.astype(np.float64)
    hist_n = np.maximum(hist.sum(axis=1), 1.0)
    est_mean = hist @ mid / hist_n
    est_sq = hist @ (mid * mid) / hist_n
    mean = np.where(np.isnan(t.latency_sum), est_mean, t.latency_sum / safe)
    sumsq = np.where(np.isnan(t.latency_sumsq), est_sq * n, t.latency_sumsq)
    var = (sumsq - n * mean * mean) / np.maximum(n - 1.0, 1.0)
    found = percentiles(t.histogram, t.bounds, (0.0, 100.0, *qs), t.latency_min, t.latency_max)
    low = np.where(np.isnan(t.latency_min), found[0], t.latency_min)
    high = np.where(np.isnan(t.latency_max), found[1], t.latency_max)
    nan = np.full(n.size, np.nan)
    return LatencyFigures(
        count=t.calls,
        mean=np.where(has, mean * 1000.0, nan),
        min=np.where(has, low * 1000.0, nan),
        max=np.where(has, high * 1000.0, nan),
        std=np.where(n > 1, np.sqrt(np.maximum(var, 0.0)) * 1000.0, 0.0),
        percentile=found[2:] * 1000.0,
        qs=qs,
    )


def basic_stats_of(totals: RollupTotals, i: int) -> BasicStats:
    """Group ``i``'s counts and rates; the concurrency is the rollups' largest (a lower bound)."""
    total = int(totals.calls[i])
    ok = int(totals.successes[i])
    return BasicStats(
        total_calls=total,
        successful_calls=ok,
        failed_calls=total - ok,
        success_rate=ok / total if total else 0.0,
        error_rate=(total - ok) / total if total else 0.0,
        max_concurrent_calls=max(int(totals.max_concurrency[i]), 0),
    )


def _sorted_counts(pairs: dict[str, int]) -> dict[str, int]:
    return dict(sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0])))


def error_analysis_of(
    totals: RollupTotals,
    i: int,
    org_totals: RollupTotals,
    org_rows: npt.NDArray[np.intp],
    org_names: list[str],
) -> ErrorAnalysis:
    """Group ``i``'s failures by code, org and class.

    ``org_totals`` rows ``org_rows`` are the group's orgs, named ``org_names``. Failures
    without a code count as ``"unknown"``, as in :func:`.descriptive.error_analysis`.
    """
    failed = int(totals.calls[i] - totals.successes[i])
    if failed <= 0:
        return ErrorAnalysis(0)
    codes = totals.errors[i]
    types: dict[str, int] = {}
    for k in np.flatnonzero(codes).tolist():
        # error codes are bounded SDK tokens; masking guards against a caller's free text
        safe = mask_text(totals.error_codes[k])
        types[safe] = types.get(safe, 0) + int(codes[k])
    unknown = failed - int(codes.sum())
    if unknown > 0:
        types["unknown"] = types.get("unknown", 0) + unknown
    types = _sorted_counts(types)
    classes: dict[str, int] = {}
    for code, n in types.items():
        name = error_class(None if code == "unknown" else code)
        classes[name] = classes.get(name, 0) + n
    calls = org_totals.calls[org_rows]
    fails = calls - org_totals.successes[org_rows]
    rate_by_org = {
        org_names[k]: float(fails[k] / calls[k]) for k in np.flatnonzero(calls > 0).tolist()
    }
    by_org = {org_names[k]: int(fails[k]) for k in np.flatnonzero(fails > 0).tolist()}
    return ErrorAnalysis(
        total_errors=failed,
        error_types=types,
        error_rate_by_org=dict(sorted(rate_by_org.items())),
        errors_by_org=_sorted_counts(by_org),
        errors_by_class=_sorted_counts(classes),
        system_errors=int(totals.system_errors[i]),
    )


def count_at_most(totals: RollupTotals, limit_seconds: _F8) -> _F8:
    """Per group, the calls with latency ``<= limit_seconds[g]``, read from the histogram.

    Inside the bucket holding the limit, calls are placed as :func:`percentiles` places
    them (the ``k``-th of ``c`` at ``lo + (hi - lo)·(k + 0.5)/c``), so the count agrees
    with the percentiles; the exact minimum and maximum settle the ends. The error is
    at most the calls in that one bucket (2 % wide with the embedded history's buckets).
    """
    hist = totals.histogram
    groups = hist.shape[0]
    x = np.asarray(limit_seconds, dtype=np.float64)
    upper = np.asarray(totals.bounds, dtype=np.float64)
    lower = np.concatenate(([0.0], upper[:-1]))
    b = np.minimum(np.searchsorted(upper, x, side="left"), upper.size - 1)
    cum = hist.cumsum(axis=1)
    rows = np.arange(groups)
    before = np.where(b > 0, cum[rows, np.maximum(b - 1, 0)], 0).astype(np.float64)
    c = hist[rows, b].astype(np.float64)
    lo = lower[b]
    hi = upper[b].copy()
    top = ~np.isfinite(hi)
    hi[top] = np.where(np.isnan(totals.latency_max[top]), lo[top], totals.latency_max[top])
    width = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.where(
            width > 0, np.floor((x - lo) / np.where(width > 0, width, 1.0) * c + 0.5), c
        )
    inside = np.clip(inside, 0.0, c)
    count = before + inside
    total = hist.sum(axis=1).astype(np.float64)
    count = np.where(totals.latency_max <= x, total, count)
    count = np.where(totals.latency_min > x, 0.0, count)
    result: _F8 = count
    return result
