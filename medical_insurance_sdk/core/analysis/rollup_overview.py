"""Every API's analysis and alert observations from rollups (history, the fleet).

:func:`analyze_rollups` is :func:`.overview.analyze_all` for a
:class:`~medical_insurance_sdk.core.collection.rollups.RollupFrame`: the same
:class:`ApiAnalysis` per API and the same :class:`Observation` per (API, org), from
rollups summed per (API, org) in one pass (:func:`.rollup_totals.group_totals`), per
API (summing those) and per (API, time bucket). Which figures are exact and which
carry the histogram's error: see :mod:`.rollup_stats`. Two figures are estimates:

* the **Apdex** (score): the calls within ``T`` and ``4T`` come from the histogram, and
  since the histogram does not split successes from failures, the satisfied calls are
  the calls within ``T`` times the success rate (failures assumed spread over latencies
  like successes);
* the **most calls in flight** per org: the largest rollup figure, a lower bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.analysis.alerts import Observation
from medical_insurance_sdk.core.analysis.api_analysis import ApiAnalysis
from medical_insurance_sdk.core.analysis.conditions import AlertPolicy, judge
from medical_insurance_sdk.core.analysis.recommendations import recommend
from medical_insurance_sdk.core.analysis.rollup_series import (
    rollup_time_series,
    series_from_totals,
    series_layout,
)
from medical_insurance_sdk.core.analysis.rollup_stats import (
    basic_stats_of,
    count_at_most,
    error_analysis_of,
    latency_figures,
)
from medical_insurance_sdk.core.analysis.rollup_totals import group_totals, regroup
from medical_insurance_sdk.core.analysis.scoring import score_counts
from medical_insurance_sdk.core.analysis.texts import Lang
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold
from medical_insurance_sdk.core.analysis.timeseries import TimeSeries
from medical_insurance_sdk.core.collection.rollups import RollupFrame

__all__ = ["analyze_rollups", "rollup_system_series"]

#: Up to this many (API, org) combinations the pairs are indexed densely (no sort).
_DENSE_PAIRS = 1 << 16
#: Up to this many (API, org, time bucket, latency bucket) cells, the rows are summed in
#: one pass (a week of one API's minute rollups); beyond, in two (pairs, then buckets).
_ONE_PASS_CELLS = 4_000_000


def _pairs(frame: RollupFrame) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The (API, org) pair of each row (``0..P-1``) and each pair's ``api·n_org + org``."""
    n_org = max(len(frame.org_codes), 1)
    key = frame.api.astype(np.int64) * n_org + frame.org
    if len(frame.api_codes) * n_org <= _DENSE_PAIRS:
        present = np.zeros(len(frame.api_codes) * n_org, dtype=np.bool_)
        present[key] = True
        keys = np.flatnonzero(present)
        index = np.cumsum(present) - 1
        return index[key], keys
    keys, inverse = np.unique(key, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), keys.astype(np.int64)


def analyze_rollups(
    frame: RollupFrame,
    minutes: float,
    now: float,
    threshold_for: Callable[[str], PerformanceThreshold],
    policy: AlertPolicy,
    lang: Lang,
    api_codes: list[str] | None = None,
) -> tuple[list[ApiAnalysis], list[Observation]]:
    """Analyse the APIs of ``frame`` (sorted by code) and observe their alerts.

    ``api_codes`` None: every API with calls; otherwise exactly those APIs (an API
    without calls gets a ``no_data`` analysis, as the ring's analysis does).
    """
    if api_codes is not None:
        missing = tuple(c for c in api_codes if c not in frame.api_codes)
        if missing:  # an API without rows: its analysis says no_data
            frame = replace(frame, api_codes=frame.api_codes + missing)
    n_api = len(frame.api_codes)
    n_org = max(len(frame.org_codes), 1)
    pair_of_row, keys = _pairs(frame)
    n_pairs = int(keys.size)
    pair_api = keys // n_org
    pair_org = keys % n_org
    layout = series_layout(minutes, now)
    nb = layout.n
    if n_pairs * nb * len(frame.bounds) <= _ONE_PASS_CELLS:
        # one pass over the rows and their buckets, per (API, org, time bucket)
        fine = group_totals(frame, pair_of_row * nb + layout.of(frame), n_pairs * nb)
        cell = np.arange(n_pairs * nb)
        pairs = regroup(fine, cell // nb, n_pairs)
        by_time = regroup(fine, pair_api[cell // nb] * nb + cell % nb, n_api * nb)
    else:
        pairs = group_totals(frame, pair_of_row, n_pairs)
        by_time = group_totals(frame, frame.api * nb + layout.of(frame), n_api * nb)
    apis = regroup(pairs, pair_api, n_api)
    figures = latency_figures(apis)
    pair_p95 = latency_figures(pairs, (95.0,)).percentile[0]
    series = series_from_totals(by_time, n_api, layout)
    thresholds = [threshold_for(code) for code in frame.api_codes]
    limit_s = np.array([t.max_response_time_ms / 1000.0 for t in thresholds])
    within_t = count_at_most(apis, limit_s)
    within_4t = count_at_most(apis, 4.0 * limit_s)
    bounds = np.searchsorted(pair_api, np.arange(n_api + 1))
    wanted = (
        [i for i in range(n_api) if apis.calls[i] > 0]
        if api_codes is None
        else [frame.api_codes.index(c) for c in api_codes if c in frame.api_codes]
    )
    analyses: list[ApiAnalysis] = []
    observations: list[Observation] = []
    for i in wanted:
        code = frame.api_codes[i]
        threshold = thresholds[i]
        rows = np.arange(bounds[i], bounds[i + 1])
        names = [frame.org_codes[o] for o in pair_org[rows].tolist()]
        basic = basic_stats_of(apis, i)
        rt = figures.stats(i)
        errors = error_analysis_of(apis, i, pairs, rows, names)
        calls = basic.total_calls
        share = basic.successful_calls / calls if calls else 0.0
        score = score_counts(
            calls,
            basic.successful_calls,
            float(within_t[i]) * share,
            float(within_4t[i]),
            threshold,
            rt.median,
            rt.p99,
        )
        recs = (
            recommend(code, basic, rt, errors, series[i].response_time_trend, threshold, lang)
            if calls
            else []
        )
        analyses.append(
            ApiAnalysis(
                api_code=code,
                time_range_minutes=minutes,
                analysis_timestamp=now,
                status="analyzed" if calls else "no_data",
                threshold=threshold,
                basic_stats=basic,
                response_time_stats=rt,
                error_analysis=errors,
                time_series=series[i],
                performance_score=score,
                recommendations=recs,
            )
        )
        n = pairs.calls[rows]
        live = rows[n > 0]
        k = pairs.calls[live]
        observations.extend(
            judge(
                code,
                [frame.org_codes[o] for o in pair_org[live].tolist()],
                k,
                pair_p95[live],
                pairs.system_errors[live] / k,
                pairs.successes[live] / k,
                np.maximum(pairs.max_concurrency[live], 0).astype(np.float64),
                threshold,
                policy,
                lang,
            )
        )
    analyses.sort(key=lambda a: a.api_code)
    return analyses, observations


def rollup_system_series(frame: RollupFrame, minutes: float, now: float) -> TimeSeries:
    """The system-wide time buckets of every rollup in ``frame`` (the reports' charts)."""
    return rollup_time_series(frame, minutes, now)[0]
