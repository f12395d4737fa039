"""Grouping rows by a small integer key, and the most calls in flight at once per group.

Shared by the rollups (per interval, API and org, at fold time) and the analysis (per
org over a window).
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

__all__ = ["group_slices", "grouped_max_concurrency"]


def group_slices(
    keys: npt.NDArray[np.int32],
) -> tuple[npt.NDArray[np.intp], list[tuple[int, int, int]]]:
    """Order rows by ``keys`` (stable) and return ``(order, [(key, start, stop), ...])``.

    Keys in ``[0, 32768)`` (every table index) are sorted as int16, which numpy
    radix-sorts in linear time, and the groups come from their ``bincount``.
    """
    if keys.size == 0:
        return np.zeros(0, dtype=np.intp), []
    if int(keys.min()) >= 0 and int(keys.max()) < 32768:
        order = np.argsort(keys.astype(np.int16), kind="stable")
        counts = np.bincount(keys)
        present = np.flatnonzero(counts)
        stops = np.cumsum(counts[present])
        starts = stops - counts[present]
        return order, list(zip(present.tolist(), starts.tolist(), stops.tolist(), strict=True))
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    edges = np.flatnonzero(np.diff(sorted_keys)) + 1
    bounds = np.concatenate(([0], edges, [sorted_keys.size])).tolist()
    return order, [(int(sorted_keys[a]), a, b) for a, b in itertools.pairwise(bounds)]


def grouped_max_concurrency(
    timestamp: npt.NDArray[np.float64],
    duration: npt.NDArray[np.float64],
    keys: npt.NDArray[np.int32],
    n_groups: int,
) -> npt.NDArray[np.int64]:
    """Most calls in flight at once within each group ``keys`` (``0..n_groups-1``).

    Rows are grouped by key (a stable radix sort keeps time order), each group's ends and
    starts are shifted by ``key·span`` into disjoint ranges, and one stable sort of
    ``[ends, starts]`` (nearly sorted runs: linear in practice) orders the events, ends
    before starts at equal times. The running sum of ``+1``/``-1`` is the number in
    flight; each group's maximum is taken with ``maximum.reduceat`` over its events, which
    start at twice the group's first row (every earlier group has one end and one start
    per row).
    """
    out = np.zeros(n_groups, dtype=np.int64)
    n = timestamp.size
    if n == 0:
        return out
    if n_groups > 1:
        order, groups = group_slices(keys)
        timestamp, duration, keys = timestamp[order], duration[order], keys[order]
    start = timestamp - duration
    base = float(start.min())
    span = 2.0 * (float(timestamp.max()) - base) + 1.0
    offset = keys.astype(np.float64) * span
    events = np.concatenate((offset + (timestamp - base), offset + (start - base)))
    order = np.argsort(events, kind="stable")
    running = np.cumsum(np.where(order >= n, 1, -1))
    if n_groups == 1:
        out[0] = running.max()
        return out
    present = np.array([key for key, _, _ in groups], dtype=np.intp)
    first = np.array([2 * begin for _, begin, _ in groups], dtype=np.intp)
    out[present] = np.maximum.reduceat(running, first)
    return out
