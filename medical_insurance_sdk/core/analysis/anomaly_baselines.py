"""Causal baselines of a series for the anomaly detector: robust level and spread, seasonal
expectation and seasonal peak, exponentially weighted means, the range of the past.

Every function here is causal: its value at ``i`` uses points before ``i`` (the baselines) or
up to ``i`` (:func:`ewma`), never later ones.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "ewma",
    "past_range_excess",
    "seasonal_expectation",
    "seasonal_peak",
    "trailing_level_scale",
]

#: Rows of the trailing windows evaluated at once (bounds the memory of a long series).
_CHUNK = 2048
#: Normal-consistency factors: sigma = 1.4826 x MAD = 1.2533 x mean absolute deviation.
_MAD_TO_SIGMA = 1.4826
_MEAN_AD_TO_SIGMA = 1.2533


def _expanding_rows(x: np.ndarray, rows: np.ndarray, width: int) -> tuple[np.ndarray, ...]:
    """Median, MAD and mean absolute deviation of ``x[:i]`` for each ``i`` in ``rows``.

    Each prefix is padded to ``width`` (``width - i`` even) with as many -inf as +inf, which
    leaves the median of a row that of its prefix: one vectorised median for all the rows.
    """
    cols = np.arange(width)
    real = cols[None, :] < rows[:, None]
    pad = np.where((cols[None, :] - rows[:, None]) % 2 == 0, -np.inf, np.inf)
    block = np.where(real, np.broadcast_to(x[:width], real.shape), pad)
    med = np.median(block, axis=1)
    dev = np.abs(block - med[:, None])
    mean_ad = np.where(real, dev, 0.0).sum(axis=1) / rows
    mad = np.median(np.where(real, dev, pad), axis=1)
    return med, mad, mean_ad


def _median_mad_meanad(x: np.ndarray, window: int) -> tuple[np.ndarray, ...]:
    """Median, MAD and mean absolute deviation of ``x[max(0, i - window):i]`` for every ``i``."""
    n = x.size
    med = np.full(n, np.nan)
    mad = np.full(n, np.nan)
    mean_ad = np.full(n, np.nan)
    head = min(window, n)
    for parity in (0, 1):
        prefix = np.arange(1, head)
        prefix = prefix[prefix % 2 == parity]
        if prefix.size == 0:
            continue
        width = int(prefix[-1])
        for start in range(0, prefix.size, _CHUNK // 4):
            rows = prefix[start : start + _CHUNK // 4]
            med[rows], mad[rows], mean_ad[rows] = _expanding_rows(x, rows, width)
    if n > window:
        view = sliding_window_view(x[:-1], window)  # row j is x[j:j + window], for i = j + window
        for start in range(0, view.shape[0], _CHUNK):
            rows2 = view[start : start + _CHUNK]
            m = np.median(rows2, axis=1)
            dev = np.abs(rows2 - m[:, None])
            at = slice(window + start, window + start + rows2.shape[0])
            med[at], mad[at], mean_ad[at] = m, np.median(dev, axis=1), dev.mean(axis=1)
    return med, mad, mean_ad


def trailing_level_scale(
    x: np.ndarray, window: int, min_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """Robust level (median) and spread of the last ``window`` non-NaN points before each point.

    The spread is 1.4826 x MAD (the standard deviation for normal data); where more than half
    the window is one value (MAD 0: counts, idle servers) it falls back to 1.2533 x the mean
    absolute deviation, and to a relative 1e-9 of the level when the window is constant. NaN
    until ``min_points`` valid points precede (the spread of two or three points means little:
    a deviation measured against it would be huge and distort every later tail estimate) and
    wherever ``x`` is NaN.
    """
    n = x.size
    level = np.full(n, np.nan)
    scale = np.full(n, np.nan)
    valid = np.flatnonzero(~np.isnan(x))
    if valid.size <= max(min_points, 1):
        return level, scale
    med, mad, mean_ad = _median_mad_meanad(x[valid], window)
    spread = _MAD_TO_SIGMA * mad
    spread = np.where(spread > 0, spread, _MEAN_AD_TO_SIGMA * mean_ad)
    spread = np.maximum(spread, 1e-9 * np.maximum(1.0, np.abs(med)))
    level[valid[min_points:]] = med[min_points:]
    scale[valid[min_points:]] = spread[min_points:]
    return level, scale


def seasonal_expectation(
    timestamps: np.ndarray, x: np.ndarray, period: float, cycles: int, min_cycles: int
) -> np.ndarray:
    """Median of the values one, two, ... ``cycles`` periods earlier (NaN with fewer than
    ``min_cycles`` of them).

    The value ``k`` periods earlier is the nearest earlier point to ``t - k * period``, when it
    lies within half the median spacing of it (gaps and irregular series just have fewer).
    """
    n = x.size
    if n < 2:
        return np.full(n, np.nan)
    tolerance = float(np.median(np.diff(timestamps))) / 2.0 + 1e-9
    index = np.arange(n)
    earlier = np.full((cycles, n), np.nan)
    for k in range(1, cycles + 1):
        target = timestamps - k * period
        right = np.clip(np.searchsorted(timestamps, target), 0, n - 1)
        left = np.clip(right - 1, 0, n - 1)
        nearest = np.where(
            np.abs(timestamps[left] - target) <= np.abs(timestamps[right] - target), left, right
        )
        usable = (np.abs(timestamps[nearest] - target) <= tolerance) & (nearest < index)
        earlier[k - 1] = np.where(usable, x[nearest], np.nan)
    counts = np.sum(~np.isnan(earlier), axis=0)
    expected = np.full(n, np.nan)
    enough = counts >= min_cycles
    if enough.any():
        expected[enough] = np.nanmedian(earlier[:, enough], axis=0)
    return expected


def _range_max(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``max(x[lo[j]:hi[j] + 1])`` for every ``j`` (-inf where ``hi[j] < lo[j]``), from a sparse
    table of maxima over power-of-two spans: O(n log n) once, then O(1) per range."""
    table = [x]
    span = 1
    while 2 * span <= x.size:
        table.append(np.maximum(table[-1][:-span], table[-1][span:]))
        span *= 2
    out = np.full(lo.size, -np.inf)
    width = hi - lo + 1
    level = np.floor(np.log2(np.maximum(width, 1))).astype(np.int64)
    for j in np.unique(level[width > 0]).tolist():
        sel = (width > 0) & (level == j)
        out[sel] = np.maximum(table[j][lo[sel]], table[j][hi[sel] - (1 << j) + 1])
    return out


