"""PerformanceAnalyzer budgets, all measured in this process over 1M stored calls.

* ``analyze_api_performance`` of one API (1M stored calls in the window): <= 100 ms;
* the system overview of 40 APIs (1M calls): <= 500 ms, without and with baselines (the
  analyzer's defaults: the short window, the alerts against baselines; the baselines are
  learned once and reused for 5 minutes, their learning is a row of its own);
* the same statistics (counts, rates, mean, sample std, linear percentiles, errors by
  code and org, per-bucket calls/errors/p50/p95/p99/mean, Mann-Kendall on the buckets,
  Apdex, and per org the p95 and the most calls in flight, which the alerts need)
  written the straightforward way in pure Python over a list of call records, as the
  original API kept them: the numpy overview must be >= 20x faster.

Over rollups (history, the fleet; ``PerformanceAnalyzer(source)``), on synthetic
rollups of 40 APIs x 20 orgs at ~37 calls per series-minute (~500 calls/s), 24
latency buckets per minute rollup, 60 per hour rollup:

* ``analyze_api_performance`` of one API over 7 days of its minute rollups (20 orgs x
  10 079 minutes = 201 580 rollups, 4.8M histogram entries), read from an embedded
  history file (``HistorySource``, the read included): <= 100 ms;
* the 40-API overview over 7 days: <= 1 s, over what a history answers for such a
  window (hour rollups for the whole hours, minute rollups for the partial hour at the
  end: 134 400 + 24 000 rollups), read from a history file too (each hour's calls are
  written as one minute rollup, so the file holds those hour rows without 8M minute
  rows being written first). A week of *minute* rollups of every series (8M
  rollups, ~190M histogram entries) is not a 1-second read for any store; the history
  keeps hour rollups for this.
"""

from __future__ import annotations

import gc
import itertools
import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from medical_insurance_sdk.core import MetricConfig, MetricsCollector, PerformanceAnalyzer
from medical_insurance_sdk.core.analysis import AlertPolicy
from medical_insurance_sdk.core.collection.latency_buckets import BOUNDS
from medical_insurance_sdk.core.collection.rollups import HOUR, MINUTE, RollupFrame
from medical_insurance_sdk.core.history import HistorySource, HistoryWriter
from medical_insurance_sdk.core.runtime.clock import ManualClock

__all__ = ["run"]

N_CALLS = 1_000_000
N_APIS = 40
N_ORGS = 20
NOW = 1_700_000_000.0
WINDOW_MIN = 60.0

Record = tuple[float, float, str, str, bool, str | None]


def _fill() -> tuple[MetricsCollector, list[Record]]:
    """A collector holding 1M calls over the last hour, and the same calls as records."""
    collector = MetricsCollector(
        MetricConfig(max_memory_metrics=N_CALLS, prometheus_enabled=False, background=False),
        clock=ManualClock(NOW),
    )
    rng = random.Random(42)
    apis = [f"{2000 + i}" for i in range(N_APIS)]
    orgs = [f"H430105{i:05d}" for i in range(N_ORGS)]
    errors = ("TIMEOUT_READ", "GATEWAY_AUTH_CLOCK_SKEW", "BIZ_MBS_HygeiaException")
    records: list[Record] = []
    record = collector.record_api_call
    for i in range(N_CALLS):
        api = apis[i % N_APIS]
        org = orgs[rng.randrange(N_ORGS)]
        ms = rng.lognormvariate(5.0, 0.6)
        ok = rng.random() > 0.02
        code = None if ok else errors[i % 3]
        ts = NOW - 3600.0 + i * (3600.0 / N_CALLS)
        record(api, org, "success" if ok else "error", ms, error_code=code, timestamp=ts)
        records.append((ts, ms, api, org, ok, code))
    collector.store.fold()
    return collector, records


