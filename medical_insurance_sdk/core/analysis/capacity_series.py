"""What capacity planning reads from rollups: hourly calls, peak concurrency and p95.

:func:`hourly_history` cuts a frame (minute or hour rollups, or both) into whole hours
and gives, per API of the selection and for all of them together:

* **calls** per hour (exact);
* **peak concurrency** per hour: for one API, the most calls of it in flight at one
  org (the largest of the rollups' figures, as the concurrency alert reads them); for
  all APIs, the largest over orgs of the sum over APIs of each API's peak at that org,
  an upper bound of the connections one org's client held at once (calls of different
  APIs need not overlap). ``-1`` where unknown;
* **p95** per hour and API (milliseconds, read from the summed histogram within its
  bucket's error), NaN where the hour has fewer than :data:`MIN_P95_CALLS` calls.

:func:`latency_knee` finds the load above which the p95 rises sharply (a hinge fit of
p95 against calls per minute); :func:`concurrency_model` fits peak concurrency against
calls per hour (a power law with exponent in ``[0.5, 1]``, over the busier hours).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.collection.rollups import HOUR, MINUTE, RollupFrame

__all__ = [
    "MIN_P95_CALLS",
    "HourlyHistory",
    "Knee",
    "concurrency_model",
    "hourly_history",
    "latency_knee",
    "minute_burst",
    "only_org",
]

_F8 = npt.NDArray[np.float64]
_I8 = npt.NDArray[np.int64]

#: An hour's p95 is used only when it rests on this many calls.
MIN_P95_CALLS = 20
#: The knee needs this many hours with a p95, and this many above the knee.
_MIN_KNEE_HOURS = 24
_MIN_ABOVE_KNEE = 5
#: Above the knee the p95 must climb at least this many times faster than below it,
#: and end at least this much higher than at the knee.
_SLOPE_RATIO = 4.0
_RISE = 1.5
#: Up to this many (org, hour, API) cells the org totals use a dense table, not a sort.
_DENSE_CELLS = 4_000_000


@dataclass(frozen=True, eq=False)  # array fields
class HourlyHistory:
    """Per series (``apis[i]``; the last row is every API together when ``total``)."""

    start: float
    apis: tuple[str, ...]
    total: bool
    calls: _I8
    concurrency: _I8
    p95_ms: _F8

    @property
    def hours(self) -> int:
        return int(self.calls.shape[1])


@dataclass(frozen=True)
class Knee:
    """A load (calls per minute) above which the p95 climbs sharply."""

    load_per_minute: float
    p95_at_knee_ms: float
    p95_at_max_ms: float
    max_load_per_minute: float


def _sparse_p95(frame: RollupFrame, group: _I8, n: int) -> _F8:
    """The p95 (ms) of each group's summed histogram (NaN when under MIN_P95_CALLS)."""
    out = np.full(n, np.nan)
    if not frame.hist_bucket.size:
        return out
    width = len(frame.bounds)
    key = np.repeat(group, np.diff(frame.hist_offsets)) * width + frame.hist_bucket
    keys, inverse = np.unique(key, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=frame.hist_count, minlength=keys.size)
    owner = keys // width
    totals = np.bincount(owner, weights=counts, minlength=n)
    cum = np.cumsum(counts)
    before = cum - counts  # calls in earlier entries (all groups)
    first = np.searchsorted(owner, np.arange(n))  # each group's first entry
    base = np.where(first < keys.size, before[np.minimum(first, keys.size - 1)], 0.0)
    wanted = base + np.ceil(0.95 * totals)
    entry = np.minimum(np.searchsorted(cum, wanted), keys.size - 1)
    upper = np.asarray(frame.bounds, dtype=np.float64)
    lower = np.concatenate(([0.0], upper[:-1]))
    bucket = keys[entry] % width
    value = np.where(
        np.isfinite(upper[bucket]), (lower[bucket] + upper[bucket]) / 2.0, lower[bucket]
    )
    ok = totals >= MIN_P95_CALLS
    out[ok] = value[ok] * 1000.0
    return out