def seasonal_peak(
    timestamps: np.ndarray, x: np.ndarray, period: float, cycles: int, tolerance: float, rank: int
) -> np.ndarray:
    """The ``rank``-th largest, over one, two, ... ``cycles`` periods earlier, of the maximum of
    ``x`` within ``tolerance`` seconds of that time (earlier points only; -inf with fewer than
    ``rank`` such periods): how high ``x`` went about this time of day on several earlier days.
    """
    n = x.size
    index = np.arange(n)
    peaks = np.full((cycles, n), -np.inf)
    for k in range(1, cycles + 1):
        then = timestamps - k * period
        lo = np.searchsorted(timestamps, then - tolerance, side="left")
        hi = np.minimum(np.searchsorted(timestamps, then + tolerance, side="right") - 1, index - 1)
        peaks[k - 1] = _range_max(x, lo, hi)
    peak: np.ndarray = -np.sort(-peaks, axis=0)[rank - 1]
    return peak


def ewma(x: np.ndarray, alpha: float) -> np.ndarray:
    """Exponentially weighted mean ``m_i = alpha x_i + (1 - alpha) m_(i-1)`` from 0; NaN skipped."""
    out = np.full(x.size, np.nan)
    mean = 0.0
    keep = 1.0 - alpha
    for i, value in enumerate(x.tolist()):
        if not math.isnan(value):
            mean = alpha * value + keep * mean
            out[i] = mean
    return out


def past_range_excess(x: np.ndarray, lookback: int) -> tuple[np.ndarray, np.ndarray]:
    """How far each point lies beyond the range of the ``lookback`` points before it (above the
    highest or below the lowest; negative inside the range), and the width of that range (NaN
    for the first point).

    The running maximum and minimum are kept with monotonic queues: one pass, O(n).
    """
    excess = np.full(x.size, np.nan)
    width = np.full(x.size, np.nan)
    values = x.tolist()
    highs: deque[int] = deque()  # indices of decreasing values: the window's maximum first
    lows: deque[int] = deque()
    for i, value in enumerate(values):
        for queue in (highs, lows):
            while queue and queue[0] < i - lookback:
                queue.popleft()
        if highs:
            high, low = values[highs[0]], values[lows[0]]
            excess[i] = max(value - high, low - value)
            width[i] = high - low
        while highs and values[highs[-1]] <= value:
            highs.pop()
        highs.append(i)
        while lows and values[lows[-1]] >= value:
            lows.pop()
        lows.append(i)
    return excess, width
