"""Robust statistics per group: percentiles of summed histograms, medians, MAD.

Helpers of :mod:`.baselines`: every function takes flat arrays and a group id per
element, and works without a Python loop over the groups.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.rollups import RollupFrame

__all__ = ["MAD_SCALE", "group_percentiles", "grouped_median", "robust"]

#: Scales a median absolute deviation to a standard deviation (normal data).
MAD_SCALE = 1.4826
_F8 = npt.NDArray[np.float64]
_I8 = npt.NDArray[np.int64]


def group_percentiles(frame: RollupFrame, group: _I8, n_groups: int, qs: tuple[float, ...]) -> _F8:
    """Percentiles (ms, shape ``(len(qs), n_groups)``) of the rows summed per group.

    Read from the summed histogram at the geometric middle of the bucket holding the
    rank (NaN for a group without calls); no dense histogram is built.
    """
    out = np.full((len(qs), n_groups), np.nan)
    entry_row = np.repeat(np.arange(len(frame), dtype=np.int64), np.diff(frame.hist_offsets))
    if not entry_row.size:
        return out
    key = group[entry_row] * len(frame.bounds) + frame.hist_bucket
    cells, inverse = np.unique(key, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=frame.hist_count, minlength=cells.size)
    cell_group = cells // len(frame.bounds)
    cell_bucket = cells % len(frame.bounds)
    cum = np.cumsum(counts)
    first = np.searchsorted(cell_group, np.arange(n_groups), side="left")
    last = np.searchsorted(cell_group, np.arange(n_groups), side="right")
    has = last > first
    before = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    total = np.where(has, cum[np.maximum(last - 1, 0)] - before, 0.0)
    upper = frame.bounds
    lower = np.concatenate(([upper[0] / 2.0], upper[:-1]))
    middle = np.sqrt(lower * np.where(np.isfinite(upper), upper, lower))
    for i, q in enumerate(qs):
        rank = before + np.floor(np.maximum(total - 1.0, 0.0) * q / 100.0)
        at = np.searchsorted(cum, rank, side="right")
        at = np.minimum(at, cum.size - 1)
        out[i, has] = middle[cell_bucket[at[has]]] * 1000.0
    return out


def grouped_median(values: _F8, group: _I8, n: int) -> _F8:
    """Median of ``values`` per group ``0..n-1`` (NaN values and empty groups: NaN)."""
    keep = ~np.isnan(values)
    v, g = values[keep], group[keep]
    out = np.full(n, np.nan)
    if not v.size:
        return out
    order = np.lexsort((v, g))
    v, g = v[order], g[order]
    first = np.searchsorted(g, np.arange(n), side="left")
    count = np.searchsorted(g, np.arange(n), side="right") - first
    has = count > 0
    lo = first + (count - 1) // 2
    hi = first + count // 2
    out[has] = (v[lo[has]] + v[hi[has]]) / 2.0
    return out


def robust(values: _F8, group: _I8, n: int) -> tuple[_F8, _F8]:
    """Median and scaled median absolute deviation of ``values`` per group."""
    level = grouped_median(values, group, n)
    spread = MAD_SCALE * grouped_median(np.abs(values - level[group]), group, n)
    return level, spread