def only_org(frame: RollupFrame, org_code: str | None) -> RollupFrame:
    """The rows of one org (all rows when ``org_code`` is None)."""
    if org_code is None:
        return frame
    org = frame.org_codes.index(org_code) if org_code in frame.org_codes else -1
    return frame.select(frame.org == org)


def minute_burst(frame: RollupFrame, apis: tuple[str, ...]) -> float:
    """How far the busiest minute of an hour exceeds the hour's mean rate, typically.

    Over the minute rows of ``apis`` in ``frame``: per hour, the busiest minute's calls
    over the hour's calls per minute; the median over the busier half of the hours with
    at least one call a minute on average. 1.0 without such hours (no minute rows).
    """
    codes = [i for i, code in enumerate(frame.api_codes) if code in apis]
    rows = frame.select((frame.step == MINUTE) & np.isin(frame.api, codes))
    if not len(rows):
        return 1.0
    minutes, per_minute = np.unique(rows.start, return_inverse=True)
    calls = np.bincount(per_minute.reshape(-1), weights=rows.calls)
    hours, per_hour = np.unique(np.floor(minutes / HOUR), return_inverse=True)
    total = np.bincount(per_hour, weights=calls)
    busiest = np.zeros(hours.size)
    np.maximum.at(busiest, per_hour, calls)
    ok = total >= 60.0
    if not ok.any():
        return 1.0
    ratio, load = busiest[ok] / (total[ok] / 60.0), total[ok]
    return max(1.0, float(np.median(ratio[load >= np.median(load)])))


def hourly_history(
    frame: RollupFrame, since: float, hours: int, apis: tuple[str, ...], *, total: bool
) -> HourlyHistory:
    """The hourly series of ``apis`` (and of all of them when ``total``) from ``since``.

    ``since`` is a whole hour; rows starting outside ``[since, since + hours·3600)`` or
    of other APIs are left out.
    """
    s = len(apis) + (1 if total else 0)
    calls = np.zeros((s, hours), dtype=np.int64)
    conc = np.full((s, hours), -1, dtype=np.int64)
    p95 = np.full((s, hours), np.nan)
    index = {code: i for i, code in enumerate(apis)}
    table = np.array([index.get(code, -1) for code in frame.api_codes] or [-1], np.int64)
    series = table[frame.api] if len(frame) else np.zeros(0, np.int64)
    hour = np.floor((frame.start - since) / HOUR).astype(np.int64)
    keep = (series >= 0) & (hour >= 0) & (hour < hours)
    if keep.any():
        part = frame.select(keep)
        a, h, o = series[keep], hour[keep], part.org.astype(np.int64)
        cell = a * hours + h
        n = len(apis) * hours
        calls[: len(apis)] = np.bincount(cell, weights=part.calls, minlength=n).reshape(-1, hours)
        flat = np.full(n, -1, dtype=np.int64)
        np.maximum.at(flat, cell, part.max_concurrency)
        conc[: len(apis)] = flat.reshape(-1, hours)
        p95[: len(apis)] = _sparse_p95(part, cell, n).reshape(-1, hours)
        if total:
            calls[-1] = calls[: len(apis)].sum(axis=0)
            conc[-1] = _org_total_peak(a, h, o, part.max_concurrency, hours)
    return HourlyHistory(since, apis, total, calls, conc, p95)


