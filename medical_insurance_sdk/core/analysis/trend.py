"""Trends and forecasts of a bucketed series: Mann-Kendall, Theil-Sen, prediction interval.

* **Significance**: the Mann-Kendall test. ``S = sum_{i<j} sign(x_j - x_i)``; its variance
  under "no trend", corrected for ties, is ``(n(n-1)(2n+5) - sum t(t-1)(2t+5)) / 18``;
  ``Z = (S - sign(S)) / sqrt(var)`` and the two-sided p-value is ``erfc(|Z| / sqrt 2)``. A
  series is ``increasing``/``decreasing`` only when ``p < alpha`` (0.05); noise reads
  ``stable``.
* **Strength**: ``|tau|`` with Kendall's ``tau = S / (n(n-1)/2)`` (0: none, 1: monotone).
* **Slope**: the Theil-Sen estimator (median of pairwise slopes), reported per hour.
* **Forecast**: the next buckets on the Theil-Sen line when the trend is significant, on
  the mean level otherwise, with a 95 % prediction interval from the residuals
  (``mean ± 1.96·s·sqrt(1 + 1/n + (x - x̄)²/Sxx)``), clipped at zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ForecastPoint",
    "Trend",
    "mann_kendall",
    "theil_sen",
    "trend_of",
]

_Z95 = 1.959963984540054
MIN_POINTS = 4


@dataclass(frozen=True)
class ForecastPoint:
    """The forecast for one future bucket, with a 95 % prediction interval."""

    bucket_start: float  # epoch seconds
    value: float
    lower: float
    upper: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket_start": self.bucket_start,
            "value": self.value,
            "lower": self.lower,
            "upper": self.upper,
        }


@dataclass(frozen=True)
class Trend:
    """The trend of one series (calls per bucket, or latency per bucket)."""

    direction: str  # 'increasing' | 'decreasing' | 'stable'
    strength: float  # |Kendall's tau|, 0..1
    slope_per_hour: float  # Theil-Sen, in the series' unit per hour
    significance: float  # Mann-Kendall two-sided p-value
    points: int
    forecast: list[ForecastPoint] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "strength": self.strength,
            "slope_per_hour": self.slope_per_hour,
            "significance": self.significance,
            "test": "mann-kendall",
            "points": self.points,
            "forecast": [p.to_dict() for p in self.forecast],
            "forecast_confidence": 0.95,
        }


@lru_cache(maxsize=64)
def _pairs(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Indices ``(i, j)`` of every pair ``i < j`` below ``n`` (read-only, cached)."""
    i, j = np.triu_indices(n, k=1)
    i.flags.writeable = False
    j.flags.writeable = False
    return i, j


def mann_kendall(y: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Return ``(S, two-sided p-value)`` of the Mann-Kendall test (p = 1 for < 3 points)."""
    n = int(y.size)
    if n < 3:
        return 0.0, 1.0
    i, j = _pairs(n)
    s = float(np.sign(y[j] - y[i]).sum())
    ordered = np.sort(y)
    edges = np.flatnonzero(np.diff(ordered))  # last index of every run of equal values
    ties = np.diff(np.concatenate(([-1], edges, [n - 1])))
    var = (n * (n - 1) * (2 * n + 5) - float((ties * (ties - 1) * (2 * ties + 5)).sum())) / 18.0
    if var <= 0 or s == 0:
        return s, 1.0
    z = (s - math.copysign(1.0, s)) / math.sqrt(var)
    return s, math.erfc(abs(z) / math.sqrt(2.0))


def _median(values: npt.NDArray[np.float64]) -> float:
    """``np.median`` of a non-empty 1-d array, from one partition."""
    m = int(values.size)
    lo, hi = (m - 1) // 2, m // 2
    part = np.partition(values, (lo, hi))
    return float((part[lo] + part[hi]) / 2.0)


def theil_sen(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Return ``(slope, intercept)``: median pairwise slope, median of ``y - slope·x``."""
    if x.size == 0:
        return 0.0, 0.0
    i, j = _pairs(int(x.size))
    dx = x[j] - x[i]
    dy = y[j] - y[i]
    if not dx.all():  # equal x: no slope from that pair
        keep = dx != 0
        dx, dy = dx[keep], dy[keep]
    slope = _median(dy / dx) if dx.size else 0.0
    return slope, _median(y - slope * x)


def trend_of(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    *,
    bucket_seconds: float,
    origin: float,
    horizon: int = 3,
    alpha: float = 0.05,
    last_bucket: int | None = None,
) -> Trend:
    """Trend of ``y`` observed at bucket indices ``x`` (buckets start at ``origin``).

    The forecast covers the ``horizon`` buckets after the last one of the window.
    """
    n = int(y.size)
    if n < MIN_POINTS:
        return Trend("stable", 0.0, 0.0, 1.0, n)
    s, p = mann_kendall(y)
    tau = s / (n * (n - 1) / 2.0)
    slope, intercept = theil_sen(x, y)
    significant = p < alpha and s != 0
    direction = ("increasing" if s > 0 else "decreasing") if significant else "stable"
    fitted = intercept + slope * x if significant else np.full(n, float(y.mean()))
    dof = n - 2 if significant else n - 1
    resid = y - fitted
    sigma = math.sqrt(float(resid @ resid) / dof) if dof > 0 else 0.0
    sxx = float(((x - x.mean()) ** 2).sum())
    last = float(x.max() if last_bucket is None else last_bucket)
    points = []
    for k in range(1, horizon + 1):
        xf = last + k
        value = intercept + slope * xf if significant else float(y.mean())
        lever = (xf - float(x.mean())) ** 2 / sxx if (significant and sxx > 0) else 0.0
        half = _Z95 * sigma * math.sqrt(1.0 + 1.0 / n + lever)
        points.append(
            ForecastPoint(
                bucket_start=origin + xf * bucket_seconds,
                value=max(0.0, value),
                lower=max(0.0, value - half),
                upper=max(0.0, value + half),
            )
        )
    return Trend(
        direction=direction,
        strength=abs(tau),
        slope_per_hour=slope * 3600.0 / bucket_seconds,
        significance=p,
        points=n,
        forecast=points,
    )
