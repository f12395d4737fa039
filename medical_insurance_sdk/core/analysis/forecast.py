"""Hourly call-volume forecasts with daily and weekly seasonality, a trend and intervals.

The model is a multiplicative decomposition, fitted with robust statistics (numpy only):

``calls(t) = level(t) · profile[phase(t)]``, ``level(t) = a + b·t`` (calls per hour)

1. **Seasonality**: the hour of the week (168 phases) with two weeks of history or more,
   else the hour of the day (24) with two days or more; with less, no forecast. Phases
   are in local time (``utc_offset_hours``, default +8, China Standard Time).
2. **Trend**: a first level from the moving average over one season; the profile is
   the median, per phase, of ``calls / level`` (scaled to mean 1); then each day's mean
   calls over its profile share is one point of a Theil–Sen line (median of the pairwise
   slopes, so a holiday or an outage does not tilt it), with Sen's rank confidence
   band for the slope; the profile is fitted again against that line.
3. **Intervals** are out of sample: fitted again without the last season (a week, or a
   day), the model forecasts it; the residuals ``log((calls + 1) / (forecast + 1))``
   over their expected spread ``sqrt(σ² + 1/(forecast + 1))`` (a multiplicative part σ,
   robust, plus the Poisson part of small counts) give the band's quantiles. The slope's
   confidence band widens it with the horizon. With the daily cycle only (under two
   weeks) the weekly cycle is not modelled: the band's spread is doubled.

:func:`holdout_error` scores the method on the last hours held out (MAPE, sMAPE,
coverage); docs/capacity.md gives the figures on synthetic history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "HOURS_PER_DAY",
    "HOURS_PER_WEEK",
    "MIN_DAILY_HOURS",
    "MIN_WEEKLY_HOURS",
    "ForecastAccuracy",
    "HourlyForecast",
    "Seasonality",
    "forecast_hourly",
    "holdout_error",
    "seasonality_for",
]

_F8 = npt.NDArray[np.float64]
Seasonality = Literal["weekly", "daily", "none"]

HOURS_PER_DAY = 24
HOURS_PER_WEEK = 168
#: Two seasons of each cycle: less history than this cannot tell the cycle from noise.
MIN_DAILY_HOURS = 2 * HOURS_PER_DAY
MIN_WEEKLY_HOURS = 2 * HOURS_PER_WEEK
#: The band's spread is multiplied by this when the weekly cycle is not modelled.
_DAILY_ONLY_WIDENING = 2.0
#: Theil–Sen uses at most this many daily points (evenly spaced) for the slope.
_MAX_TREND_POINTS = 120
#: Epoch 0 (1970-01-01) was a Thursday: hour-of-week 0 is Monday 00:00 local time.
_EPOCH_HOUR_OF_WEEK = 3 * HOURS_PER_DAY


def seasonality_for(hours: int) -> Seasonality:
    """The seasonality ``hours`` of history support: weekly, daily or none."""
    if hours >= MIN_WEEKLY_HOURS:
        return "weekly"
    if hours >= MIN_DAILY_HOURS:
        return "daily"
    return "none"


@dataclass(frozen=True, eq=False)  # array fields
class HourlyForecast:
    """Forecast calls per hour from ``start`` (epoch seconds), one value per hour.

    ``lower``/``upper`` bound a ``level`` prediction interval; ``trend_per_day`` is the
    fitted growth of the mean hourly calls per day; ``history_hours`` the hours fitted.
    """

    start: float
    point: _F8
    lower: _F8
    upper: _F8
    level: float
    seasonality: Seasonality
    history_hours: int
    trend_per_day: float
    mean_level: float


@dataclass(frozen=True)
class ForecastAccuracy:
    """Errors of a forecast over held-out hours: MAPE and sMAPE (percent), coverage."""

    hours: int
    mape: float
    smape: float
    coverage: float
    level: float

    def to_dict(self) -> dict[str, float | int]:
        return {
            "hours": self.hours,
            "mape_pct": round(self.mape, 2),
            "smape_pct": round(self.smape, 2),
            "interval_coverage": round(self.coverage, 4),
            "interval_level": self.level,
        }


@dataclass(frozen=True, eq=False)
class _Model:
    period: int
    phase0: int
    intercept: float
    slope: float
    slope_low: float
    slope_high: float
    pivot: float
    profile: _F8

    def level(self, t: _F8, slope: float | None = None) -> _F8:
        b = self.slope if slope is None else slope
        base = self.intercept + self.slope * self.pivot  # the fit's level at the pivot
        out: _F8 = np.maximum(base + b * (t - self.pivot), 0.0)
        return out

    def predict(self, t: _F8, slope: float | None = None) -> _F8:
        phase = (self.phase0 + t.astype(np.int64)) % self.period
        out: _F8 = self.level(t, slope) * self.profile[phase]
        return out


def _phase0(start: float, period: int, utc_offset_hours: float) -> int:
    hour = math.floor((start + utc_offset_hours * 3600.0) / 3600.0)
    return int((hour + _EPOCH_HOUR_OF_WEEK) % period)


def _profile(y: _F8, level: _F8, phase0: int, period: int) -> _F8:
    """Median of ``y / level`` per phase, scaled to mean 1 (1 where nothing is known)."""
    ratio = np.where(level > 0, y / np.where(level > 0, level, 1.0), np.nan)
    rows = math.ceil((phase0 + y.size) / period)
    grid = np.full(rows * period, np.nan)
    grid[phase0 : phase0 + y.size] = ratio
    table = np.sort(grid.reshape(rows, period), axis=0)  # NaN last
    known = (~np.isnan(table)).sum(axis=0)
    cols = np.arange(period)
    mid = (table[np.maximum(known - 1, 0) // 2, cols] + table[known // 2 - (known == 0), cols]) / 2
    profile = np.where(known > 0, mid, 1.0)
    mean = float(profile.mean())
    return profile / mean if mean > 0 else np.ones(period)


def _theil_sen(x: _F8, y: _F8, z: float) -> tuple[float, float, float, float]:
    """Slope, intercept and Sen's rank confidence band ``(low, high)`` of the slope."""
    if x.size < 2:
        return 0.0, float(np.median(y)) if y.size else 0.0, 0.0, 0.0
    i, j = np.triu_indices(x.size, 1)
    slopes = np.sort((y[j] - y[i]) / (x[j] - x[i]))
    slope = float(np.median(slopes))
    intercept = float(np.median(y - slope * x))
    n, m = x.size, slopes.size
    spread = z * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    lo = int(np.clip(math.floor((m - spread) / 2.0), 0, m - 1))
    hi = int(np.clip(math.ceil((m + spread) / 2.0), 0, m - 1))
    return slope, intercept, float(slopes[lo]), float(slopes[hi])


