"""Incidents on a timeline: the alert conditions replayed over a window of minute rollups.

:func:`find_incidents` evaluates, at every multiple of ``step`` seconds (the evaluation
step, default 60) in ``(since, until]``, the same figures
:func:`~medical_insurance_sdk.core.analysis.conditions.observe` measures over the calls of
``[t - alert_window, t)`` per (API, org), and applies the lifecycle of
:class:`~medical_insurance_sdk.core.analysis.alerts.AlertManager`:

* an incident **opens** at the first evaluation where the condition holds (``warning``
  above the threshold, ``critical`` above twice it) with at least ``policy.min_calls``
  calls of that API and org in the window;
* it **stays** open while the condition holds or while the figure is between the
  threshold and the hysteresis margin, and while the org makes fewer than
  ``min_calls`` (but some) calls: those decide nothing;
* it **closes** at the first evaluation where the figure is back at or below
  ``threshold·(1 - hysteresis)`` with at least ``min_calls`` calls, or where the org made
  no call of that API in the window. ``end`` is that evaluation's time; ``None`` when
  the incident is still open at the last evaluation of the window.

As the live alerts (docs/alerting.md), a failure ratio opens only with evidence (the
binomial rule of :mod:`.evidence`, in the long window, or in the short window while the
long figure is above the limit), and the short window (``policy.short_window_minutes``
rounded up to whole minutes) has its say when it holds ``min_short_calls`` calls: clear
there closes, not holding there neither opens nor closes; with fewer calls, clean calls
block an opening (those of the short window or of the last 5 minutes). The alerts against baselines
(``latency_baseline``, ``refusal_rate``, ``traffic_drop``) are live only, not replayed.

Figures from rollups: counts are exact (calls, successes, system errors, outcome-unknown
calls), so the error and success rates are the live path's to the last bit. The p95 is
compared with a limit from the window's summed histogram: the calls above the limit
decide it unless the 95th percentile's order statistics fall in the bucket holding the
limit, where the p95 is read from the histogram (2 % relative error, see
:mod:`~medical_insurance_sdk.core.collection.latency_buckets`); the p95 values of an open
incident (its peak and its last value) are read the same way. Concurrency is the most of
the minutes' maxima in the window (a lower bound of the live figure: calls in flight
across a minute boundary are not compared); a source without it (``-1``) raises no
concurrency incident.

The window is ``[t - W, t)`` with ``W`` the alert window rounded up to whole minutes; the
live evaluation reads ``[t - W, t]``, so a call ending exactly at ``t`` is seen one
evaluation later here. Rows of the frame are placed in the minute their interval starts:
give minute rollups (an hour row would count as one minute's calls).

An incident's ``calls``, ``failures``, ``system_errors`` and ``outcome_unknown`` are
those of its API and org in ``[start - W, end)`` (``end``: the last evaluation when still
open), the calls its evaluations saw.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.analysis.alerts import PerformanceAlert, iso
from medical_insurance_sdk.core.analysis.conditions import AlertPolicy
from medical_insurance_sdk.core.analysis.evidence import has_evidence
from medical_insurance_sdk.core.analysis.short_window import RECENT_MINUTES
from medical_insurance_sdk.core.analysis.texts import Lang, alert_message, check_lang
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold
from medical_insurance_sdk.core.collection.latency_buckets import percentiles
from medical_insurance_sdk.core.collection.rollups import MINUTE, RollupFrame

__all__ = ["Incident", "find_incidents", "open_alerts"]

_F8 = npt.NDArray[np.float64]
_I8 = npt.NDArray[np.int64]
_B = npt.NDArray[np.bool_]

_SEVERITIES = ("warning", "critical")
#: Cells whose p95 is read from the histogram at once (bounds memory: cells x buckets).
_CHUNK = 2048


@dataclass(frozen=True)
class Incident:
    """One alert condition of one API and org, from the evaluation it fired to its end."""

    api_code: str
    org_code: str
    alert_type: str  # response_time | error_rate | success_rate | concurrency
    severity: str  # the peak: 'warning' or 'critical'
    start: float  # epoch seconds: the evaluation that opened it
    end: float | None  # the evaluation that closed it; None: open at the window's end
    peak_value: float  # the worst figure (p95 ms, rate, success rate, calls in flight)
    last_value: float  # the figure at its last open evaluation
    threshold: float  # the threshold (the target for success_rate)
    calls: int
    failures: int
    system_errors: int
    outcome_unknown: int  # W$ calls whose outcome is unknown (to reconcile)
    message: str  # the alert text at the peak
    lang: Lang = "zh"

    @property
    def is_open(self) -> bool:
        """True when the incident is still open at the end of the window."""
        return self.end is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "api_code": self.api_code,
            "org_code": self.org_code,
            "alert_type": self.alert_type,
            "severity": self.severity,
            "start": iso(self.start),
            "end": None if self.end is None else iso(self.end),
            "state": "active" if self.end is None else "resolved",
            "peak_value": self.peak_value,
            "last_value": self.last_value,
            "threshold": self.threshold,
            "calls": self.calls,
            "failures": self.failures,
            "system_errors": self.system_errors,
            "outcome_unknown": self.outcome_unknown,
            "message": self.message,
        }

    def as_alert(self, now: float) -> PerformanceAlert:
        """The incident as an alert (``active`` when open) as of ``now``."""
        return PerformanceAlert(
            alert_id=f"{self.alert_type}-{self.api_code}-{self.org_code}-{int(self.start)}",
            alert_type=self.alert_type,
            api_code=self.api_code,
            org_code=self.org_code,
            severity=self.severity,
            state="active" if self.end is None else "resolved",
            threshold_value=self.threshold,
            actual_value=self.last_value,
            message=self.message,
            timestamp=self.start,
            updated_at=now if self.end is None else self.end,
            resolved_at=self.end,
        )


def open_alerts(incidents: list[Incident], now: float) -> list[PerformanceAlert]:
    """The incidents still open, as active alerts (oldest first)."""
    return [i.as_alert(now) for i in incidents if i.end is None]


def _expand(starts: _I8, lengths: _I8) -> tuple[_I8, _I8]:
    """``(owner, index)`` of every element of the ranges ``[starts, starts + lengths)``."""
    total = int(lengths.sum())
    owner = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    first = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    index = np.repeat(starts - first, lengths) + np.arange(total, dtype=np.int64)
    return owner, index


def _sliding(dense: _F8, width: int, at: _I8, fn: Any, fill: float) -> _F8:
    """``fn`` (np.maximum/np.minimum) of ``dense[:, e - width:e]`` for each end ``e`` of ``at``."""
    padded = np.concatenate((np.full((dense.shape[0], width), fill), dense), axis=1)
    span = 1
    table = padded
    while span * 2 <= width:  # table[:, i] = fn over padded[:, i:i + 2·span]
        table = fn(table[:, :-span], table[:, span:])
        span *= 2
    # the window [e - width, e) of dense is padded[:, e:e + width]
    result: _F8 = fn(table[:, at], table[:, at + width - span])
    return result


class _Window:
    """Minute sums of one frame per (API, org) group, read at the evaluation times."""

    def __init__(self, frame: RollupFrame, base: float, nbins: int, width: int, hi: _I8):
        self.frame = frame
        self.width = width
        self.hi = hi
        n_org = max(len(frame.org_codes), 1)
        pair = frame.api.astype(np.int64) * n_org + frame.org
        keys, group = np.unique(pair, return_inverse=True)
        self.group = group.reshape(-1).astype(np.int64)
        self.groups = int(keys.size)
        self.api_of = (keys // n_org).astype(np.int64)
        self.org_of = (keys % n_org).astype(np.int64)
        self.bins = np.floor((frame.start - base) / MINUTE).astype(np.int64)
        self.nbins = nbins
        order = np.lexsort((self.bins, self.group))
        self.order = order
        self.sorted_key = (self.group * (nbins + 1) + self.bins)[order]

    def cumulative(self, column: npt.NDArray[Any]) -> _F8:
        """``C[g, k]``: the column summed over group ``g``'s minutes before ``k``."""
        width = self.nbins + 1
        flat = np.bincount(
            self.group * width + self.bins + 1,
            weights=column.astype(np.float64),
            minlength=self.groups * width,
        )
        cum: _F8 = np.cumsum(flat.reshape(self.groups, width), axis=1)
        return cum

    def sums(self, column: npt.NDArray[Any]) -> _F8:
        """The column summed over each window ``[t - W, t)``: shape (groups, times)."""
        cum = self.cumulative(column)
        result: _F8 = cum[:, self.hi] - cum[:, self.hi - self.width]
        return result

    def dense(self, column: _F8, fill: float, fn: Any) -> _F8:
        out = np.full((self.groups, self.nbins), fill)
        fn.at(out, (self.group, self.bins), np.nan_to_num(column, nan=fill))
        return out

    def p95_ms(self, cell_group: _I8, cell_time: _I8, lowest: _F8, highest: _F8) -> _F8:
        """The p95 (ms) read from the summed histogram of each (group, time index) cell."""
        out = np.full(cell_group.size, np.nan)
        f = self.frame
        for a in range(0, cell_group.size, _CHUNK):
            g, t = cell_group[a : a + _CHUNK], cell_time[a : a + _CHUNK]
            end_key = g * (self.nbins + 1) + self.hi[t]
            lo = np.searchsorted(self.sorted_key, end_key - self.width, side="left")
            hi = np.searchsorted(self.sorted_key, end_key, side="left")
            cell, pos = _expand(lo.astype(np.int64), (hi - lo).astype(np.int64))
            rows = self.order[pos]
            lengths = f.hist_offsets[rows + 1] - f.hist_offsets[rows]
            which, entry = _expand(f.hist_offsets[rows], lengths)
            hist = np.zeros((g.size, len(f.bounds)), dtype=np.int64)
            np.add.at(hist, (cell[which], f.hist_bucket[entry]), f.hist_count[entry])
            rows_lo, rows_hi = lowest[g, t], highest[g, t]
            value = percentiles(hist, f.bounds, (95.0,), rows_lo, rows_hi)[0]
            out[a : a + _CHUNK] = value * 1000.0
        return out


