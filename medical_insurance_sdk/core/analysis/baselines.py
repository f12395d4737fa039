"""Baselines: what is usual for one API and org at this hour, learned from rollups.

A :class:`Baseline` holds, for one ``(api_code, org_code)`` series (``org_code`` None: the
API over every org), a robust **level** and **spread** of the p50 and p95 latency, the
system-error ratio, the business-refusal ratio and the calls per minute. Each figure is
computed per *sample* (a pooled block of calls, see below); the level of a latency is
the median of the samples' percentiles (samples with at least :data:`SAMPLE_CALLS`
calls; the pooled percentile when none has), the level of a ratio is the pooled ratio
(failures over calls of every sample), the level of the volume is the mean calls per
minute (a Poisson rate); every spread is the median absolute deviation of the samples'
figures scaled by 1.4826 (a standard deviation for normal data).

Which samples, first match wins (hours are China Standard Time, UTC+8, no DST):

* ``hour_of_week``: the same hour of the same weekday on earlier days (at least
  :data:`MIN_WEEKS` of them), one sample per day;
* ``hour_of_day``: the same hour on the earlier days available (at least one);
* ``recent``: before a day of history exists, the calls of the last
  ``recent_minutes`` (60) up to ``exclude_minutes`` (5) ago, in 5-minute samples,
  from the series' first call in that window; it needs at least
  :data:`MIN_RECENT_SAMPLES` samples (20 minutes), so 30 minutes of steady traffic
  give a baseline. An incident younger than ``exclude_minutes`` is not in it, and the
  medians keep one that is older from moving the level before it fills half the window.

``days`` says how many days a baseline rests on (0 for ``recent``). Percentiles are
read from the rollups' histograms at the bucket's geometric middle (2 % relative error
with the embedded history's buckets).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.rollups import HOUR, MINUTE, RollupFrame

__all__ = [
    "BASELINE_KINDS",
    "CST_OFFSET",
    "MIN_RECENT_SAMPLES",
    "MIN_WEEKS",
    "SAMPLE_CALLS",
    "Baseline",
    "SeriesKey",
    "group_percentiles",
    "hour_of_week",
    "learn_baselines",
]

#: China Standard Time (UTC+8, no daylight saving): the clock hours of week follow.
CST_OFFSET = 8 * 3600.0
DAY = 86400.0
#: The same weekday and hour on this many earlier days make an ``hour_of_week`` baseline.
MIN_WEEKS = 2
#: A recent baseline needs this many 5-minute samples.
MIN_RECENT_SAMPLES = 4
#: A sample's latency percentile counts towards the median from this many calls.
SAMPLE_CALLS = 20
#: Length of a recent sample, seconds.
RECENT_SAMPLE = 300.0
#: Scales a median absolute deviation to a standard deviation.
MAD_SCALE = 1.4826
BASELINE_KINDS = ("hour_of_week", "hour_of_day", "recent")

SeriesKey = tuple[str, str | None]
_F8 = npt.NDArray[np.float64]
_I8 = npt.NDArray[np.int64]


def hour_of_week(epoch: float | _F8) -> Any:
    """Hour of the week in China Standard Time: Monday 00:00-00:59 is 0, Sunday 23h 167."""
    local = np.asarray(epoch, dtype=np.float64) + CST_OFFSET
    day = np.floor(local / DAY)
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
    hour = np.floor((local - day * DAY) / HOUR)
    result = (weekday * 24 + hour).astype(np.int64)
    return int(result) if result.ndim == 0 else result


@dataclass(frozen=True)
class Baseline:
    """The usual figures of one series at one hour of the week (levels and spreads)."""

    api_code: str
    org_code: str | None  # None: every org of the API together
    kind: str  # 'hour_of_week' | 'hour_of_day' | 'recent'
    hour_of_week: int  # 0 (Monday 00h, UTC+8) .. 167
    days: int  # earlier days the baseline rests on (0: recent)
    samples: int
    calls: int  # calls behind it
    calls_per_minute: float
    calls_per_minute_spread: float
    p50_ms: float
    p50_spread_ms: float
    p95_ms: float
    p95_spread_ms: float
    system_error_ratio: float
    system_error_spread: float
    refusal_ratio: float
    refusal_spread: float
    computed_at: float  # epoch seconds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def _mad(values: _F8) -> float:
    if not values.size:
        return 0.0
    return float(MAD_SCALE * np.median(np.abs(values - np.median(values))))


@dataclass(frozen=True)
class _Samples:
    """Per (series, period) pooled figures of one frame, ordered by series then period."""

    series: _I8
    period: _I8
    calls: _F8
    system: _F8
    refused: _F8
    p50: _F8
    p95: _F8

    def of(self, n_series: int) -> tuple[_I8, _I8]:
        """``(first, last)`` sample index of every series id ``0..n_series-1``."""
        ids = np.arange(n_series)
        first = np.searchsorted(self.series, ids, side="left").astype(np.int64)
        last = np.searchsorted(self.series, ids, side="right").astype(np.int64)
        return first, last


def _samples(frame: RollupFrame, series_of_row: _I8, period_of_row: _I8) -> _Samples:
    periods = int(period_of_row.max()) + 1
    cells, group = np.unique(series_of_row * periods + period_of_row, return_inverse=True)
    group = group.reshape(-1).astype(np.int64)
    n = int(cells.size)

    def add(col: npt.NDArray[Any]) -> _F8:
        return np.bincount(group, weights=col.astype(np.float64), minlength=n).astype(np.float64)

    p50, p95 = group_percentiles(frame, group, n, (50.0, 95.0))
    return _Samples(
        (cells // periods).astype(np.int64),
        (cells % periods).astype(np.int64),
        add(frame.calls),
        add(frame.system_errors),
        add(frame.business_errors),
        p50,
        p95,
    )


def _figures(s: _Samples, rows: _I8, periods: int, minutes: float) -> dict[str, float]:
    """Levels and spreads of the samples ``rows`` of one series.

    ``periods`` (>= the samples) counts the periods the series could have called in: the
    ones without a sample had no calls (they lower the volume); ``minutes`` per period.
    """
    calls = s.calls[rows]
    total = float(calls.sum())
    full = rows[calls >= SAMPLE_CALLS]
    out: dict[str, float] = {"calls": total}
    for name, col in (("p50", s.p50), ("p95", s.p95)):
        picked = col[full]
        if picked.size:
            out[name], out[f"{name}_spread"] = float(np.median(picked)), _mad(picked)
        else:  # the calls-weighted mean of thin samples (rough, spread unknown)
            known = rows[~np.isnan(col[rows])]
            w = s.calls[known]
            level = float(np.average(col[known], weights=w)) if w.sum() > 0 else math.nan
            out[name], out[f"{name}_spread"] = level, math.nan
    for name, col in (("system", s.system), ("refused", s.refused)):
        out[name] = float(col[rows].sum()) / total if total else 0.0
        out[f"{name}_spread"] = _mad(col[full] / s.calls[full])
    per_minute = np.concatenate((calls, np.zeros(max(periods - rows.size, 0)))) / minutes
    out["cpm"] = float(per_minute.mean())
    out["cpm_spread"] = _mad(per_minute)
    return out


def _build(
    key: SeriesKey, kind: str, how: int, days: int, f: dict[str, float], samples: int, now: float
) -> Baseline:
    return Baseline(
        api_code=key[0],
        org_code=key[1],
        kind=kind,
        hour_of_week=how,
        days=days,
        samples=samples,
        calls=round(f["calls"]),
        calls_per_minute=f["cpm"],
        calls_per_minute_spread=f["cpm_spread"],
        p50_ms=f["p50"],
        p50_spread_ms=f["p50_spread"],
        p95_ms=f["p95"],
        p95_spread_ms=f["p95_spread"],
        system_error_ratio=f["system"],
        system_error_spread=f["system_spread"],
        refusal_ratio=f["refused"],
        refusal_spread=f["refused_spread"],
        computed_at=now,
    )


def _series(frame: RollupFrame) -> tuple[list[SeriesKey], list[_I8]]:
    """Series names and, per grouping, each row's series id.

    Two groupings: (API, org) pairs, then whole APIs (org None, ids after the pairs).
    """
    n_org = max(len(frame.org_codes), 1)
    pair = frame.api.astype(np.int64) * n_org + frame.org
    keys, inverse = np.unique(pair, return_inverse=True)
    names: list[SeriesKey] = [
        (frame.api_codes[int(k) // n_org], frame.org_codes[int(k) % n_org]) for k in keys
    ]
    n_pairs = len(names)
    names += [(code, None) for code in frame.api_codes]
    return names, [inverse.reshape(-1).astype(np.int64), n_pairs + frame.api.astype(np.int64)]


def learn_baselines(
    recent: RollupFrame,
    recent_since: float,
    recent_until: float,
    history: RollupFrame,
    now: float,
) -> dict[SeriesKey, Baseline]:
    """Baselines of every series at ``now``'s hour of the week.

    ``history``: rollups (minute or hour rows) of earlier days (rows of today and of
    other hours are ignored); ``recent``: minute rollups, those starting in
    ``[recent_since, recent_until)`` are read.
    """
    how = int(hour_of_week(now))
    found: dict[SeriesKey, Baseline] = {}
    today = math.floor((now + CST_OFFSET) / DAY)
    if len(history):
        day_of = np.floor((history.start + CST_OFFSET) / DAY)
        old = history.select((day_of < today) & (hour_of_week(history.start) % 24 == how % 24))
    else:
        old = history
    if len(old):
        names, groupings = _series(old)
        day = np.floor((old.start + CST_OFFSET) / DAY).astype(np.int64)
        first_day = int(day.min())
        for series in groupings:
            s = _samples(old, series, day - first_day)
            weekday_ok = (first_day + s.period + 3) % 7 == how // 24
            for sid, (a, b) in enumerate(zip(*s.of(len(names)), strict=True)):
                if b <= a:
                    continue
                mine = np.arange(a, b)
                same = mine[weekday_ok[mine]]
                kind, rows = (
                    ("hour_of_week", same) if same.size >= MIN_WEEKS else ("hour_of_day", mine)
                )
                f = _figures(s, rows, int(rows.size), 60.0)
                found[names[sid]] = _build(names[sid], kind, how, int(rows.size), f, rows.size, now)
    part = recent.window(recent_since, recent_until)
    if len(part):
        names, groupings = _series(part)
        block = np.floor((recent_until - 1e-9 - part.start) / RECENT_SAMPLE).astype(np.int64)
        block_minutes = RECENT_SAMPLE / MINUTE
        for series in groupings:
            s = _samples(part, series, block)
            for sid, (a, b) in enumerate(zip(*s.of(len(names)), strict=True)):
                key = names[sid]
                if b <= a or key in found:
                    continue
                rows = np.arange(a, b)
                span = int(s.period[rows].max()) + 1  # from the first block with calls
                if span < MIN_RECENT_SAMPLES:
                    continue
                f = _figures(s, rows, span, block_minutes)
                found[key] = _build(key, "recent", how, 0, f, span, now)
    return found