def _fit(y: _F8, phase0: int, period: int, z: float) -> _Model:
    cum = np.concatenate(([0.0], np.cumsum(y)))
    moving = (cum[period:] - cum[:-period]) / period
    centre = np.arange(moving.size) + (period - 1) / 2.0
    t = np.arange(y.size, dtype=np.float64)
    first = np.interp(t, centre, moving)  # flat beyond the first and last centres
    profile = _profile(y, first, phase0, period)
    days = y.size // HOURS_PER_DAY
    tail = y.size - days * HOURS_PER_DAY  # whole days, aligned to the end
    phase = (phase0 + np.arange(y.size)) % period
    # each day's level: its calls over its expected share (a ratio of sums: zero phases ok)
    seen = y[tail:].reshape(days, HOURS_PER_DAY).sum(axis=1)
    share = profile[phase][tail:].reshape(days, HOURS_PER_DAY).sum(axis=1)
    x = (tail + np.arange(days) * HOURS_PER_DAY + (HOURS_PER_DAY - 1) / 2.0).astype(np.float64)
    pts = seen / np.maximum(share, 1e-9)
    if days > _MAX_TREND_POINTS:
        keep = np.unique(np.linspace(0, days - 1, _MAX_TREND_POINTS).round().astype(np.intp))
        x, pts = x[keep], pts[keep]
    slope, intercept, lo, hi = _theil_sen(x, pts, z)
    pivot = float(x.mean())
    model = _Model(period, phase0, intercept, slope, lo, hi, pivot, profile)
    profile = _profile(y, model.level(t), phase0, period)
    return _Model(period, phase0, intercept, slope, lo, hi, pivot, profile)


def _residual_quantiles(actual: _F8, predicted: _F8, level: float) -> tuple[float, float, float]:
    """``(σ², q_low, q_high)`` of standardised out-of-sample log residuals."""
    e = np.log1p(actual) - np.log1p(predicted)
    poisson = 1.0 / (predicted + 1.0)
    mad = float(np.median(np.abs(e - np.median(e)))) * 1.4826
    sigma2 = max(0.0, mad * mad - float(np.median(poisson)))
    s = np.sqrt(sigma2 + poisson)
    std = e / s
    tail = (1.0 - level) / 2.0
    return sigma2, float(np.quantile(std, tail)), float(np.quantile(std, 1.0 - tail))