def _p95_above(
    w: _Window,
    calls: _F8,
    sure: _F8,
    maybe: _F8,
    limit_ms: _F8,
    lowest: _F8,
    highest: _F8,
) -> _B:
    """``p95 > limit`` per cell from the calls surely/maybe above it; histogram when unsure."""
    n = calls
    pos = np.maximum(n - 1.0, 0.0) * 0.95
    k = np.floor(pos)
    frac = pos - k
    k1 = np.where(frac > 0, np.minimum(k + 1, np.maximum(n - 1.0, 0.0)), k)
    above: _B = (n > 0) & (k >= n - sure)
    at_or_below = (n == 0) | (k1 < n - maybe)
    unsure = ~above & ~at_or_below
    if unsure.any():
        g, t = np.nonzero(unsure)
        values = w.p95_ms(g.astype(np.int64), t.astype(np.int64), lowest, highest)
        above[g, t] = values > np.broadcast_to(limit_ms, n.shape)[g, t]
    return above


def find_incidents(
    frame: RollupFrame,
    since: float,
    until: float,
    thresholds: Callable[[str], PerformanceThreshold],
    policy: AlertPolicy,
    alert_window_minutes: float,
    step: float = 60.0,
    lang: str = "zh",
) -> list[Incident]:
    """Incidents of ``frame``'s (minute) rollups over ``(since, until]``, oldest first.

    Evaluations run at the multiples of ``step`` seconds (a multiple of 60) in
    ``(since, until]``; see the module for the rules.
    """
    language = check_lang(lang)
    if not (math.isfinite(since) and math.isfinite(until)) or since > until:
        raise ValueError(f"find_incidents: bad window ({since!r}, {until!r})")
    if not (step > 0 and math.isfinite(step) and step % MINUTE == 0):
        raise ValueError(f"find_incidents: step must be a positive multiple of 60 s (got {step!r})")
    if not (alert_window_minutes > 0 and math.isfinite(alert_window_minutes)):
        raise ValueError("find_incidents: alert_window_minutes must be > 0")
    width = math.ceil(alert_window_minutes * 60.0 / MINUTE - 1e-9)
    window = width * MINUTE
    first = math.floor(since / step) * step + step
    last = math.floor(until / step) * step
    if last < first:
        return []
    times = np.arange(first, last + step / 2, step)
    base = first - window
    nbins = round((last - base) / MINUTE)
    part = frame.window(base, last)
    if not len(part) or not part.calls.any():
        return []
    hi = np.round((times - base) / MINUTE).astype(np.int64)
    w = _Window(part, base, nbins, width, hi)
    short = min(max(math.ceil(policy.short_window_minutes - 1e-9), 1), width)
    ws = w if short == width else _Window(part, base, nbins, short, hi)
    recent = min(RECENT_MINUTES, width)
    wr = w if recent == width else _Window(part, base, nbins, recent, hi)
    return _replay(w, (ws, wr), part, times, thresholds, policy, language)


