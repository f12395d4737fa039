"""The short window's figures per (API, org) series, from the rollups of its calls.

The multi-window evaluation (:mod:`.detection`) reads them: calls, system errors,
business refusals, failures, the p50 and p95 (read from the summed histogram with the exact
minimum and maximum, as the incident replay reads it) and the calls above a latency.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.latency_buckets import percentiles
from medical_insurance_sdk.core.collection.rollups import RollupFrame

__all__ = ["RECENT_MINUTES", "RecentCounts", "ShortWindow", "recent_counts", "short_window"]

#: The recent window (minutes) whose clean calls block a late fire of a thin series.
RECENT_MINUTES = 5


@dataclass(frozen=True)
class ShortWindow:
    """Figures of every (API, org) series with calls in the short window."""

    minutes: float
    index: dict[tuple[str, str], int]
    calls: npt.NDArray[np.float64]
    system: npt.NDArray[np.float64]
    refused: npt.NDArray[np.float64]
    failed: npt.NDArray[np.float64]
    p95: npt.NDArray[np.float64]
    p50: npt.NDArray[np.float64]
    #: calls above a latency (seconds) per series: ``slow(limits)``
    slow: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]


def short_window(frame: RollupFrame, minutes: float, p95: bool = True) -> ShortWindow:
    """The short window's figures from the rollups of its calls (``p95=False``: no
    percentiles, NaN)."""
    n_org = max(len(frame.org_codes), 1)
    pair = frame.api.astype(np.int64) * n_org + frame.org
    keys, inverse = np.unique(pair, return_inverse=True)
    group = inverse.reshape(-1).astype(np.int64)
    n = int(keys.size)

    def add(col: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return np.bincount(group, weights=col.astype(np.float64), minlength=n).astype(np.float64)

    entry_row = np.repeat(np.arange(len(frame), dtype=np.int64), np.diff(frame.hist_offsets))
    lower = np.concatenate(([0.0], frame.bounds[:-1]))

    def slow(limits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        above = lower[frame.hist_bucket] >= limits[group[entry_row]]
        return np.bincount(group[entry_row], weights=frame.hist_count * above, minlength=n).astype(
            np.float64
        )

    index = {
        (frame.api_codes[int(k) // n_org], frame.org_codes[int(k) % n_org]): i
        for i, k in enumerate(keys.tolist())
    }
    calls = add(frame.calls)
    p50s, p95s = _percentiles(frame, group, n) if p95 else (np.full(n, np.nan),) * 2
    return ShortWindow(
        minutes=minutes,
        index=index,
        calls=calls,
        system=add(frame.system_errors),
        refused=add(frame.business_errors),
        failed=calls - add(frame.successes),
        p95=p95s,
        p50=p50s,
        slow=slow,
    )


def _percentiles(
    frame: RollupFrame, group: npt.NDArray[np.int64], n: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The p50 and p95 (ms) per series, read as the incident replay reads them."""
    totals = frame.totals(group, n)
    found = percentiles(
        totals.histogram, frame.bounds, (50.0, 95.0), totals.latency_min, totals.latency_max
    )
    return found[0] * 1000.0, found[1] * 1000.0


@dataclass(frozen=True)
class RecentCounts:
    """Calls, system errors and failures per (API, org) of the recent window."""

    index: dict[tuple[str, str], int]
    calls: npt.NDArray[np.float64]
    system: npt.NDArray[np.float64]
    failed: npt.NDArray[np.float64]
    slow: npt.NDArray[np.float64]  # calls above the API's p95 limit times 1 - hysteresis

    def p95_clean(self, key: tuple[str, str]) -> bool:
        """The series has calls and its p95 is inside the margin (the 95th percentile's
        upper order statistic is not among the slow calls)."""
        i = self.index.get(key)
        if i is None or self.calls[i] <= 0:
            return False
        n = int(self.calls[i])
        upper = math.ceil(0.95 * (n - 1) - 1e-12)  # 0-based rank of the upper neighbour
        return bool(self.slow[i] <= n - 1 - upper)

    def shares(self, key: tuple[str, str]) -> tuple[float, float, float] | None:
        """``(calls, system share, failed share)`` of one series; None without calls."""
        i = self.index.get(key)
        if i is None or self.calls[i] <= 0:
            return None
        n = float(self.calls[i])
        return n, float(self.system[i]) / n, float(self.failed[i]) / n


def recent_counts(
    api_codes: tuple[str, ...],
    org_codes: tuple[str, ...],
    api: npt.NDArray[np.int64],
    org: npt.NDArray[np.int64],
    calls: npt.NDArray[np.int64],
    system: npt.NDArray[np.int64],
    failed: npt.NDArray[np.int64],
    slow: npt.NDArray[np.int64],
) -> RecentCounts:
    """Counts per series from per-row (a call, or a rollup) API and org indexes."""
    n_org = max(len(org_codes), 1)
    keys, inverse = np.unique(api.astype(np.int64) * n_org + org, return_inverse=True)
    group = inverse.reshape(-1)
    n = int(keys.size)

    def add(col: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return np.bincount(group, weights=col.astype(np.float64), minlength=n).astype(np.float64)

    index = {
        (api_codes[int(k) // n_org], org_codes[int(k) % n_org]): i
        for i, k in enumerate(keys.tolist())
    }
    return RecentCounts(index, add(calls), add(system), add(failed), add(slow))