def _check(counts: npt.ArrayLike, level: float) -> _F8:
    y = np.asarray(counts, dtype=np.float64).reshape(-1)
    if not np.isfinite(y).all() or (y < 0).any():
        raise ValueError("forecast: counts must be finite and >= 0")
    if not 0.5 <= level < 1.0:
        raise ValueError(f"forecast: level must be in [0.5, 1) (got {level!r})")
    if y.size < MIN_DAILY_HOURS:
        raise ValueError(f"forecast: needs at least {MIN_DAILY_HOURS} hourly counts (got {y.size})")
    return y


def forecast_hourly(
    start: float,
    counts: npt.ArrayLike,
    horizon_hours: int,
    *,
    level: float = 0.9,
    utc_offset_hours: float = 8.0,
) -> HourlyForecast:
    """Forecast ``horizon_hours`` hourly counts after ``counts`` (hour 0 at ``start``).

    ``ValueError`` when the counts are negative or not finite, fewer than
    :data:`MIN_DAILY_HOURS`, or ``level`` is outside ``[0.5, 1)``.
    """
    y = _check(counts, level)
    if isinstance(horizon_hours, bool) or not isinstance(horizon_hours, int) or horizon_hours < 1:
        raise ValueError(f"forecast: horizon_hours must be an int >= 1 (got {horizon_hours!r})")
    season = seasonality_for(y.size)
    period = HOURS_PER_WEEK if season == "weekly" else HOURS_PER_DAY
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    model = _fit(y, _phase0(start, period, utc_offset_hours), period, z)
    # the band: residuals of a fit without the last season, over that season
    cut = y.size - period
    inner = _fit(y[:cut], model.phase0, period, z)
    held = np.arange(cut, y.size, dtype=np.float64)
    sigma2, q_lo, q_hi = _residual_quantiles(y[cut:], inner.predict(held), level)
    if season == "daily":
        q_lo, q_hi = q_lo * _DAILY_ONLY_WIDENING, q_hi * _DAILY_ONLY_WIDENING
    t = np.arange(y.size, y.size + horizon_hours, dtype=np.float64)
    point = model.predict(t)
    low_path = model.predict(t, min(model.slope_low, model.slope))
    high_path = model.predict(t, max(model.slope_high, model.slope))

    def band(path: _F8, q: float) -> _F8:
        s = np.sqrt(sigma2 + 1.0 / (path + 1.0))
        out: _F8 = np.maximum(np.expm1(np.log1p(path) + q * s), 0.0)
        return out

    return HourlyForecast(
        start=float(start) + y.size * 3600.0,
        point=point,
        lower=np.minimum(band(low_path, q_lo), point),
        upper=np.maximum(band(high_path, q_hi), point),
        level=level,
        seasonality=season,
        history_hours=int(y.size),
        trend_per_day=model.slope * HOURS_PER_DAY,
        mean_level=float(model.level(np.array([y.size - 0.5]))[0]),
    )


def holdout_error(
    start: float,
    counts: npt.ArrayLike,
    holdout_hours: int = HOURS_PER_WEEK,
    *,
    level: float = 0.9,
    utc_offset_hours: float = 8.0,
) -> ForecastAccuracy:
    """Fit on all but the last ``holdout_hours`` counts, forecast them, and score it.

    MAPE over the hours with calls, sMAPE over all hours (``0/0`` counts as 0), and the
    share of held-out hours inside the ``level`` interval.
    """
    y = np.asarray(counts, dtype=np.float64).reshape(-1)
    if isinstance(holdout_hours, bool) or not isinstance(holdout_hours, int) or holdout_hours < 1:
        raise ValueError(f"holdout_hours must be an int >= 1 (got {holdout_hours!r})")
    if holdout_hours >= y.size:
        raise ValueError(f"holdout_hours ({holdout_hours}) must be < the counts ({y.size})")
    fit, actual = y[:-holdout_hours], y[-holdout_hours:]
    fc = forecast_hourly(start, fit, holdout_hours, level=level, utc_offset_hours=utc_offset_hours)
    miss, busy = np.abs(fc.point - actual), actual > 0
    mape = float(np.mean(miss[busy] / actual[busy])) if busy.any() else 0.0
    denom = actual + fc.point  # both >= 0
    smape = float(np.mean(np.where(denom > 0, 2.0 * miss / np.maximum(denom, 1e-12), 0.0)))
    inside = float(np.mean((actual >= fc.lower) & (actual <= fc.upper)))
    return ForecastAccuracy(holdout_hours, mape * 100.0, smape * 100.0, inside, level)