@dataclass(frozen=True)
class _Condition:
    """One alert type over every (group, evaluation) cell."""

    kind: str
    severity: _I8  # 0 none, 1 warning, 2 critical
    cleared: _B  # back inside the margin with enough calls, or no call at all
    shown: _F8 | None  # the figure alerts show (None: the p95, read where needed)
    measured: _F8 | None  # the figure compared with the limit (larger is worse)
    limit: _F8  # the threshold alerts show


def _latency(
    w: _Window, f: RollupFrame, limits: list[PerformanceThreshold], calls: _F8, h: float
) -> tuple[dict[float, _B], _F8, _F8]:
    """``p95 > factor·limit`` per cell for the hysteresis, warning and critical levels."""
    entry_row = np.repeat(np.arange(len(f), dtype=np.int64), np.diff(f.hist_offsets))
    row_api = f.api[entry_row]
    lowest = _sliding(w.dense(f.latency_min, np.inf, np.minimum), w.width, w.hi, np.minimum, np.inf)
    highest = _sliding(
        w.dense(f.latency_max, -np.inf, np.maximum), w.width, w.hi, np.maximum, -np.inf
    )
    lowest[~np.isfinite(lowest)] = np.nan
    highest[~np.isfinite(highest)] = np.nan
    levels = np.array([t.max_response_time_ms for t in limits])
    rt_ms = levels[w.api_of][:, None]
    above: dict[float, _B] = {}
    for factor in (1.0 - h, 1.0, 2.0):
        level_bucket = np.searchsorted(f.bounds, levels * factor / 1000.0, side="left")[row_api]
        weights = f.hist_count.astype(np.float64)
        sure = np.bincount(
            entry_row, weights=weights * (f.hist_bucket > level_bucket), minlength=len(f)
        )
        maybe = np.bincount(
            entry_row, weights=weights * (f.hist_bucket >= level_bucket), minlength=len(f)
        )
        above[factor] = _p95_above(
            w, calls, w.sums(sure), w.sums(maybe), rt_ms * factor, lowest, highest
        )
    return above, lowest, highest