def _pct(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile of a sorted list (numpy's default method)."""
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _python_concurrency(calls: list[Record]) -> int:
    """Most calls in flight at once: sort start/end events, ends first at equal times."""
    events = sorted([(c[0], 0) for c in calls] + [(c[0] - c[1] / 1000.0, 1) for c in calls])
    running = best = 0
    for _, is_start in events:
        running += 1 if is_start else -1
        best = max(best, running)
    return best


def _python_mann_kendall(y: list[float]) -> float:
    """Mann-Kendall S statistic and its tie-free normal p-value."""
    n = len(y)
    s = sum((y[j] > y[i]) - (y[j] < y[i]) for i in range(n) for j in range(i + 1, n))
    var = n * (n - 1) * (2 * n + 5) / 18.0
    if n < 3 or s == 0:
        return 1.0
    z = (s - math.copysign(1, s)) / math.sqrt(var)
    return math.erfc(abs(z) / math.sqrt(2))


def _python_api(calls: list[Record], since: float, width: float, n_buckets: int) -> dict[str, Any]:
    """One API's statistics, the straightforward way."""
    n = len(calls)
    times = sorted(c[1] for c in calls)
    ok = sum(1 for c in calls if c[4])
    mean = sum(times) / n
    std = math.sqrt(sum((t - mean) ** 2 for t in times) / (n - 1)) if n > 1 else 0.0
    by_code: dict[str, int] = {}
    by_org: dict[str, list[int]] = {}
    buckets: list[list[Record]] = [[] for _ in range(n_buckets)]
    satisfied = tolerating = 0
    for c in calls:
        org = by_org.setdefault(c[3], [0, 0])
        org[0] += 1
        if not c[4]:
            org[1] += 1
            key = c[5] or "unknown"
            by_code[key] = by_code.get(key, 0) + 1
        idx = min(n_buckets - 1, max(0, int((c[0] - since) // width)))
        buckets[idx].append(c)
        if c[1] <= 1000.0 and c[4]:
            satisfied += 1
        elif c[1] <= 4000.0:
            tolerating += 1
    series = []
    for bucket in buckets:
        lat = sorted(c[1] for c in bucket)
        series.append(
            {
                "calls": len(bucket),
                "errors": sum(1 for c in bucket if not c[4]),
                "p50": _pct(lat, 50) if lat else None,
                "p95": _pct(lat, 95) if lat else None,
                "p99": _pct(lat, 99) if lat else None,
                "mean": sum(lat) / len(lat) if lat else None,
            }
        )
    per_org: dict[str, list[Record]] = {}
    for c in calls:
        per_org.setdefault(c[3], []).append(c)
    org_figures = {
        org: (_pct(sorted(c[1] for c in rows), 95), _python_concurrency(rows))
        for org, rows in per_org.items()
    }
    medians = [b["p50"] for b in series if b["p50"] is not None]
    return {
        "calls": n,
        "concurrency": _python_concurrency(calls),
        "org_figures": org_figures,
        "call_trend_p": _python_mann_kendall([float(b["calls"]) for b in series]),
        "latency_trend_p": _python_mann_kendall(medians),
        "success_rate": ok / n,
        "mean": mean,
        "std": std,
        "percentiles": [_pct(times, q) for q in (50, 90, 95, 99)],
        "by_code": by_code,
        "by_org": {k: v[1] / v[0] for k, v in by_org.items()},
        "series": series,
        "apdex": (satisfied + tolerating / 2) / n,
    }


def _python_overview(records: list[Record]) -> dict[str, Any]:
    since = NOW - WINDOW_MIN * 60.0
    groups: dict[str, list[Record]] = {}
    for r in records:
        if since <= r[0] <= NOW:
            groups.setdefault(r[2], []).append(r)
    return {api: _python_api(calls, since, 60.0, 60) for api, calls in groups.items()}


def _best_ms(fn: Callable[[], object], rounds: int) -> float:
    """Best wall time of ``rounds`` runs, with the cyclic GC off (as ``timeit`` does)."""
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            best = min(best, (time.perf_counter() - t0) * 1000.0)
    finally:
        gc.enable()
    return best


def _synthetic_rollups(
    n_apis: int, n_orgs: int, step: float, first: float, n_steps: int, entries: int, seed: int
) -> RollupFrame:
    """Rollups of every (API, org) for ``n_steps`` intervals from ``first``, vectorised.

    Calls per rollup ~ Poisson(37 per minute); 2 % failures (30 % of them business
    refusals); the histogram holds ``entries`` consecutive latency buckets around a
    per-API median (150-300 ms); latency sums and extremes follow the buckets.
    """
    rng = np.random.default_rng(seed)
    n_series = n_apis * n_orgs
    rows = n_series * n_steps
    start = np.repeat(first + step * np.arange(n_steps), n_series)
    api = np.tile(np.repeat(np.arange(n_apis, dtype=np.int32), n_orgs), n_steps)
    org = np.tile(np.arange(n_orgs, dtype=np.int32), n_apis * n_steps)
    calls = rng.poisson(37.0 * step / MINUTE, rows).astype(np.int64) + entries
    fails = rng.binomial(calls, 0.02)
    business = rng.binomial(fails, 0.3)
    centre = np.searchsorted(BOUNDS, 0.15 * (1 + api / n_apis)) + rng.integers(-5, 6, rows)
    bucket = (centre[:, None] - entries // 2 + np.arange(entries)[None, :]).astype(np.int32)
    count = np.repeat((calls // entries)[:, None], entries, axis=1)
    count[:, 0] += calls - count.sum(axis=1)
    lower = np.concatenate(([0.0], BOUNDS[:-1]))
    mid = (lower[bucket] + BOUNDS[bucket]) / 2.0
    system = fails - business
    errors = np.stack((business, system // 2, system - system // 2), axis=1)
    return RollupFrame(
        start=start,
        step=np.full(rows, step),
        api=api,
        org=org,
        calls=calls,
        successes=calls - fails,
        business_errors=business,
        system_errors=system,
        unknown_outcomes=np.zeros(rows, np.int64),
        latency_sum=(count * mid).sum(axis=1),
        latency_sumsq=(count * mid * mid).sum(axis=1),
        latency_min=lower[bucket[:, 0]],
        latency_max=BOUNDS[bucket[:, -1]],
        max_concurrency=rng.integers(1, 8, rows),
        request_bytes=calls * 900,
        response_bytes=calls * 2000,
        hist_offsets=np.arange(rows + 1, dtype=np.int64) * entries,
        hist_bucket=bucket.reshape(-1),
        hist_count=count.reshape(-1).astype(np.int64),
        err_offsets=np.arange(rows + 1, dtype=np.int64) * 3,
        err_code=np.tile(np.arange(3, dtype=np.int32), rows),
        err_count=errors.reshape(-1).astype(np.int64),
        api_codes=tuple(f"{2000 + i}" for i in range(n_apis)),
        org_codes=tuple(f"H430105{i:05d}" for i in range(n_orgs)),
        error_codes=("BIZ_MBS_HygeiaException", "TIMEOUT_READ", "GATEWAY_AUTH_CLOCK_SKEW"),
    )


class _Sliding:
    """A history read as if its present moved a second per read (the cache never answers)."""

    def __init__(self, source: HistorySource, now: float) -> None:
        self.source = source
        self.tick = itertools.count()
        self.start = now

    @property
    def name(self) -> str:
        return self.source.name

    def now(self) -> float:
        return self.start + next(self.tick)

    def rollups(
        self, since: float, until: float, *, api_code: str | None = None, fine: bool = False
    ) -> RollupFrame:
        return self.source.rollups(since, until, api_code=api_code, fine=fine)


def _history(path: Path, frames: list[RollupFrame]) -> HistorySource:
    """A history file holding ``frames`` (minute rollups), written as the collector does."""
    writer = HistoryWriter(path, minute_days=30, clock=lambda: NOW)
    for frame in frames:
        for first in range(0, len(frame), 50_000):
            writer.write(frame.select(np.arange(len(frame)) // 50_000 == first // 50_000))
    writer.close()
    return HistorySource(path)


def _rollup_rows() -> list[dict[str, Any]]:
    """The two budgets over a week of rollups read from history files (see the module)."""
    week = 7 * 1440.0
    end = math.floor(NOW / HOUR) * HOUR  # the last whole hour; "now" is 30 minutes later
    now = end + 1800.0
    first_hour = end - 7 * 24 * HOUR + HOUR
    # the window slides a second per read (below) and every rollup stays inside it
    one_api = _synthetic_rollups(1, N_ORGS, MINUTE, now - week * 60.0 + 60.0, 10_079, 24, 1)
    hours = _synthetic_rollups(N_APIS, N_ORGS, HOUR, first_hour, 7 * 24 - 1, 60, 2)
    # each hour's calls written as one minute rollup at the hour's start: the history's
    # hour rows (what a week's overview reads) are those of a full week of minutes
    hours = replace(hours, step=np.full(len(hours), MINUTE))
    last = _synthetic_rollups(N_APIS, N_ORGS, MINUTE, end, 30, 24, 3)
    with tempfile.TemporaryDirectory() as tmp:
        api_history = _history(Path(tmp) / "one_api.sqlite", [one_api])
        fleet_history = _history(Path(tmp) / "fleet.sqlite", [hours, last])
        api_source = _Sliding(api_history, now)
        fleet_source = _Sliding(fleet_history, now)
        return _time_rollups(api_source, fleet_source, one_api.total_calls, week)


def _time_rollups(
    api_source: _Sliding, fleet_source: _Sliding, expected: int, week: float
) -> list[dict[str, Any]]:
    api_analyzer = PerformanceAnalyzer(api_source, cache_size=1)
    fleet_analyzer = PerformanceAnalyzer(fleet_source, cache_size=1)
    calls = api_analyzer.analyze_api_performance("2000", week)["basic_stats"]["total_calls"]
    apis = fleet_analyzer.get_system_performance_overview(week)["api_count"]
    if calls != expected or apis != N_APIS:
        raise RuntimeError(f"rollup bench: {calls} calls, {apis} APIs analysed")
    api_ms = _best_ms(lambda: api_analyzer.analyze_api_performance("2000", week), 7)
    fleet_ms = _best_ms(lambda: fleet_analyzer.get_system_performance_overview(week), 5)
    if api_analyzer.cache_info().hits or fleet_analyzer.cache_info().hits:
        raise RuntimeError("rollup bench: the result cache answered")
    return [
        {
            "name": "analyze_api_performance, 7 days of minute rollups",
            "value": api_ms,
            "unit": "ms",
            "budget": "<= 100",
            "ok": api_ms <= 100.0,
        },
        {
            "name": "overview of 40 APIs x 20 orgs, 7 days of rollups",
            "value": fleet_ms,
            "unit": "ms",
            "budget": "<= 1000",
            "ok": fleet_ms <= 1000.0,
        },
    ]


def run() -> list[dict[str, Any]]:
    """Measure the budgets; rows ``{name, value, unit, budget, ok}``.

    The rollup budgets are measured first, before the 1M calls and their 1M pure-Python
    records (the baseline's input) are made: those records alone make every garbage
    collection during a history read walk a million tuples.
    """
    rollup_rows = _rollup_rows()
    gc.collect()
    collector, records = _fill()
    try:
        # the rows measured before baselines existed keep measuring without them
        analyzer = PerformanceAnalyzer(
            collector, cache_size=1, alert_policy=AlertPolicy(baselines=False)
        )
        with_baselines = PerformanceAnalyzer(collector, cache_size=1)  # the defaults
        gc.collect()
        # every round sees a new store version (one more call), so the cache never answers
        bump = iter(range(10**6))

        def analyze() -> None:
            collector.record_api_call("2000", "H1", "success", 1.0, timestamp=NOW - next(bump))
            analyzer.analyze_api_performance("2000", WINDOW_MIN)

        def overview() -> None:
            collector.record_api_call("2000", "H1", "success", 1.0, timestamp=NOW - next(bump))
            analyzer.get_system_performance_overview(WINDOW_MIN)

        def overview_baselines() -> None:
            collector.record_api_call("2000", "H1", "success", 1.0, timestamp=NOW - next(bump))
            with_baselines.get_system_performance_overview(WINDOW_MIN)

        def refresh() -> None:  # a new analyzer learns every baseline from the ring
            PerformanceAnalyzer(collector).get_baseline("2000")

        analyze_ms = _best_ms(analyze, 7)
        overview_ms = _best_ms(overview, 5)
        refresh_ms = _best_ms(refresh, 3)
        baselines_ms = _best_ms(overview_baselines, 5)  # baselines learned once, then reused
        python_ms = _best_ms(lambda: _python_overview(records), 2)
    finally:
        collector.shutdown()
    speedup = python_ms / overview_ms
    return [
        *rollup_rows,
        {
            "name": "analyze_api_performance, 1M stored calls",
            "value": analyze_ms,
            "unit": "ms",
            "budget": "<= 100",
            "ok": analyze_ms <= 100.0,
        },
        {
            "name": "overview of 40 APIs, 1M calls",
            "value": overview_ms,
            "unit": "ms",
            "budget": "<= 500",
            "ok": overview_ms <= 500.0,
        },
        {
            "name": "overview 40 APIs with baselines",
            "value": baselines_ms,
            "unit": "ms",
            "budget": "<= 500",
            "ok": baselines_ms <= 500.0,
        },
        {
            "name": "baselines learned from 1M ring calls (every 5 min at most)",
            "value": refresh_ms,
            "unit": "ms",
            "budget": "-",
            "ok": True,
        },
        {
            "name": "pure-Python same statistics, 1M calls",
            "value": python_ms,
            "unit": "ms",
            "budget": "-",
            "ok": True,
        },
        {
            "name": "overview speed-up vs pure Python",
            "value": speedup,
            "unit": "x",
            "budget": ">= 20",
            "ok": speedup >= 20.0,
        },
    ]


if __name__ == "__main__":  # pragma: no cover
    for row in run():
        print(row)
