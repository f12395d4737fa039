"""The capacity plan's typed results: :class:`CapacityPlan`, one :class:`CapacitySeries`
per API (and one for all APIs), one :class:`CapacityLimit` per limit compared.

Built by :func:`~medical_insurance_sdk.core.analysis.capacity.plan_capacity`; converted
to dicts at the edge (``to_dict``). Dates are ``YYYY-MM-DD`` in the plan's local time
(``utc_offset_hours``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from medical_insurance_sdk.core.analysis.forecast import ForecastAccuracy, HourlyForecast

__all__ = ["CapacityLimit", "CapacityPlan", "CapacitySeries", "local_date"]


def local_date(epoch: float, utc_offset_hours: float) -> str:
    """``YYYY-MM-DD`` of ``epoch`` at ``utc_offset_hours`` from UTC."""
    zone = timezone(timedelta(hours=utc_offset_hours))
    return datetime.fromtimestamp(epoch, tz=zone).date().isoformat()


def _num(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


@dataclass(frozen=True)
class CapacityLimit:
    """One limit against one figure's forecast.

    ``kind``: ``max_concurrent_calls``, ``connection_pool`` (calls in flight),
    ``latency_knee`` or ``rate_limit`` (calls per minute). ``status``: ``exceeded``
    (already above it in the last week), ``reached`` (the forecast crosses it on
    ``reached_on``), ``ok`` (not within the horizon; ``earliest_on`` is when the
    interval's upper bound would), ``not_found`` (no knee in the history) or
    ``unknown`` (the source does not record the figure). ``limit`` is None when no knee
    was found.
    """

    kind: str
    unit: str
    limit: float | None
    current_peak: float | None
    forecast_peak: float | None
    reached_on: str | None
    earliest_on: str | None
    status: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "unit": self.unit,
            "limit": _num(self.limit),
            "current_peak": _num(self.current_peak),
            "forecast_peak": _num(self.forecast_peak),
            "reached_on": self.reached_on,
            "earliest_on": self.earliest_on,
            "status": self.status,
            "message": self.message,
        }


@dataclass(frozen=True)
class CapacitySeries:
    """The plan of one API (``api_code``) or of all APIs together (``api_code`` None).

    ``status`` is ``ok`` (weekly and daily seasonality), ``short_history`` (under two
    weeks: daily only, wider intervals) or ``insufficient_data`` (under two days: no
    forecast, no limits). ``accuracy`` is the method's error on this series' own last
    week (or day) held out, when the history allows it. Peaks are the busiest hour's
    calls: over the last week of history (``peak_calls_per_hour``) and over the horizon's
    last week (``forecast_peak_calls_per_hour``, with its interval). A limit's
    ``forecast_peak`` is likewise the horizon's last week's.
    """

    api_code: str | None
    org_code: str | None
    status: str
    history_days: float
    forecast: HourlyForecast | None
    accuracy: ForecastAccuracy | None
    peak_calls_per_hour: float
    forecast_peak_calls_per_hour: float | None
    forecast_peak_interval: tuple[float, float] | None
    growth_per_30_days: float | None
    limits: tuple[CapacityLimit, ...]
    note: str
    utc_offset_hours: float = 8.0

    def daily_peaks(self) -> list[dict[str, Any]]:
        """Per local day of the horizon: the busiest hour's forecast and interval."""
        fc = self.forecast
        if fc is None:
            return []
        off = self.utc_offset_hours * 3600.0
        stamps = fc.start + 3600.0 * np.arange(fc.point.size)
        day = np.floor((stamps + off) / 86400.0).astype(np.int64)
        edges = np.flatnonzero(np.concatenate(([True], day[1:] != day[:-1])))
        peaks = [np.maximum.reduceat(v, edges) for v in (fc.point, fc.lower, fc.upper)]
        return [
            {
                "date": local_date(float(stamps[i]), self.utc_offset_hours),
                "calls_per_hour": round(float(peaks[0][k]), 1),
                "lower": round(float(peaks[1][k]), 1),
                "upper": round(float(peaks[2][k]), 1),
            }
            for k, i in enumerate(edges.tolist())
        ]

    def to_dict(self, *, daily: bool = True) -> dict[str, Any]:
        fc = self.forecast
        out: dict[str, Any] = {
            "api_code": self.api_code,
            "org_code": self.org_code,
            "status": self.status,
            "seasonality": fc.seasonality if fc is not None else "none",
            "history_days": round(self.history_days, 2),
            "peak_calls_per_hour": _num(self.peak_calls_per_hour, 1),
            "forecast_peak_calls_per_hour": _num(self.forecast_peak_calls_per_hour, 1),
            "forecast_peak_interval": (
                None
                if self.forecast_peak_interval is None
                else [round(v, 1) for v in self.forecast_peak_interval]
            ),
            "interval_level": fc.level if fc is not None else None,
            "growth_per_30_days": _num(self.growth_per_30_days, 4),
            "accuracy": None if self.accuracy is None else self.accuracy.to_dict(),
            "limits": [limit.to_dict() for limit in self.limits],
            "note": self.note,
        }
        if daily:
            out["daily_peaks"] = self.daily_peaks()
        return out


@dataclass(frozen=True)
class CapacityPlan:
    """Forecasts and limit dates of every planned series (see the module).

    ``minute_burst`` is the factor the rate limit is met with (the busiest minute over
    the hour's mean rate, from the last day's minute rollups; 1.0 without them; None
    without a rate limit).
    """

    generated_at: float
    horizon_days: int
    history_days: float
    level: float
    utc_offset_hours: float
    pool_size: int
    rate_limit_per_minute: float | None
    minute_burst: float | None
    language: str
    series: tuple[CapacitySeries, ...]

    def messages(self) -> list[str]:
        """Every series' note and limit sentences, the urgent ones (exceeded, reached) first."""
        rank = {"exceeded": 0, "reached": 1}
        limits = sorted(
            (lim for s in self.series for lim in s.limits),
            key=lambda lim: (rank.get(lim.status, 2), lim.reached_on or ""),
        )
        notes = [s.note for s in self.series if s.note]
        return (
            [lim.message for lim in limits if lim.status in rank]
            + notes
            + [lim.message for lim in limits if lim.status not in rank]
        )

    def to_dict(self, *, daily: bool = True) -> dict[str, Any]:
        """The plan as plain data; ``daily=False`` leaves out each day's forecast peak."""
        return {
            "generated_at": datetime.fromtimestamp(self.generated_at, tz=timezone.utc).isoformat(),
            "horizon_days": self.horizon_days,
            "history_days": self.history_days,
            "interval_level": self.level,
            "utc_offset_hours": self.utc_offset_hours,
            "pool_size": self.pool_size,
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "minute_burst": _num(self.minute_burst),
            "language": self.language,
            "series": [s.to_dict(daily=daily) for s in self.series],
            "messages": self.messages(),
        }
