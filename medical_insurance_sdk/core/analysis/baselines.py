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

from medical_insurance_sdk.core.analysis.robust_stats import group_percentiles, robust
from medical_insurance_sdk.core.collection.rollups import HOUR, MINUTE, RollupFrame

__all__ = [
    "BASELINE_KINDS",
    "CST_OFFSET",
    "MIN_RECENT_SAMPLES",
    "MIN_WEEKS",
    "SAMPLE_CALLS",
    "Baseline",
    "SeriesKey",
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

    def pick(self, keep: npt.NDArray[np.bool_]) -> _Samples:
        return _Samples(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


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


def _figures(s: _Samples, n: int, periods: _I8, minutes: float) -> dict[str, _F8]:
    """Levels and spreads per series ``0..n-1`` of the samples ``s``.

    ``periods[i]`` (>= series ``i``'s samples) counts the periods it could have called in:
    those without a sample had no calls (they lower the volume); ``minutes`` per period.
    """

    def add(col: _F8) -> _F8:
        return np.bincount(s.series, weights=col, minlength=n).astype(np.float64)

    calls = add(s.calls)
    full = s.calls >= SAMPLE_CALLS
    out: dict[str, _F8] = {"calls": calls, "samples": add(np.ones(s.calls.size))}
    for name, col in (("p50", s.p50), ("p95", s.p95)):
        level, spread = robust(np.where(full, col, np.nan), s.series, n)
        known = ~np.isnan(col)
        weights = np.where(known, s.calls, 0.0)
        thin = add(np.where(known, col, 0.0) * weights) / np.maximum(add(weights), 1e-300)
        thin[add(weights) == 0] = np.nan
        out[name] = np.where(np.isnan(level), thin, level)  # thin samples: a rough level
        out[f"{name}_spread"] = spread
    safe = np.maximum(calls, 1.0)
    for name, col in (("system", s.system), ("refused", s.refused)):
        out[name] = add(col) / safe
        ratio = np.where(full, col / np.maximum(s.calls, 1.0), np.nan)
        out[f"{name}_spread"] = np.nan_to_num(robust(ratio, s.series, n)[1])
    empty = np.maximum(periods - out["samples"].astype(np.int64), 0)
    per_minute = np.concatenate((s.calls, np.zeros(int(empty.sum())))) / minutes
    owner = np.concatenate((s.series, np.repeat(np.arange(n), empty)))
    out["cpm"] = calls / (minutes * np.maximum(periods, 1))
    out["cpm_spread"] = np.nan_to_num(robust(per_minute, owner, n)[1])
    return out


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


def _collect(
    found: dict[SeriesKey, Baseline],
    names: list[SeriesKey],
    f: dict[str, _F8],
    kinds: list[str],
    days: _I8,
    wanted: npt.NDArray[np.bool_],
    how: int,
    now: float,
) -> None:
    """Add a Baseline for every wanted series not found yet."""
    for i in np.flatnonzero(wanted).tolist():
        key = names[i]
        if key in found:
            continue
        found[key] = Baseline(
            api_code=key[0],
            org_code=key[1],
            kind=kinds[i],
            hour_of_week=how,
            days=int(days[i]),
            samples=int(f["samples"][i]),
            calls=round(float(f["calls"][i])),
            calls_per_minute=float(f["cpm"][i]),
            calls_per_minute_spread=float(f["cpm_spread"][i]),
            p50_ms=float(f["p50"][i]),
            p50_spread_ms=float(f["p50_spread"][i]),
            p95_ms=float(f["p95"][i]),
            p95_spread_ms=float(f["p95_spread"][i]),
            system_error_ratio=float(f["system"][i]),
            system_error_spread=float(f["system_spread"][i]),
            refusal_ratio=float(f["refused"][i]),
            refusal_spread=float(f["refused_spread"][i]),
            computed_at=now,
        )


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
        n = len(names)
        day = np.floor((old.start + CST_OFFSET) / DAY).astype(np.int64)
        first_day = int(day.min())
        for series in groupings:
            s = _samples(old, series, day - first_day)
            same = (first_day + s.period + 3) % 7 == how // 24
            weekly = np.bincount(s.series, weights=same, minlength=n) >= MIN_WEEKS
            s = s.pick(same | ~weekly[s.series])  # the same weekday when there are enough
            counts = np.bincount(s.series, minlength=n).astype(np.int64)
            kinds = ["hour_of_week" if w else "hour_of_day" for w in weekly.tolist()]
            f = _figures(s, n, counts, HOUR / MINUTE)
            _collect(found, names, f, kinds, counts, counts > 0, how, now)
    part = recent.window(recent_since, recent_until)
    if len(part):
        names, groupings = _series(part)
        n = len(names)
        # whole minutes before the end: 1 for the last minute's row, grouped by five
        back = np.maximum(np.rint((recent_until - part.start) / MINUTE).astype(np.int64), 1)
        block = (back - 1) // round(RECENT_SAMPLE / MINUTE)
        for series in groupings:
            s = _samples(part, series, block)
            span = np.zeros(n, dtype=np.int64)  # from the first block with calls
            np.maximum.at(span, s.series, s.period + 1)
            f = _figures(s, n, span, RECENT_SAMPLE / MINUTE)
            zero = np.zeros(n, dtype=np.int64)
            wanted = span >= MIN_RECENT_SAMPLES
            _collect(found, names, f, ["recent"] * n, zero, wanted, how, now)
    return found
