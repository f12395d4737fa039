"""Capacity planning: forecast call volume and the date each observed limit is reached.

For each API of the selection (and for all of them together), from hourly rollups
(:mod:`.capacity_series`):

1. the hourly calls are forecast over the horizon (:mod:`.forecast`: trend, daily and
   weekly seasonality, prediction intervals); a series with under two weeks of history
   is forecast with the daily cycle only (wider intervals), one with under two days is
   not forecast ("数据不足");
2. peak concurrency follows the calls through a power law fitted on the busier hours
   (:func:`~.capacity_series.concurrency_model`), and is compared with the API's
   ``max_concurrent_calls`` threshold and with the client's connection pool
   (``pool_size``, per org; for all APIs together an upper bound of one org's calls in
   flight);
3. the busiest hour's calls per minute (the hour's mean rate) are compared with the
   latency knee seen in the history (:func:`~.capacity_series.latency_knee`); times the
   typical minute burst of the last day (:func:`~.capacity_series.minute_burst`, from
   minute rollups), with the platform's rate limit when one is given
   (``rate_limit_per_minute``, for the whole selection: pass ``org_code`` for a
   per-institution limit).

A limit's date is the first local day the forecast exceeds it; ``earliest_on`` the same
for the interval's upper bound; a limit exceeded in the last week is ``exceeded``. Bad
options raise ``ValueError`` naming the problem.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.analysis.capacity_options import CapacityOptions
from medical_insurance_sdk.core.analysis.capacity_plan import (
    CapacityLimit,
    CapacityPlan,
    CapacitySeries,
    local_date,
)
from medical_insurance_sdk.core.analysis.capacity_series import (
    HourlyHistory,
    concurrency_model,
    hourly_history,
    latency_knee,
    minute_burst,
    only_org,
)
from medical_insurance_sdk.core.analysis.capacity_texts import limit_sentence, series_note, subject
from medical_insurance_sdk.core.analysis.forecast import (
    HOURS_PER_DAY,
    HOURS_PER_WEEK,
    MIN_DAILY_HOURS,
    ForecastAccuracy,
    forecast_hourly,
    holdout_error,
)
from medical_insurance_sdk.core.analysis.texts import Lang
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold
from medical_insurance_sdk.core.collection.rollups import HOUR, RollupFrame

__all__ = ["plan_capacity"]

_F8 = npt.NDArray[np.float64]


def _first_above(path: _F8, limit: float) -> int | None:
    above = np.flatnonzero(path > limit)
    return int(above[0]) if above.size else None


@dataclass(frozen=True)
class _Series:
    """What the limits of one series compare: paths over the horizon, observed peaks."""

    who: str
    start: float  # epoch of the horizon's first hour
    calls: _F8  # point forecast, calls per hour
    upper: _F8
    recent_calls: npt.NDArray[np.int64]  # the last week of history
    recent_peak: npt.NDArray[np.int64]  # its peak concurrency (-1 unknown)
    all_calls: npt.NDArray[np.int64]
    all_peak: npt.NDArray[np.int64]


def _limit(
    s: _Series,
    kind: str,
    limit: float,
    point: _F8,
    upper: _F8,
    current: float,
    opts: CapacityOptions,
    lang: Lang,
) -> CapacityLimit:
    unit = "calls_per_minute" if kind in ("latency_knee", "rate_limit") else "calls_in_flight"
    at, early = _first_above(point, limit), _first_above(upper, limit)
    day = point[-HOURS_PER_WEEK:].max() if point.size else 0.0

    def date(i: int | None) -> str | None:
        return None if i is None else local_date(s.start + i * HOUR, opts.utc_offset_hours)

    status = "exceeded" if current > limit else "ok" if at is None else "reached"
    case = "ok_upper" if status == "ok" and early is not None else status
    text = limit_sentence(
        lang, case, kind, s.who, limit=limit, current=current, peak=float(day),
        date=date(at), earliest=date(early), days=opts.horizon_days,
    )  # fmt: skip
    return CapacityLimit(
        kind, unit, float(limit), float(current), float(day), date(at), date(early), status, text
    )


def _concurrency_limits(
    s: _Series, limits: list[tuple[str, float]], opts: CapacityOptions, lang: Lang
) -> list[CapacityLimit]:
    model = concurrency_model(s.all_calls, s.all_peak)
    known = s.recent_peak[s.recent_peak >= 0]
    if model is None or not known.size:
        return [
            CapacityLimit(kind, "calls_in_flight", float(v), None, None, None, None, "unknown",
                          limit_sentence(lang, "unknown", kind, s.who, limit=v, current=None))
            for kind, v in limits
        ]  # fmt: skip
    a, a_high, b = model
    point, upper = a * s.calls**b, a_high * s.upper**b
    current = float(known.max())
    return [_limit(s, kind, v, point, upper, current, opts, lang) for kind, v in limits]


def _load_limits(
    s: _Series, knee_p95: _F8 | None, opts: CapacityOptions, lang: Lang, burst: float | None
) -> list[CapacityLimit]:
    point, upper = s.calls / 60.0, s.upper / 60.0
    current = float(s.recent_calls.max(initial=0)) / 60.0
    out = []
    if knee_p95 is not None:
        knee = latency_knee(s.all_calls.astype(np.float64) / 60.0, knee_p95)
        if knee is None:
            top = float(s.all_calls.max(initial=0)) / 60.0
            text = limit_sentence(lang, "no_knee", "latency_knee", s.who, limit=None, current=top)
            out.append(
                CapacityLimit("latency_knee", "calls_per_minute", None, current, float(
                    point[-HOURS_PER_WEEK:].max()), None, None, "not_found", text)
            )  # fmt: skip
        else:
            k = knee.load_per_minute
            out.append(_limit(s, "latency_knee", k, point, upper, current, opts, lang))
    if burst is not None and opts.rate_limit_per_minute is not None:
        r, b = float(opts.rate_limit_per_minute), burst
        out.append(_limit(s, "rate_limit", r, point * b, upper * b, current * b, opts, lang))
    return out


def _plan_series(
    hist: HourlyHistory,
    row: int,
    opts: CapacityOptions,
    threshold: PerformanceThreshold | None,
    lang: Lang,
    burst: float | None,
) -> CapacitySeries:
    api = hist.apis[row] if row < len(hist.apis) else None
    who = subject(api, opts.org_code, lang)
    calls = hist.calls[row]
    busy = np.flatnonzero(calls > 0)
    first = int(busy[0]) if busy.size else calls.size
    y = calls[first:]
    days = y.size / HOURS_PER_DAY
    recent = slice(max(first, calls.size - HOURS_PER_WEEK), calls.size)
    peak_now = float(calls[recent].max(initial=0))
    if y.size < MIN_DAILY_HOURS:
        note = series_note(lang, "insufficient_data", who, days)
        return CapacitySeries(
            api, opts.org_code, "insufficient_data", days, None, None, peak_now, None, None,
            None, (), note, opts.utc_offset_hours,
        )  # fmt: skip
    start = hist.start + first * HOUR
    horizon = opts.horizon_days * HOURS_PER_DAY
    fc = forecast_hourly(
        start, y, horizon, level=opts.level, utc_offset_hours=opts.utc_offset_hours
    )
    accuracy: ForecastAccuracy | None = None
    hold = HOURS_PER_WEEK if y.size >= HOURS_PER_WEEK + MIN_DAILY_HOURS else HOURS_PER_DAY
    if y.size >= hold + MIN_DAILY_HOURS:
        accuracy = holdout_error(start, y, hold, level=opts.level,
                                 utc_offset_hours=opts.utc_offset_hours)  # fmt: skip
    status = "ok" if fc.seasonality == "weekly" else "short_history"
    note = series_note(lang, "short_history", who, days) if status == "short_history" else ""
    s = _Series(who, fc.start, fc.point, fc.upper, calls[recent], hist.concurrency[row][recent],
                y, hist.concurrency[row][first:])  # fmt: skip
    pairs = [("connection_pool", float(opts.pool_size))]
    if threshold is not None:
        pairs.insert(0, ("max_concurrent_calls", float(threshold.max_concurrent_calls)))
    limits = _concurrency_limits(s, pairs, opts, lang)
    knee_p95 = hist.p95_ms[row][first:] if api is not None else None
    limits += _load_limits(s, knee_p95, opts, lang, burst)
    last = slice(-HOURS_PER_WEEK, None)
    i = int(np.argmax(fc.point[last]))
    growth = fc.trend_per_day * 30.0 / fc.mean_level if fc.mean_level > 0 else None
    return CapacitySeries(
        api, opts.org_code, status, days, fc, accuracy, peak_now,
        float(fc.point[last][i]), (float(fc.lower[last][i]), float(fc.upper[last][i])),
        growth, tuple(limits), note, opts.utc_offset_hours,
    )  # fmt: skip


def plan_capacity(
    frame: RollupFrame,
    now: float,
    opts: CapacityOptions,
    threshold_of: Callable[[str], PerformanceThreshold],
    lang: Lang,
    minutes: RollupFrame | None = None,
) -> CapacityPlan:
    """The plan over ``frame``'s rollups of the ``opts.history_days`` before ``now``.

    Every API with calls in the window (or ``opts.api_code`` only), then, when several
    APIs are planned together, all of them as one series; ``opts.org_code`` restricts the
    rows to one org. The last, incomplete hour before ``now`` is left out. ``minutes``
    (minute rollups of the last day) give the minute burst the rate limit is met with.
    """
    end = math.floor(now / HOUR) * HOUR
    since = math.floor((end - opts.history_days * 86400.0) / HOUR) * HOUR
    hours = round((end - since) / HOUR)
    frame = only_org(frame, opts.org_code).window(since, end)
    if opts.api_code is not None:
        apis: tuple[str, ...] = (opts.api_code,)
    else:
        present = np.unique(frame.api[frame.calls > 0]).tolist()
        apis = tuple(sorted(frame.api_codes[i] for i in present))
    total = opts.api_code is None and len(apis) > 1
    hist = hourly_history(frame, since, hours, apis, total=total)
    burst = None
    if opts.rate_limit_per_minute is not None:
        burst = 1.0 if minutes is None else minute_burst(only_org(minutes, opts.org_code), apis)
    rows = range(len(apis) + (1 if total else 0))
    series = tuple(
        _plan_series(
            hist, r, opts, threshold_of(apis[r]) if r < len(apis) else None, lang,
            burst if r == len(apis) or not total else None,
        )
        for r in rows
    )  # fmt: skip
    return CapacityPlan(
        generated_at=float(now),
        horizon_days=opts.horizon_days,
        history_days=float(opts.history_days),
        level=float(opts.level),
        utc_offset_hours=float(opts.utc_offset_hours),
        pool_size=opts.pool_size,
        rate_limit_per_minute=opts.rate_limit_per_minute,
        minute_burst=burst,
        language=lang,
        series=series,
    )