def _two_windows(
    c: _Condition,
    long_level: _I8,
    enough: _B,
    short_enough: _B,
    short_clear: _B,
    holds: _B,
    short_clean: _B,
) -> _Condition:
    """The long window's condition with the short window's say (detection.combine).

    With enough calls in the short window: clear there resolves, holding there lets the
    long window's level fire (its evidence may come from the short window), otherwise
    nothing fires or resolves. With fewer, the long window decides, except that clean
    calls in the short window block a fire.
    """
    # few calls: a clean short window (with calls) only blocks a fire
    severity = np.where(
        short_enough,
        np.where(holds & ~short_clear, long_level * enough, 0),
        c.severity * ~(short_clean & ~short_enough),
    )
    cleared = np.where(short_enough, short_clear, c.cleared)
    return _Condition(c.kind, severity.astype(np.int64), cleared, c.shown, c.measured, c.limit)


def _conditions(
    w: _Window,
    short: tuple[_Window, _Window],
    f: RollupFrame,
    limits: list[PerformanceThreshold],
    policy: AlertPolicy,
) -> tuple[list[_Condition], _F8, _F8, _F8]:
    """The four alert types per cell; also the calls per cell and the latency bounds."""
    h = policy.hysteresis
    calls = w.sums(f.calls)
    enough = calls >= policy.min_calls
    present = calls > 0
    safe = np.maximum(calls, 1.0)
    sys_rate = w.sums(f.system_errors) / safe
    success = w.sums(f.successes) / safe
    failed_share = 1.0 - success
    conc = _sliding(
        w.dense(f.max_concurrency.astype(np.float64), -1.0, np.maximum),
        w.width,
        w.hi,
        np.maximum,
        -1.0,
    )

    def column(values: list[float]) -> _F8:
        out: _F8 = np.broadcast_to(np.array(values)[w.api_of][:, None], calls.shape)
        return out

    def judged(
        kind: str, measured: _F8, limit: _F8, known: _B, shown: _F8, at: _F8, ratio: bool = False
    ) -> _Condition:
        sev = np.where(measured > 2.0 * limit, 2, np.where(measured > limit, 1, 0))
        fires = enough & known
        if ratio:  # evidence, as conditions.judge: failures that reject the budget
            fires = fires & has_evidence(
                np.rint(measured * calls), calls, limit, policy.confidence, policy.min_failures
            )
        return _Condition(
            kind,
            (sev * fires).astype(np.int64),
            (enough & known & (measured <= limit * (1.0 - h))) | ~present,
            shown,
            measured,
            at,
        )

    ws, wr = short  # the short window, the recent one (its clean calls block a late fire)
    short_calls = ws.sums(f.calls)
    recent_calls = wr.sums(f.calls)
    short_enough = short_calls >= policy.min_short_calls
    short_safe = np.maximum(short_calls, 1.0)

    def short_ratio(c: _Condition, failures: _F8, recent_failures: _F8) -> _Condition:
        if c.measured is None:  # never: the ratios carry their figure
            return c
        limit = 1.0 - c.limit if c.kind == "success_rate" else c.limit
        share = failures / short_safe
        evidence = has_evidence(
            failures, short_calls, limit, policy.confidence, policy.min_failures
        )
        level = np.where(c.measured > 2.0 * limit, 2, np.where(c.measured > limit, 1, 0))
        return _two_windows(
            c,
            level,
            enough,
            short_enough,
            short_enough & (share <= limit * (1.0 - h)),
            (share > limit) & evidence,
            (
                (recent_calls > 0)
                & (recent_failures / np.maximum(recent_calls, 1.0) <= limit * (1.0 - h))
            )
            | ((short_calls > 0) & (share <= limit * (1.0 - h))),
        )

    above, lowest, highest = _latency(w, f, limits, calls, h)
    rt_sev = np.where(above[2.0], 2, np.where(above[1.0], 1, 0)) * enough
    rt_ms = column([t.max_response_time_ms for t in limits])
    err = column([t.max_error_rate for t in limits])
    min_ok = column([t.min_success_rate for t in limits])
    most = column([float(t.max_concurrent_calls) for t in limits])
    short_above = _latency(ws, f, limits, short_calls, h)[0]
    recent_above = _latency(wr, f, limits, recent_calls, h)[0]
    response = _Condition(
        "response_time",
        rt_sev.astype(np.int64),
        (enough & ~above[1.0 - h]) | ~present,
        None,
        None,
        rt_ms,
    )
    rt_level = np.where(above[2.0], 2, np.where(above[1.0], 1, 0))
    out = [
        _two_windows(
            response,
            rt_level,
            enough,
            short_enough,
            short_enough & ~short_above[1.0 - h],
            short_above[1.0],
            ((recent_calls > 0) & ~recent_above[1.0 - h])
            | ((short_calls > 0) & ~short_above[1.0 - h]),
        ),
        short_ratio(
            judged("error_rate", sys_rate, err, present, sys_rate, err, True),
            ws.sums(f.system_errors),
            wr.sums(f.system_errors),
        ),
        short_ratio(
            judged("success_rate", failed_share, 1.0 - min_ok, present, success, min_ok, True),
            short_calls - ws.sums(f.successes),
            recent_calls - wr.sums(f.successes),
        ),
        judged("concurrency", conc, most, conc >= 0, conc, most),
    ]
    return out, calls, lowest, highest