def _org_total_peak(a: _I8, h: _I8, o: _I8, peak: _I8, hours: int) -> _I8:
    """Per hour: max over orgs of the sum over APIs of each API's peak at the org."""
    out = np.full(hours, -1, dtype=np.int64)
    known = peak >= 0
    if not known.any():
        return out
    apis, orgs = int(a.max()) + 1, int(o.max()) + 1
    key = (o[known] * hours + h[known]) * apis + a[known]
    if orgs * hours * apis <= _DENSE_CELLS:  # no sort: a dense (org, hour, api) table
        best = np.zeros(orgs * hours * apis, dtype=np.int64)
        np.maximum.at(best, key, peak[known])
        summed = best.reshape(orgs, hours, apis).sum(axis=2)  # per (org, hour)
        out[:] = np.where((summed > 0).any(axis=0), summed.max(axis=0), -1)
        return out
    cells, inverse = np.unique(key, return_inverse=True)
    best = np.zeros(cells.size, dtype=np.int64)
    np.maximum.at(best, inverse.reshape(-1), peak[known])  # per (org, hour, api)
    pairs, pair_of = np.unique(cells // apis, return_inverse=True)  # per (org, hour)
    summed = np.bincount(pair_of.reshape(-1), weights=best).astype(np.int64)
    np.maximum.at(out, pairs % hours, summed)
    return out


def latency_knee(load: _F8, p95_ms: _F8) -> Knee | None:
    """The load above which the p95 rises sharply, from a continuous hinge fit.

    Over the hours with a p95, ``p95 = a + b·load + c·max(0, load - k)`` is fitted by
    least squares for ``k`` at 20 quantiles of the load (50th to 95th); the best ``k``
    is a knee when the slope above it (``b + c``) is at least 4 times the slope below
    (and positive), at least 5 hours lie above it, and the fitted p95 at the highest
    load is at least 1.5 times the one at ``k``. None otherwise (or with under 24 hours).
    """
    ok = np.isfinite(p95_ms) & (load > 0)
    x, y = load[ok], p95_ms[ok]
    if x.size < _MIN_KNEE_HOURS:
        return None
    ks = np.unique(np.quantile(x, np.linspace(0.5, 0.95, 20)))
    hinge = np.maximum(0.0, x[None, :] - ks[:, None])  # one row per candidate knee
    enough = (hinge > 0).sum(axis=1) >= _MIN_ABOVE_KNEE
    ks, hinge = ks[enough], hinge[enough]
    if not ks.size:
        return None
    # least squares per candidate from the normal equations of [1, x, hinge]
    n, sx, sxx = float(x.size), float(x.sum()), float(x @ x)
    sh, sxh, shh = hinge.sum(axis=1), hinge @ x, (hinge * hinge).sum(axis=1)
    gram = np.empty((ks.size, 3, 3))
    gram[:, 0, 0], gram[:, 0, 1], gram[:, 1, 1] = n, sx, sxx
    gram[:, 0, 2], gram[:, 1, 2], gram[:, 2, 2] = sh, sxh, shh
    gram[:, 1, 0], gram[:, 2, 0], gram[:, 2, 1] = sx, sh, sxh
    rhs = np.stack((np.full(ks.size, float(y.sum())), np.full(ks.size, float(x @ y)), hinge @ y))
    coef = np.linalg.solve(gram + np.eye(3) * 1e-9, rhs.T[..., None])[..., 0]
    fitted = coef[:, :1] + coef[:, 1:2] * x + coef[:, 2:3] * hinge
    sse = ((fitted - y) ** 2).sum(axis=1)
    best = int(np.argmin(sse))
    k = float(ks[best])
    a, b, c = (float(v) for v in coef[best])
    above = b + c
    top = float(x.max())
    at_k, at_top = a + b * k, a + b * k + above * (top - k)
    if above <= 0 or above < _SLOPE_RATIO * max(b, 0.0) or at_top < _RISE * max(at_k, 1e-9):
        return None
    return Knee(float(k), float(at_k), float(at_top), top)


def concurrency_model(calls: _I8, peak: _I8) -> tuple[float, float, float] | None:
    """``(A, A_high, b)`` of ``peak ≈ A·calls**b`` over the busier half of the known hours.

    ``b`` is the least-squares exponent in log space, kept in ``[0.5, 1]`` (between the
    square-root growth of random peaks and proportional growth); ``A`` is the median
    and ``A_high`` the 90th percentile of ``peak / calls**b`` (the busier hours' typical
    and high peaks). None without at least six hours with calls and a known peak.
    """
    ok = (calls > 0) & (peak >= 1)
    if np.count_nonzero(ok) < 6:
        return None
    x, y = np.log(calls[ok].astype(np.float64)), np.log(peak[ok].astype(np.float64))
    busy = x >= np.median(x)
    x, y = x[busy], y[busy]
    slope = float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else 1.0
    b = float(np.clip(slope, 0.5, 1.0))
    rest = y - b * x
    return float(np.exp(np.median(rest))), float(np.exp(np.quantile(rest, 0.9))), b
