"""Log-spaced latency buckets with a stated relative error, and percentiles from them.

A rollup keeps its calls' latencies as counts in buckets whose upper bounds grow by a
factor :data:`GROWTH` (1.02): bucket ``0`` holds ``[0, MIN_SECONDS]`` (0.1 ms), bucket
``i`` holds ``(MIN_SECONDS·GROWTH**(i-1), MIN_SECONDS·GROWTH**i]`` and the last one
everything above :data:`MAX_SECONDS` (one hour). Counts are exact; a percentile read
from the buckets lies in the same bucket as the true value, so for latencies above
0.1 ms its relative error is at most ``GROWTH - 1`` (:data:`RELATIVE_ERROR`, 2 %), and
below 0.1 ms its absolute error is at most 0.1 ms. Values above one hour are placed in
the last bucket and read back within ``[one hour, max]``.

:func:`percentiles` also reads any other cumulative-bucket layout (Prometheus ``le``
bounds, for example): the error is then at most the width of the bucket holding the
value, as with ``histogram_quantile``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "BOUNDS",
    "GROWTH",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "RELATIVE_ERROR",
    "bucket_index",
    "percentiles",
]

#: Upper bound of bucket 0, in seconds.
MIN_SECONDS = 1e-4
#: Values above this (seconds) share the last bucket.
MAX_SECONDS = 3600.0
#: Ratio of consecutive bucket bounds.
GROWTH = 1.02
#: Worst relative error of a percentile read from the buckets (above ``MIN_SECONDS``).
RELATIVE_ERROR = GROWTH - 1.0

_FINITE = math.ceil(math.log(MAX_SECONDS / MIN_SECONDS) / math.log(GROWTH)) + 1
#: Upper bounds in seconds, ``inf`` last (``len(BOUNDS)`` buckets).
BOUNDS: npt.NDArray[np.float64] = np.append(
    MIN_SECONDS * GROWTH ** np.arange(_FINITE, dtype=np.float64), np.inf
)
BOUNDS.setflags(write=False)
_LOG_GROWTH = math.log(GROWTH)


def bucket_index(seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    """The bucket of each duration (seconds): the first with ``value <= bound``.

    Negative and NaN durations go to bucket 0 (the store never holds them).
    """
    values = np.asarray(seconds, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.ceil(np.log(values / MIN_SECONDS) / _LOG_GROWTH)
    index = np.clip(np.nan_to_num(raw, nan=0.0, neginf=0.0), 0, len(BOUNDS) - 1).astype(np.int32)
    # the logarithm may be one off at a bound: settle on the first bound >= value
    below = (index > 0) & (values <= BOUNDS[np.maximum(index - 1, 0)])
    index[below] -= 1
    above = values > BOUNDS[index]
    index[above] += 1
    result: npt.NDArray[np.int32] = index
    return result


def percentiles(
    counts: npt.NDArray[np.int64],
    bounds: npt.NDArray[np.float64],
    qs: tuple[float, ...],
    lowest: npt.NDArray[np.float64] | None = None,
    highest: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """Percentiles ``qs`` (0–100) of each row of bucket ``counts`` (shape ``(groups, B)``).

    numpy's default (linear) method over the order statistics, each order statistic
    placed inside its bucket by its rank (the ``k``-th of ``c`` values of a bucket
    ``(lo, hi]`` is read at ``lo + (hi - lo)·(k + 0.5)/c``). ``lowest``/``highest``
    (per row, NaN when unknown) are the exact minimum and maximum: they bound the
    result and stand for the open ends (bucket 0's ``0`` and the last bucket's ``inf``).
    Returns shape ``(len(qs), groups)``; rows without calls give NaN.
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=np.int64))
    groups = counts.shape[0]
    out = np.full((len(qs), groups), np.nan)
    totals = counts.sum(axis=1)
    has = totals > 0
    if not has.any():
        return out
    lo_known = np.full(groups, np.nan) if lowest is None else np.asarray(lowest, np.float64)
    hi_known = np.full(groups, np.nan) if highest is None else np.asarray(highest, np.float64)
    upper = np.asarray(bounds, dtype=np.float64)
    lower = np.concatenate(([0.0], upper[:-1]))
    cum = counts.cumsum(axis=1)
    rows = np.flatnonzero(has)

    def order_stat(rank: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        # bucket holding the rank-th value (0-based) of each row
        b = (cum[rows] <= rank[:, None]).sum(axis=1)
        before = np.where(b > 0, cum[rows, np.maximum(b - 1, 0)], 0)
        c = counts[rows, b]
        lo, hi = lower[b].copy(), upper[b].copy()
        top = ~np.isfinite(hi)
        hi[top] = np.where(np.isnan(hi_known[rows][top]), lo[top], hi_known[rows][top])
        value = lo + (hi - lo) * ((rank - before) + 0.5) / c
        low_bound = np.nan_to_num(lo_known[rows], nan=-np.inf)
        high_bound = np.nan_to_num(hi_known[rows], nan=np.inf)
        clipped: npt.NDArray[np.float64] = np.clip(value, low_bound, high_bound)
        return clipped

    n = totals[rows]
    for i, q in enumerate(qs):
        pos = (n - 1) * (q / 100.0)
        below = np.floor(pos).astype(np.int64)
        above = np.minimum(below + 1, n - 1)
        frac = pos - below
        a, b = order_stat(below), order_stat(above)
        out[i, rows] = a + (b - a) * frac
    return out
