"""Anomaly scores of any numeric series: :class:`AnomalyDetector`.

``AnomalyDetector().score(timestamps, values)`` gives each point a score in [0, 1], causally
(the score of point ``i`` uses points ``<= i`` only, so scoring a prefix gives the same
scores) and deterministically. How it is made:

1. **Deviation streams**, in standard deviations of the recent past
   (:mod:`.anomaly_baselines`): the point against the median and robust spread of the previous
   ``window`` points (a spike, a step); two exponentially weighted means of that deviation
   (a shift or a burst too small for any one point, seen within a few points: an EWMA chart);
   and, once three earlier days are known, the point against the median of the same time of
   day on up to seven earlier days (a daily pattern broken, where the level alone looks normal).
   Each stream is split into its upward and downward half.
2. **Surprise** (:mod:`.anomaly_tail`): each half-stream against its own past, the tail
   probability from the empirical distribution and a peaks-over-threshold exponential tail,
   as ``-log10 p``. This calibrates every stream, in any unit, to one scale, and learns what is
   usual for this series (recurring spikes, noisy transitions) instead of assuming normality.
   The tail's decay is shrunk towards a prior (three peaks five standard deviations beyond
   the threshold), so a series with little history is not over-confident about its first
   large values.
3. **News**: the largest surprise of the point, minus the largest of the previous ``memory``
   points (at least 0): a step or a burst scores on its first points, not for as long as it
   lasts. Nor is a surprise news when one as large came within an hour of this time of day
   on at least two of the seven earlier days (a nightly job's burst, jittered by some
   minutes).
4. **Score** ``1 - 2^(-s / half_surprise)``: 0.5 where the news ``s`` is ``half_surprise``
   (0.4 decades; the best NAB threshold falls at about 0.5), approaching 1 for events far
   beyond anything in the series' past.
5. **New extremes** score 1: a value beyond the range of the past (the last 5,000 points) by
   more than ``range_margin`` (10 %) of that range and by more than three robust standard
   deviations of the trailing window (steady noise sets a new record now and then, never
   that far beyond), once the past spans a whole day (before that, a daily peak would be
   new). A deviation stream calibrated to the series' own past
   gives little weight to the one point of a metric that leaves its usual range for the first
   time; on the shared NAB files most such points fall in labelled windows.
6. **Quiet after an alarm** (a refractory period): the ``refractory`` points after a score
   >= 0.5 score 0, except new extremes, which alarm (and start a quiet period) anyway. One
   incident, one alarm: the points that follow an anomaly are often disturbed and would
   otherwise alarm again.
7. The first 70 points score 0: the first surprises rest on little history.

``window``, ``memory`` and ``refractory`` count points, as NAB's windows and probationary
period do (its files are sampled every 5 minutes to every hour); the time of day and the
whole day before new extremes count seconds.

On the shared NAB part (``bench/bench_anomaly.py``) the standard score is 69.2 with these
defaults (75.4 and 65.0 on its two halves); without the time of day in 3 and without 5-7 it
is 56.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.analysis.anomaly_baselines import (
    ewma,
    past_range_excess,
    seasonal_expectation,
    seasonal_peak,
    trailing_level_scale,
)
from medical_insurance_sdk.core.analysis.anomaly_tail import (
    news,
    quiet_after_alarms,
    tail_surprise,
)

__all__ = ["AnomalyDetector"]

_DAY_S = 86_400.0
#: Deviations entering the EWMAs are clipped so that one extreme point does not dominate them.
_EWMA_CLIP = 10.0
#: Earlier days compared for the daily profile, and how many must exist before it is used.
_SEASON_CYCLES = 7
_SEASON_MIN_CYCLES = 3
#: How far from the same time of day an earlier day's surprise still makes a surprise usual,
#: and on how many of the earlier days one as large must have come.
_USUAL_TOLERANCE_S = 3_600.0
_USUAL_DAYS = 2
#: Points a level and spread need before a deviation from them is measured.
_MIN_POINTS = 10
#: Points of its own history a stream needs before any of its points is surprising.
_MIN_HISTORY = 30
#: Past points a stream's tail is estimated from (bounds the cost of long series).
_MAX_HISTORY = 5_000
#: Points that score 0: the first surprises rest on little history and would alarm (and start
#: a quiet period) on any series: news needs as many surprises before it as a tail needs points.
_WARM_UP = _MIN_POINTS + 2 * _MIN_HISTORY
#: Robust standard deviations (of the trailing window) a new extreme must also lie beyond the
#: range by: in steady noise the range grows by less, now and then.
_EXTREME_SD = 3.0
#: The score from which a point is an alarm that starts a quiet (refractory) period.
_ALARM = 0.5


@dataclass(frozen=True)
class AnomalyDetector:
    """A causal, deterministic anomaly scorer for one series (see the module docstring).

    Attributes:
        window: points of the trailing window giving the robust level and spread (864: three
            days of 5-minute samples, fourteen hours of minute rollups).
        ewma_alphas: smoothing weights of the EWMA charts of the deviation (0.3 reacts within
            about three points, 0.1 accumulates a smaller shift over about ten).
        tail_fraction: the share of a stream's past taken as its peaks (2 %, the usual
            peaks-over-threshold choice).
        memory: points over which a new surprise must exceed the previous ones to score
            (150: half a day of 5-minute samples).
        half_surprise: the news, in decades of tail probability, that scores 0.5.
        refractory: points after an alarm (a score >= 0.5) that score 0 (150, as ``memory``).
        range_margin: how far beyond the range of the past (the last 5,000 points), as a
            fraction of that range, a new extreme must lie to score 1 (0.1; it must also lie
            three robust standard deviations beyond).
    """

    window: int = 864
    ewma_alphas: tuple[float, ...] = (0.3, 0.1)
    tail_fraction: float = 0.02
    memory: int = 150
    half_surprise: float = 0.4
    refractory: int = 150
    range_margin: float = 0.1

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ValueError(f"window must be at least 2 points, got {self.window}")
        if any(not 0.0 < a <= 1.0 for a in self.ewma_alphas):
            raise ValueError(f"ewma_alphas must lie in (0, 1], got {self.ewma_alphas}")
        if not 0.0 < self.tail_fraction < 1.0:
            raise ValueError(f"tail_fraction must lie in (0, 1), got {self.tail_fraction}")
        if self.memory < 0:
            raise ValueError(f"memory must be >= 0 points, got {self.memory}")
        if self.refractory < 0:
            raise ValueError(f"refractory must be >= 0 points, got {self.refractory}")
        if not self.range_margin >= 0.0:
            raise ValueError(f"range_margin must be >= 0, got {self.range_margin}")
        if not self.half_surprise > 0.0:
            raise ValueError(f"half_surprise must be > 0, got {self.half_surprise}")

    def score(self, timestamps: npt.ArrayLike, values: npt.ArrayLike) -> np.ndarray:
        """Scores in [0, 1], one per point, of ``values`` sampled at ``timestamps`` (epoch s).

        Raises:
            ValueError: the inputs are not one-dimensional numbers of the same length, a
                timestamp or value is NaN or infinite, or the timestamps decrease.
        """
        ts, x = _validated(timestamps, values)
        if x.size == 0:
            return np.zeros(0)
        surprise, scale = self._surprise(ts, x)
        usual = seasonal_peak(ts, surprise, _DAY_S, _SEASON_CYCLES, _USUAL_TOLERANCE_S, _USUAL_DAYS)
        fresh = np.minimum(news(surprise, self.memory), np.maximum(surprise - usual, 0.0))
        scores = 1.0 - np.exp2(-fresh / self.half_surprise)
        excess, width = past_range_excess(x, _MAX_HISTORY)
        with np.errstate(invalid="ignore"):  # NaN (no range or spread yet) compares False
            extreme = (excess > self.range_margin * width) & (excess > _EXTREME_SD * scale)
        extreme &= ts - ts[0] >= _DAY_S  # a range that has not seen a whole day means little
        extreme[:_WARM_UP] = False
        scores[extreme] = 1.0
        scores[:_WARM_UP] = 0.0
        return quiet_after_alarms(scores, _ALARM, self.refractory, loud=extreme)

    def _surprise(
        self, timestamps: np.ndarray, values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The largest ``-log10`` tail probability of each point over the deviation streams, and
        the robust spread of the trailing window."""
        level, scale = trailing_level_scale(values, self.window, _MIN_POINTS)
        z = (values - level) / scale
        streams = [z]
        clipped = np.clip(z, -_EWMA_CLIP, _EWMA_CLIP)
        streams.extend(ewma(clipped, alpha) for alpha in self.ewma_alphas)
        expected = seasonal_expectation(
            timestamps, values, _DAY_S, _SEASON_CYCLES, _SEASON_MIN_CYCLES
        )
        residual = values - expected
        _, residual_scale = trailing_level_scale(residual, self.window, _MIN_POINTS)
        streams.append(residual / residual_scale)
        best = np.zeros(values.size)
        for stream in streams:
            for half in (stream, -stream):
                side = np.where(np.isnan(half), np.nan, np.maximum(half, 0.0))
                found = tail_surprise(
                    side,
                    tail_fraction=self.tail_fraction,
                    min_history=_MIN_HISTORY,
                    max_history=_MAX_HISTORY,
                )
                np.maximum(best, found, out=best)
        return best, scale


def _validated(timestamps: npt.ArrayLike, values: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs as float64 arrays, or a ValueError naming what is wrong."""
    try:
        ts = np.asarray(timestamps, dtype=np.float64)
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"timestamps and values must be numbers: {exc}") from exc
    if ts.ndim != 1 or x.ndim != 1:
        raise ValueError(
            f"timestamps and values must be one-dimensional, got shapes {ts.shape} and {x.shape}"
        )
    if ts.size != x.size:
        raise ValueError(f"timestamps and values differ in length: {ts.size} != {x.size}")
    bad = np.flatnonzero(~np.isfinite(ts))
    if bad.size:
        raise ValueError(f"timestamps must be finite: NaN or infinite at index {int(bad[0])}")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise ValueError(f"values must be finite: NaN or infinite at index {int(bad[0])}")
    back = np.flatnonzero(np.diff(ts) < 0)
    if back.size:
        i = int(back[0]) + 1
        raise ValueError(f"timestamps must not decrease: index {i} ({ts[i]}) is before {ts[i - 1]}")
    return ts, x