def _replay(
    w: _Window,
    ws: tuple[_Window, _Window],
    f: RollupFrame,
    times: _F8,
    thresholds: Callable[[str], PerformanceThreshold],
    policy: AlertPolicy,
    lang: Lang,
) -> list[Incident]:
    limits = [thresholds(code) for code in f.api_codes]
    conditions, calls, lowest, highest = _conditions(w, ws, f, limits, policy)
    cumulative = {
        "calls": w.cumulative(f.calls),
        "failures": w.cumulative(f.calls - f.successes),
        "system": w.cumulative(f.system_errors),
        "unknown": w.cumulative(f.unknown_outcomes),
    }
    incidents: list[Incident] = []
    for c in conditions:
        g, s, e = _runs(_states(c.severity > 0, c.cleared))
        if not g.size:
            continue
        lengths = e - s
        cell_run, cell_t = _expand(s, lengths)
        cell_g = g[cell_run]
        if c.shown is None or c.measured is None:  # the p95: read only where open
            values = measured = w.p95_ms(cell_g, cell_t, lowest, highest)
        else:
            values, measured = c.shown[cell_g, cell_t], c.measured[cell_g, cell_t]
        # the peak: per run, the cell with the largest measured figure (first on ties)
        run_first = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        order = np.lexsort((cell_t, -np.nan_to_num(measured, nan=-np.inf), cell_run))
        peak_cell = order[run_first]
        last_cell = run_first + lengths - 1
        peak_sev = np.maximum.reduceat(c.severity[cell_g, cell_t], run_first)
        closed = e < times.size
        end_hi = np.where(closed, w.hi[np.minimum(e, times.size - 1)], w.hi[-1])
        start_lo = w.hi[s] - w.width
        inside = {
            name: np.round(cum[g, end_hi] - cum[g, start_lo]).astype(np.int64)
            for name, cum in cumulative.items()
        }
        for r in range(g.size):
            gi, pc, t_peak = int(g[r]), int(peak_cell[r]), int(cell_t[peak_cell[r]])
            api = f.api_codes[int(w.api_of[gi])]
            org = f.org_codes[int(w.org_of[gi])]
            peak, limit = float(values[pc]), float(c.limit[gi, t_peak])
            at_peak = round(float(calls[gi, t_peak]))
            incidents.append(
                Incident(
                    api_code=api,
                    org_code=org,
                    alert_type=c.kind,
                    severity=_SEVERITIES[int(peak_sev[r]) - 1],
                    start=float(times[s[r]]),
                    end=float(times[e[r]]) if closed[r] else None,
                    peak_value=peak,
                    last_value=float(values[last_cell[r]]),
                    threshold=limit,
                    calls=int(inside["calls"][r]),
                    failures=int(inside["failures"][r]),
                    system_errors=int(inside["system"][r]),
                    outcome_unknown=int(inside["unknown"][r]),
                    message=alert_message(lang, c.kind, api, org, peak, limit, at_peak),
                    lang=lang,
                )
            )
    incidents.sort(key=lambda i: (i.start, i.api_code, i.org_code, i.alert_type))
    return incidents


def _states(opens: _B, closes: _B) -> _B:
    """Open (True) after each evaluation: the last event (open or close) wins; none: closed.

    ``opens`` and ``closes`` never both hold in one cell (a holding condition is never
    cleared), so this is the alert manager's fire/resolve rule.
    """
    t = np.arange(opens.shape[1])
    event = opens | closes
    last = np.maximum.accumulate(np.where(event, t, -1), axis=1)
    picked = np.take_along_axis(opens, np.maximum(last, 0), axis=1)
    state: _B = (last >= 0) & picked
    return state


def _runs(state: _B) -> tuple[_I8, _I8, _I8]:
    """``(group, start, end)`` of every run of True per row (``end`` exclusive)."""
    padded = np.zeros((state.shape[0], state.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = state
    edges = np.diff(padded, axis=1)
    g_start, s = np.nonzero(edges == 1)
    _, e = np.nonzero(edges == -1)
    # np.nonzero is row-major: starts and ends pair up in order
    return g_start.astype(np.int64), s.astype(np.int64), e.astype(np.int64)
