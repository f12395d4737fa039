"""Synthetic hourly history with a known pattern, for the capacity benchmark and tests.

:func:`pattern` is the expected calls per hour: a daily cycle (morning and afternoon
peaks over a night floor, local time UTC+8), a weekly cycle (weekends at 35 %) and
linear growth. :func:`counts` draws Poisson calls around it with multiplicative
log-normal noise. :func:`hourly_frame` turns per-series hourly figures into hour
rollups (a histogram whose p95 is the given latency, and the given peak concurrency).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core import RollupFrame
from medical_insurance_sdk.core.collection.latency_buckets import bucket_index

__all__ = ["MONDAY", "counts", "hourly_frame", "pattern"]

#: 2025-11-03 00:00 at UTC+8, a Monday: history starts at a week's first hour.
MONDAY = 1_762_099_200.0

_F8 = npt.NDArray[np.float64]
_I8 = npt.NDArray[np.int64]


def pattern(hours: int, base: float, growth_per_week: float, offset: int = 0) -> _F8:
    """Expected calls in each hour ``offset .. offset + hours`` after :data:`MONDAY`."""
    t = np.arange(offset, offset + hours, dtype=np.float64)
    hod, dow = t % 24, (t // 24) % 7
    daily = (
        0.15 + np.exp(-0.5 * ((hod - 10) / 2.5) ** 2) + 0.7 * np.exp(-0.5 * ((hod - 15) / 2.5) ** 2)
    )
    weekly = np.where(dow >= 5, 0.35, 1.0)
    out: _F8 = base * (1.0 + growth_per_week * t / 168.0) * daily * weekly
    return out


def counts(expected: _F8, noise: float, seed: int) -> _I8:
    """Poisson calls around ``expected`` times log-normal noise of sigma ``noise``."""
    rng = np.random.default_rng(seed)
    drawn: _I8 = rng.poisson(expected * np.exp(rng.normal(0.0, noise, expected.shape)))
    return drawn.astype(np.int64)


def hourly_frame(
    series: Sequence[tuple[str, str]],
    calls: _I8,
    *,
    start: float = MONDAY,
    p95_ms: _F8 | float = 300.0,
    concurrency: _I8 | None = None,
) -> RollupFrame:
    """Hour rollups of ``series[i]`` = (api, org) with ``calls[i, h]`` calls in hour ``h``.

    Each row's histogram puts 90 % of its calls at half the p95 and the rest at the p95,
    so its p95 reads back (within the 2 % bucket error) as ``p95_ms``; failures none.
    """
    s, n = calls.shape
    p95 = np.broadcast_to(np.asarray(p95_ms, dtype=np.float64), (s, n)).reshape(-1)
    c = calls.reshape(-1)
    keep = c > 0
    c, p95 = c[keep], p95[keep]
    rows = int(c.size)
    idx = np.flatnonzero(keep)
    apis = tuple(dict.fromkeys(a for a, _ in series))
    orgs = tuple(dict.fromkeys(o for _, o in series))
    api_of = np.array([apis.index(a) for a, _ in series], np.int32)
    org_of = np.array([orgs.index(o) for _, o in series], np.int32)
    slow = np.ceil(c * 0.1).astype(np.int64)
    fast = c - slow
    seconds = np.stack((p95 / 2000.0, p95 / 1000.0), axis=1)
    buckets = bucket_index(seconds.reshape(-1)).reshape(rows, 2).astype(np.int32)
    counts_ = np.stack((fast, slow), axis=1)
    conc = (
        np.maximum(1, np.ceil(c / 600.0)).astype(np.int64)
        if concurrency is None
        else concurrency.reshape(-1)[keep].astype(np.int64)
    )
    latency_sum = fast * seconds[:, 0] + slow * seconds[:, 1]
    return RollupFrame(
        start=start + 3600.0 * (idx % n).astype(np.float64),
        step=np.full(rows, 3600.0),
        api=api_of[idx // n],
        org=org_of[idx // n],
        calls=c,
        successes=c,
        business_errors=np.zeros(rows, np.int64),
        system_errors=np.zeros(rows, np.int64),
        unknown_outcomes=np.zeros(rows, np.int64),
        latency_sum=latency_sum,
        latency_sumsq=fast * seconds[:, 0] ** 2 + slow * seconds[:, 1] ** 2,
        latency_min=seconds[:, 0].copy(),
        latency_max=seconds[:, 1].copy(),
        max_concurrency=conc,
        request_bytes=c * 900,
        response_bytes=c * 2000,
        hist_offsets=np.arange(rows + 1, dtype=np.int64) * 2,
        hist_bucket=buckets.reshape(-1),
        hist_count=counts_.reshape(-1),
        err_offsets=np.zeros(rows + 1, np.int64),
        err_code=np.zeros(0, np.int32),
        err_count=np.zeros(0, np.int64),
        api_codes=apis,
        org_codes=orgs,
        error_codes=(),
    )
