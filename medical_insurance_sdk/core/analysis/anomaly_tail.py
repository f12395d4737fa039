"""How surprising each point of a deviation stream is, measured against the stream's own past.

:func:`tail_surprise` is a causal peaks-over-threshold estimate (the classical extreme-value
method of Pickands and of SPOT, Siffer et al. 2017, with an exponential tail): at each point the
stream's past values are the reference. Inside the bulk of the past the tail probability is
empirical; beyond the highest ``tail_fraction`` of the past it is extrapolated with an
exponential tail fitted to those peaks. The surprise is ``-log10`` of that probability, so
deviation streams of any unit and any file are on one scale: a value met once in a thousand
past points scores 3, whatever the series.

:func:`news` keeps only what is new: a point scores by how much its surprise exceeds the
largest surprise of the preceding points, so an alarm (a step, a burst) is raised once, when it
starts, not again on every point that follows. :func:`quiet_after_alarms` then silences the
points that follow an alarm for a while (a refractory period): one incident, one alarm.
"""

from __future__ import annotations

import bisect
import math
from collections import deque

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["news", "quiet_after_alarms", "tail_surprise"]


def tail_surprise(
    stream: np.ndarray,
    *,
    tail_fraction: float,
    min_history: int,
    max_history: int,
    min_peaks: int = 5,
    min_decay: float = 0.5,
    prior_decay: float = 5.0,
    prior_peaks: float = 3.0,
) -> np.ndarray:
    """``-log10 P(past >= value)`` of each point against the up to ``max_history`` before it.

    0 while fewer than ``min_history`` points are known, and for NaN points (which are not added
    to the history). Beyond the threshold ``u`` (the ``k``-th largest past value, ``k`` =
    ``max(min_peaks, ceil(tail_fraction * m))``): ``P = k / (m + 1) * exp(-(v - u) / beta)``,
    ``beta`` the mean excess of those ``k`` peaks over ``u`` (at least ``min_decay``, in the
    stream's units: the streams here are in standard deviations).
    """
    out = np.zeros(stream.size)
    past: list[float] = []
    order: deque[float] = deque()
    for i, value in enumerate(stream.tolist()):
        if math.isnan(value):
            continue
        m = len(past)
        if m >= min_history:
            k = max(min_peaks, math.ceil(tail_fraction * m))
            u = past[m - k]
            if value <= u:
                p = (m - bisect.bisect_left(past, value) + 1) / (m + 1)
            else:
                excess = math.fsum(past[m - k :]) - k * u + prior_peaks * prior_decay
                beta = max(excess / (k + prior_peaks), min_decay)
                p = k / (m + 1) * math.exp(-(value - u) / beta)
            out[i] = -math.log10(max(p, 1e-300))
        bisect.insort(past, value)
        order.append(value)
        if len(order) > max_history:
            del past[bisect.bisect_left(past, order.popleft())]
    return out


def news(surprise: np.ndarray, memory: int) -> np.ndarray:
    """``max(0, s_i - max(s_(i-memory) .. s_(i-1)))``: a point's surprise beyond the recent most.

    The surprises are non-negative; before ``memory`` points the missing ones count as 0.
    """
    if memory < 1 or surprise.size == 0:
        out: np.ndarray = np.clip(surprise, 0.0, None)
        return out
    padded = np.concatenate([np.zeros(memory), surprise[:-1]])
    recent = sliding_window_view(padded, memory).max(axis=1)
    fresh: np.ndarray = np.clip(surprise - recent, 0.0, None)
    return fresh


def quiet_after_alarms(
    scores: np.ndarray, alarm: float, points: int, loud: np.ndarray | None = None
) -> np.ndarray:
    """``scores`` with the ``points`` points after each alarm (a score >= ``alarm``) set to 0,
    except the points where ``loud`` is True, which keep their score and start a quiet period
    of their own when they alarm.

    An alarm silenced this way starts no quiet period, so apart from the loud points one alarm
    in every ``points + 1`` points at most remains. Causal: whether a point is silenced
    depends only on earlier scores.
    """
    out: np.ndarray = np.array(scores, dtype=np.float64)
    if points < 1:
        return out
    keep = np.zeros(out.size, dtype=bool) if loud is None else np.asarray(loud, dtype=bool)
    quiet_until = -1
    for i in np.flatnonzero(out >= alarm).tolist():
        if i <= quiet_until and not keep[i]:
            continue
        after = slice(i + 1, i + 1 + points)
        out[after] = np.where(keep[after], out[after], 0.0)
        quiet_until = i + points
    return out
