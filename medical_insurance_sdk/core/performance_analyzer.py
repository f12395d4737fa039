"""PerformanceAnalyzer: statistics, trends, scores, alerts and reports over the call store.

The analyzer reads one of two inputs:

* a :class:`MetricsCollector`: immutable snapshots of its store
  (``collector.store.snapshot(since, until)``, exact records) and its clock
  (``collector.now()``); it never touches the collector's locks or private state. When
  the ring no longer holds every call of a window (the store evicted or expired a call
  that recent, see ``CallStore.covers``) and the collector keeps a history
  (``collector.rollups(...)`` is not None), the window is read from the history's
  rollups instead, so a 1-hour window reports every call of the hour;
* any :class:`~medical_insurance_sdk.core.history.source.RollupSource` (the embedded
  history, Prometheus/VictoriaMetrics, a frame in memory): windows are
  ``[source.now() - minutes·60, source.now())`` over its rollups.

Both give the same result types (:mod:`~medical_insurance_sdk.core.analysis.rollup_overview`
says which figures are exact from rollups and which carry the histogram's error).
Results are computed with numpy (see :mod:`medical_insurance_sdk.core.analysis`) as typed
dataclasses and converted to the original API's dicts at the edge. A source that cannot
answer raises :class:`~medical_insurance_sdk.core.history.source.SourceError` from the
explicit methods; the background evaluation logs it (once a minute) and counts it.

Caching (:mod:`~medical_insurance_sdk.core.analysis.result_cache`): results are cached
under the store's version, the analysis (API or overview), the window, the number of
calls in it, the thresholds' version, the language, the alert policy and ``now`` in
buckets of ``cache_resolution`` seconds (default 1). Any new call, any call leaving the
window, any new threshold gives a fresh answer; a dashboard or a report asking again
within the same second over the same calls gets the same result, with the ``now`` of
its first computation. :meth:`PerformanceAnalyzer.cache_info` measures the hit rate.
Over a source (or the collector's history) a result is keyed on the window and ``now``
in the same buckets, so it is never older than ``cache_resolution`` seconds.

Which side of the line each public method is on: every method raises ``ValueError`` for
bad arguments (a window <= 0, an unknown report format or language, a threshold for
another API); nothing here runs on the business call's hot path. Alert callbacks and
the background evaluation log their failures and never raise.

The score, alert and recommendation rules are documented in
:mod:`~medical_insurance_sdk.core.analysis.scoring`,
:mod:`~medical_insurance_sdk.core.analysis.alerts` and
:mod:`~medical_insurance_sdk.core.analysis.recommendations`.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.analysis.alerts import (
    AlertCallback,
    AlertManager,
    Observation,
    PerformanceAlert,
)
from medical_insurance_sdk.core.analysis.api_analysis import ApiAnalysis, analyze_calls
from medical_insurance_sdk.core.analysis.baseline_book import BaselineBook
from medical_insurance_sdk.core.analysis.baselines import Baseline
from medical_insurance_sdk.core.analysis.capacity import plan_capacity
from medical_insurance_sdk.core.analysis.capacity_options import DEFAULT_POOL_SIZE, CapacityOptions
from medical_insurance_sdk.core.analysis.capacity_plan import CapacityPlan
from medical_insurance_sdk.core.analysis.conditions import (
    AlertPolicy,
    observe,
    observed_concurrency,
    system_error_mask,
)
from medical_insurance_sdk.core.analysis.descriptive import latency_order
from medical_insurance_sdk.core.analysis.detection import baseline_observations, combine
from medical_insurance_sdk.core.analysis.incidents import Incident, find_incidents
from medical_insurance_sdk.core.analysis.overview import (
    ANALYSIS_COLUMNS,
    SystemOverview,
    analyze_all,
)
from medical_insurance_sdk.core.analysis.recommendations import baseline_advice
from medical_insurance_sdk.core.analysis.reports.files import ReportWriteError, write_text_atomic
from medical_insurance_sdk.core.analysis.reports.formats import REPORT_FORMATS, render_report
from medical_insurance_sdk.core.analysis.result_cache import CacheInfo, ResultCache
from medical_insurance_sdk.core.analysis.rollup_overview import (
    analyze_rollups,
    rollup_system_series,
)
from medical_insurance_sdk.core.analysis.series_anomaly import SeriesAnomaly, score_series
from medical_insurance_sdk.core.analysis.short_window import (
    RECENT_MINUTES,
    RecentCounts,
    recent_counts,
    short_window,
)
from medical_insurance_sdk.core.analysis.texts import check_lang
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold, default_threshold
from medical_insurance_sdk.core.analysis.timeseries import TimeSeries, time_series
from medical_insurance_sdk.core.analysis.trend import Trend
from medical_insurance_sdk.core.collection.rollups import HOUR, MINUTE, RollupFrame
from medical_insurance_sdk.core.collection.store import CallSnapshot
from medical_insurance_sdk.core.history.source import RollupSource, SourceError
from medical_insurance_sdk.core.metrics_collector import MetricsCollector
from medical_insurance_sdk.core.runtime.background import PeriodicWorker
from medical_insurance_sdk.core.runtime.validation import check_positive

__all__ = [
    "PerformanceAlert",
    "PerformanceAnalyzer",
    "PerformanceThreshold",
    "PerformanceTrend",
    "ReportWriteError",
]

logger = logging.getLogger(__name__)

#: The original API's name for a trend result (direction, strength, slope, significance, forecast).
PerformanceTrend = Trend

_Cached = tuple[Any, list[Observation]]
#: The short window's rollups and minutes, and those of its latest half.
_Short = tuple[RollupFrame, float, RollupFrame, float, RecentCounts]
#: What minute rollups of the ring need.
_ROLLUP_COLUMNS = ANALYSIS_COLUMNS | {"request_size", "response_size"}

#: Background evaluation failures are logged at most once per this many seconds.
_LOG_EVERY = 60.0
#: The background evaluation's period over a source (minute rollups).
DEFAULT_SOURCE_INTERVAL = 60.0
#: The background evaluation's longest period over a collector: a fraction of the short
#: window, so that an incident is seen within a minute and a recovery within two.
DEFAULT_EVALUATION_INTERVAL = 15.0


class PerformanceAnalyzer:
    """Analyses the calls a :class:`MetricsCollector` stored, or a source's rollups.

    ``source`` is a :class:`MetricsCollector` or any
    :class:`~medical_insurance_sdk.core.history.source.RollupSource`.
    ``language`` (``"zh"`` default, or ``"en"``) selects the text of alerts,
    recommendations and reports. ``alert_policy`` sets the minimum calls per org and the
    hysteresis of alerts, their evidence and windows, and the baseline alerts
    (docs/alerting.md); ``background=True`` starts evaluating alerts every
    ``evaluation_interval`` seconds (default: 15 s, or the collector's
    ``collection_interval`` when shorter; 60 s over a source) over the last
    ``alert_window_minutes`` and the policy's short window.
    :meth:`get_baseline` tells what is usual for a series at this hour.
    ``cache_size`` results are kept, each reused for ``cache_resolution`` seconds at most
    and only over the same calls (see the module).
    """

    def __init__(
        self,
        source: MetricsCollector | RollupSource,
        *,
        language: str = "zh",
        alert_policy: AlertPolicy | None = None,
        history_size: int = 1000,
        alert_window_minutes: float = 15.0,
        background: bool = False,
        cache_size: int = 32,
        cache_resolution: float = 1.0,
        evaluation_interval: float | None = None,
    ) -> None:
        if not isinstance(source, (MetricsCollector, RollupSource)):
            raise ValueError(
                "PerformanceAnalyzer: source must be a MetricsCollector or a RollupSource "
                f"(got {type(source).__name__})"
            )
        #: What the analyzer reads: a collector's ring (and history), or a source.
        self.source: MetricsCollector | RollupSource = source
        #: Seconds between background evaluations: as given, else 15 s over a collector
        #: (its ``collection_interval`` when shorter), 60 s over a source.
        self.evaluation_interval: float = (
            check_positive("evaluation_interval", evaluation_interval)
            if evaluation_interval is not None
            else min(source.config.collection_interval, DEFAULT_EVALUATION_INTERVAL)
            if isinstance(source, MetricsCollector)
            else DEFAULT_SOURCE_INTERVAL
        )
        self.language = check_lang(language)
        self.alert_policy = alert_policy if alert_policy is not None else AlertPolicy()
        self.alert_window_minutes = check_positive("alert_window_minutes", alert_window_minutes)
        self.alerts = AlertManager(history_size)
        self._thresholds: dict[str, PerformanceThreshold] = {}
        self._thresholds_version = 0
        self._cache = ResultCache(cache_size, cache_resolution)
        self._baselines = BaselineBook(self._recent_rollups, self._history_rollups)
        self._lock = threading.Lock()
        self._worker: PeriodicWorker | None = None
        #: Background evaluations that failed (a source down, ...), logged once a minute.
        self.background_failures = 0
        self._last_logged = -math.inf
        if background:
            self.start_background_evaluation()

    # -- thresholds ------------------------------------------------------------------------
    def set_threshold(self, api_code: str, threshold: PerformanceThreshold) -> None:
        """Use ``threshold`` for ``api_code`` (its ``api_code`` must match)."""
        if not isinstance(threshold, PerformanceThreshold):
            raise ValueError("set_threshold: threshold must be a PerformanceThreshold")
        if threshold.api_code != api_code:
            raise ValueError(
                f"set_threshold: threshold is for {threshold.api_code!r}, not {api_code!r}"
            )
        with self._lock:
            self._thresholds[api_code] = threshold
            self._thresholds_version += 1

    def get_threshold(self, api_code: str) -> PerformanceThreshold:
        """The threshold of ``api_code``: the one set, else its class default."""
        found = self._thresholds.get(api_code)
        return found if found is not None else default_threshold(api_code)

    @property
    def collector(self) -> MetricsCollector:
        """The collector analysed; ``ValueError`` when the analyzer reads a source."""
        if isinstance(self.source, MetricsCollector):
            return self.source
        raise ValueError(f"this analyzer reads the source {self.source.name!r}, not a collector")

    # -- snapshots and cache -------------------------------------------------------------------
    def _window(self, minutes: float) -> tuple[float, CallSnapshot]:
        now = self.collector.now()
        snap = self.collector.store.snapshot(
            since=now - minutes * 60.0, until=now, columns=ANALYSIS_COLUMNS
        )
        return now, snap

    def _cached(self, key: Hashable) -> _Cached | None:
        hit: _Cached | None = self._cache.get(key)
        return hit

    def _remember(self, key: Hashable, value: _Cached) -> None:
        self._cache.put(key, value)

    def _key(self, kind: str, minutes: float, now: float, snap: CallSnapshot) -> Hashable:
        return self._cache.key(
            now,
            kind,
            snap.version,
            minutes,
            len(snap),
            self._thresholds_version,
            self.language,
            self.alert_policy,
        )

    def _incident_frame(self, minutes: float) -> tuple[float, RollupFrame]:
        """``now`` and the minute rollups of the last ``minutes``.

        From a source, or a collector's history when its ring does not cover the window,
        the rollups as stored; from the ring, its calls rolled up by minute (the ring's
        calls carry no outcome-unknown marks: those counts stay 0 there).
        """
        source = self.source
        if not isinstance(source, MetricsCollector):
            now = source.now()
            return now, source.rollups(now - minutes * 60.0, now, fine=True)
        now = source.now()
        since = now - minutes * 60.0
        if not source.store.covers(since):
            stored = source.rollups(since, now, fine=True)
            if stored is not None:
                return now, stored
        snap = source.store.snapshot(since=since, until=now, columns=_ROLLUP_COLUMNS)
        return now, RollupFrame.from_snapshot(snap)

    def _rollup_window(
        self, kind: str, minutes: float, api_code: str | None
    ) -> tuple[float, Hashable, Callable[[], RollupFrame]] | None:
        """``(now, cache key, fetch)`` when the window is read from rollups, else None.

        Over a source: always (the key is known before fetching, so a hit costs no
        query). Over a collector: when the ring does not cover the window and the
        collector keeps a history.
        """
        parts = (kind, minutes, self._thresholds_version, self.language, self.alert_policy)
        source = self.source
        if not isinstance(source, MetricsCollector):
            now = source.now()
            since = now - minutes * 60.0
            key = self._cache.key(now, "source", *parts)
            return now, key, lambda: source.rollups(since, now, api_code=api_code)
        now = source.now()
        since = now - minutes * 60.0
        if source.store.covers(since):
            return None
        frame = source.rollups(since, now, api_code=api_code)
        if frame is None:
            return None
        key = self._cache.key(now, "history", source.store.version, len(frame), *parts)
        return now, key, lambda: frame

    # -- baselines and the short window ---------------------------------------------------
    def _recent_rollups(self, since: float, until: float) -> RollupFrame:
        """Minute rollups of ``[since, until)``: the ring's calls, else the history's."""
        source = self.source
        if not isinstance(source, MetricsCollector):
            return source.rollups(since, until, fine=True)
        if not source.store.covers(since):
            stored = source.rollups(since, until, fine=True)
            if stored is not None:
                return stored
        snap = source.store.snapshot(since=since, until=until, columns=_ROLLUP_COLUMNS)
        return RollupFrame.from_snapshot(snap)

    def _history_rollups(self, since: float, until: float) -> RollupFrame:
        """Rollups of earlier days (hour rows): the history's, else the ring's calls."""
        source = self.source
        if not isinstance(source, MetricsCollector):
            return source.rollups(since, until)
        stored = source.rollups(since, until)
        if stored is not None:
            return stored
        snap = source.store.snapshot(since=since, until=until, columns=_ROLLUP_COLUMNS)
        return RollupFrame.from_snapshot(snap, step=HOUR)

    def get_baseline(self, api_code: str, org_code: str | None = None) -> Baseline | None:
        """What is usual for ``api_code`` (and ``org_code``; None: every org) at this hour.

        Learned from this analyzer's source (see
        :mod:`~medical_insurance_sdk.core.analysis.baselines`); ``None`` until there is
        enough data (20 minutes of calls). Refreshed at most every 5 minutes.
        """
        if not isinstance(api_code, str) or not api_code:
            raise ValueError(f"api_code must be a non-empty str (got {api_code!r})")
        if org_code is not None and (not isinstance(org_code, str) or not org_code):
            raise ValueError(f"org_code must be None or a non-empty str (got {org_code!r})")
        return self._baselines.baseline(self.source.now(), api_code, org_code)

    def _short_frames(self, now: float, frame: RollupFrame | None = None) -> _Short:
        """The short window's rollups and minutes, those of its latest half, and the
        counts of the last :data:`RECENT_MINUTES` minutes.

        Over a collector: its ring's calls (exact); over a source: the rows of ``frame``
        (the window's rollups, read once) that start in the window, which then spans
        from the first such minute to ``now``.
        """
        minutes = self.alert_policy.short_window_minutes
        recent_since = now - RECENT_MINUTES * MINUTE
        source = self.source
        if isinstance(source, MetricsCollector) or frame is None:
            if not isinstance(source, MetricsCollector):
                raise ValueError("the short window of a source needs its rollups")
            calls = source.store.snapshot(
                since=min(recent_since, now - minutes * MINUTE),
                until=now,
                columns=_ROLLUP_COLUMNS,
            )
            snap = calls.select(calls.timestamp >= now - minutes * MINUTE)
            half = snap.select(snap.timestamp >= now - minutes * MINUTE / 2.0)
            last = calls.select(calls.timestamp >= recent_since)
            margin_ms = self._margins_ms(last.api_codes)
            recent = recent_counts(
                last.api_codes,
                last.org_codes,
                last.api.astype(np.int64),
                last.org.astype(np.int64),
                np.ones(len(last), dtype=np.int64),
                system_error_mask(last).astype(np.int64),
                (~last.success).astype(np.int64),
                (last.duration_ms > margin_ms[last.api]).astype(np.int64),
            )
            return (
                RollupFrame.from_snapshot(snap),
                minutes,
                RollupFrame.from_snapshot(half),
                minutes / 2.0,
                recent,
            )
        since = math.floor((now - minutes * MINUTE) / MINUTE) * MINUTE
        half_since = math.floor((now - minutes * MINUTE / 2.0) / MINUTE) * MINUTE
        rows = frame.window(math.floor(recent_since / MINUTE) * MINUTE, now)
        entry_row = np.repeat(np.arange(len(rows)), np.diff(rows.hist_offsets))
        lower = np.concatenate(([0.0], rows.bounds[:-1]))
        margin_s = self._margins_ms(rows.api_codes)[rows.api[entry_row]] / 1000.0
        slow = rows.hist_count * (lower[rows.hist_bucket] >= margin_s)
        recent = recent_counts(
            rows.api_codes,
            rows.org_codes,
            rows.api.astype(np.int64),
            rows.org.astype(np.int64),
            rows.calls,
            rows.system_errors,
            rows.calls - rows.successes,
            np.bincount(entry_row, weights=slow, minlength=len(rows)).astype(np.int64),
        )
        return (
            frame.window(since, now),
            (now - since) / MINUTE,
            frame.window(half_since, now),
            (now - half_since) / MINUTE,
            recent,
        )

    def get_anomaly_scores(
        self, api_code: str, org_code: str | None = None, time_range_minutes: float = 180
    ) -> SeriesAnomaly:
        """Anomaly scores of the last minutes of one series (calls, p95, failure ratio).

        :class:`~medical_insurance_sdk.core.analysis.anomaly.AnomalyDetector` on the
        series' minute rollups (see
        :mod:`~medical_insurance_sdk.core.analysis.series_anomaly`); ``org_code`` None:
        every org of the API together.
        """
        if not isinstance(api_code, str) or not api_code:
            raise ValueError(f"api_code must be a non-empty str (got {api_code!r})")
        if org_code is not None and (not isinstance(org_code, str) or not org_code):
            raise ValueError(f"org_code must be None or a non-empty str (got {org_code!r})")
        minutes = check_positive("time_range_minutes", time_range_minutes)
        now, frame = self._incident_frame(minutes)
        return score_series(frame, api_code, org_code, now - minutes * MINUTE, now)

    def _margins_ms(self, api_codes: tuple[str, ...]) -> npt.NDArray[np.float64]:
        """Per API: its p95 limit times ``1 - hysteresis`` (ms), the clean side."""
        keep = 1.0 - self.alert_policy.hysteresis
        limits = [self.get_threshold(code).max_response_time_ms * keep for code in api_codes]
        return np.array([*limits, np.inf], dtype=np.float64)

    def _detect(
        self,
        now: float,
        observations: list[Observation],
        apis: frozenset[str] | None,
        shorts: _Short,
    ) -> list[Observation]:
        """The long window's ``observations`` with the short window and baselines added."""
        policy = self.alert_policy
        frame, minutes, half_frame, half_minutes, recent = shorts
        if apis is not None:
            wanted = [frame.api_codes.index(a) for a in apis if a in frame.api_codes]
            frame = frame.select(np.isin(frame.api, wanted))
        short = short_window(frame, minutes)
        active = frozenset((a.api_code, a.org_code, a.alert_type) for a in self.alerts.active())
        out = combine(observations, short, policy, active, recent)
        if policy.baselines:
            present = {(o.api_code, o.org_code) for o in observations}
            baselines = self._baselines.get(now)
            half = short_window(half_frame, half_minutes, p95=False)  # volumes only
            out += baseline_observations(
                short, baselines, present, policy, self.language, apis, half, active
            )
        return out

    def cache_info(self) -> CacheInfo:
        """The result cache's hits, misses, size and bound (``.hit_rate``)."""
        return self._cache.info()

    # -- analysis ------------------------------------------------------------------------------
    def analyze(self, api_code: str, time_range_minutes: float = 60) -> ApiAnalysis:
        """Typed analysis of ``api_code``; evaluates (and returns) the API's alerts."""
        if not isinstance(api_code, str) or not api_code:
            raise ValueError(f"api_code must be a non-empty str (got {api_code!r})")
        minutes = check_positive("time_range_minutes", time_range_minutes)
        rollups = self._rollup_window(f"api:{api_code}", minutes, api_code)
        if rollups is not None:
            now, key, fetch = rollups
            hit = self._cached(key)
            if hit is None:
                frame = fetch()
                found, observed = analyze_rollups(
                    frame,
                    minutes,
                    now,
                    self.get_threshold,
                    self.alert_policy,
                    self.language,
                    [api_code],
                )
                hit = ((found[0], self._short_frames(now, frame)), observed)
                self._remember(key, hit)
            (analysis, shorts), observations = hit
            return self._with_alerts(api_code, now, (analysis, observations), shorts)
        now, snap = self._window(minutes)
        key = self._key(f"api:{api_code}", minutes, now, snap)
        hit = self._cached(key)
        if hit is None:
            part = snap.select(snap.api_mask(api_code))
            by_latency = latency_order(part.duration)
            threshold = self.get_threshold(api_code)
            lang = self.language
            observed = observe(part, api_code, threshold, self.alert_policy, lang, by_latency)
            most = observed_concurrency(observed)
            hit = (
                analyze_calls(part, api_code, minutes, now, threshold, lang, by_latency, most),
                observed,
            )
            self._remember(key, hit)
        return self._with_alerts(api_code, now, hit, self._short_frames(now))

    def _with_alerts(self, api_code: str, now: float, hit: _Cached, shorts: _Short) -> ApiAnalysis:
        analysis, observations = hit
        observed = self._detect(now, observations, frozenset((api_code,)), shorts)
        self.alerts.update(observed, (api_code,), now)
        active = [a for a in self.alerts.active() if a.api_code == api_code]
        result: ApiAnalysis = self._advised([analysis], now)[0].with_alerts(active)
        return result

    def _advised(self, analyses: list[ApiAnalysis], now: float) -> list[ApiAnalysis]:
        """The analyses, with a recommendation where the p95 is far above its usual."""
        if not self.alert_policy.baselines:
            return analyses
        baselines = self._baselines.get(now)
        out = []
        for analysis in analyses:
            usual = baselines.get((analysis.api_code, None))
            advice = baseline_advice(
                analysis.api_code,
                analysis.response_time_stats,
                None if usual is None else usual.p95_ms,
                self.language,
            )
            out.append(
                analysis
                if advice is None
                else replace(analysis, recommendations=[advice, *analysis.recommendations])
            )
        return out

    def analyze_api_performance(
        self, api_code: str, time_range_minutes: float = 60
    ) -> dict[str, Any]:
        """The original dict: ``analysis['performance_score']['total_score']`` and the rest."""
        return self.analyze(api_code, time_range_minutes).to_dict()

    def overview(self, time_range_minutes: float = 60, *, series: bool = False) -> SystemOverview:
        """Typed overview of every API with calls in the window; evaluates all alerts.

        ``series=True`` adds the system-wide time buckets (the reports' charts).
        """
        return self._overview(check_positive("time_range_minutes", time_range_minutes), series)[0]

    def _overview(
        self, minutes: float, with_series: bool = False, evaluate: bool = True
    ) -> tuple[SystemOverview, list[PerformanceAlert]]:
        rollups = self._rollup_window(f"overview:{with_series}", minutes, None)
        if rollups is not None:
            now, key, fetch = rollups
            hit = self._cached(key)
            if hit is None:
                frame = fetch()
                found, observed = analyze_rollups(
                    frame, minutes, now, self.get_threshold, self.alert_policy, self.language
                )
                chart = rollup_system_series(frame, minutes, now) if with_series else None
                hit = ((found, chart, self._short_frames(now, frame)), observed)
                self._remember(key, hit)
            (per_api, chart_series, shorts), seen = hit
            return self._evaluated(minutes, now, per_api, chart_series, seen, evaluate, shorts)
        now, snap = self._window(minutes)
        key = self._key("overview", minutes, now, snap)
        hit = self._cached(key)
        if hit is None:
            hit = analyze_all(
                snap, minutes, now, self.get_threshold, self.alert_policy, self.language
            )
            self._remember(key, hit)
        analyses, observations = hit
        system: TimeSeries | None = None
        if with_series:
            series_key = self._key("series", minutes, now, snap)
            cached = self._cached(series_key)
            if cached is None:
                cached = (time_series(snap, minutes, now), [])
                self._remember(series_key, cached)
            system = cached[0]
        return self._evaluated(minutes, now, analyses, system, observations, evaluate)

    def _evaluated(
        self,
        minutes: float,
        now: float,
        analyses: list[ApiAnalysis],
        system: TimeSeries | None,
        observations: list[Observation],
        evaluate: bool = True,
        shorts: _Short | None = None,
    ) -> tuple[SystemOverview, list[PerformanceAlert]]:
        """The overview; with ``evaluate``, the alerts updated from ``observations`` first."""
        changed: list[PerformanceAlert] = []
        if evaluate:
            if shorts is None:
                shorts = self._short_frames(now)
            observed = self._detect(now, observations, None, shorts)
            # every API with an active alert is in scope: one without calls now resolves
            scope = {a.api_code for a in analyses} | {a.api_code for a in self.alerts.active()}
            changed = self.alerts.update(observed, scope, now)
        return self._assemble(minutes, now, analyses, system), changed

    def _assemble(
        self,
        minutes: float,
        now: float,
        analyses: list[ApiAnalysis],
        series: TimeSeries | None,
    ) -> SystemOverview:
        active = self.alerts.active()
        by_api: dict[str, list[PerformanceAlert]] = {}
        for alert in active:
            by_api.setdefault(alert.api_code, []).append(alert)
        return SystemOverview(
            time_range_minutes=minutes,
            timestamp=now,
            apis=[a.with_alerts(by_api.get(a.api_code, [])) for a in self._advised(analyses, now)],
            series=series,
            active_alerts=active,
        )

    def get_system_performance_overview(self, time_range_minutes: float = 60) -> dict[str, Any]:
        """Every API's figures and score, the call-weighted overall score, alert summary."""
        return self.overview(time_range_minutes).to_dict()

    # -- alerts --------------------------------------------------------------------------------
    def evaluate_alerts(self, time_range_minutes: float | None = None) -> list[PerformanceAlert]:
        """Evaluate every API's alerts now; return the alerts that fired/escalated/resolved."""
        minutes = check_positive(
            "time_range_minutes",
            self.alert_window_minutes if time_range_minutes is None else time_range_minutes,
        )
        return self._overview(minutes)[1]

    def get_incidents(
        self, time_range_minutes: float = 60, *, step: float = 60.0
    ) -> list[Incident]:
        """Incidents of the last ``time_range_minutes``: the alert conditions replayed.

        Evaluated every ``step`` seconds (a multiple of 60) over the alert window, with the
        thresholds and policy of this analyzer; see
        :mod:`~medical_insurance_sdk.core.analysis.incidents`. Oldest first; an incident
        still open at the end of the window has ``end=None``.
        """
        minutes = check_positive("time_range_minutes", time_range_minutes)
        now, frame = self._incident_frame(minutes + self.alert_window_minutes + 1.0)
        return find_incidents(
            frame,
            now - minutes * 60.0,
            now,
            self.get_threshold,
            self.alert_policy,
            self.alert_window_minutes,
            step,
            self.language,
        )

    def on_alert(self, callback: AlertCallback) -> None:
        """Call ``callback(alert)`` when an alert fires, escalates or resolves."""
        self.alerts.on_alert(callback)

    def get_active_alerts(self) -> list[dict[str, Any]]:
        """Active alerts as dicts, oldest first."""
        return [a.to_dict() for a in self.alerts.active()]

    def get_alert_history(self) -> list[dict[str, Any]]:
        """Alert events (fired, escalated, resolved) as dicts, oldest first (bounded)."""
        return [a.to_dict() for a in self.alerts.history()]

    def start_background_evaluation(self, interval: float | None = None) -> None:
        """Evaluate alerts every ``interval`` seconds.

        Default: ``evaluation_interval``, else the collector's ``collection_interval`` up
        to :data:`DEFAULT_EVALUATION_INTERVAL` (15 s), else (over a source)
        :data:`DEFAULT_SOURCE_INTERVAL` (60 s).
        """
        if self._worker is not None and self._worker.alive:
            return
        every = interval if interval is not None else self.evaluation_interval
        self._worker = PeriodicWorker(
            "misdk-alerts",
            check_positive("interval", every),
            self._evaluate_in_background,
            self._failed,
        )
        self._worker.start()

    def _evaluate_in_background(self) -> None:
        self.evaluate_alerts()

    def _failed(self, exc: BaseException) -> None:
        """Count a failed background evaluation; log it at most once a minute."""
        self.background_failures += 1
        now = time.monotonic()
        if now - self._last_logged < _LOG_EVERY:
            return
        self._last_logged = now
        if isinstance(exc, SourceError):  # expected operationally: no traceback
            logger.error(
                "background alert evaluation failed (%d so far): %s",
                self.background_failures,
                exc,
            )
        else:
            logger.error(
                "background alert evaluation failed (%d so far)",
                self.background_failures,
                exc_info=exc,
            )

    @property
    def background_evaluation_running(self) -> bool:
        """True while the background alert evaluation (``start_background_evaluation``) runs."""
        worker = self._worker
        return worker is not None and worker.alive

    def stop_background_evaluation(self, timeout: float = 5.0) -> None:
        """Stop the background evaluation (if running) and wait up to ``timeout`` seconds."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop(timeout)

    close = stop_background_evaluation

    # -- capacity ------------------------------------------------------------------------------
    def get_capacity_plan(
        self,
        api_code: str | None = None,
        *,
        org_code: str | None = None,
        horizon_days: int = 90,
        history_days: float = 56.0,
        pool_size: int = DEFAULT_POOL_SIZE,
        rate_limit_per_minute: float | None = None,
        level: float = 0.9,
        utc_offset_hours: float = 8.0,
    ) -> CapacityPlan:
        """Forecast calls and the date each limit is reached (see ``core.analysis.capacity``).

        Reads the rollups of the last ``history_days`` (a source, the collector's history,
        else the collector's ring); ``pool_size`` is the client's connection pool (default
        the clients' 100), ``rate_limit_per_minute`` the platform's limit if any (then the
        last day's minute rollups are read too). Cached like the other results (a report
        and ``misdk report`` ask twice in a second).
        """
        opts = CapacityOptions(
            horizon_days, history_days, pool_size, rate_limit_per_minute, level,
            utc_offset_hours, api_code, org_code,
        )  # fmt: skip
        source = self.source
        now = source.now()
        version = None
        if isinstance(source, MetricsCollector):  # a version counting every call so far
            version = source.store.snapshot(since=now, until=now, columns=("timestamp",)).version
        key = self._cache.key(
            now, "capacity", version, opts, self._thresholds_version, self.language
        )
        hit = self._cached(key)
        if hit is None:
            frame = self._history_frame(now, opts.history_days * 1440.0 + 60.0, api_code, 3600.0)
            minutes = None
            if rate_limit_per_minute is not None:
                minutes = self._history_frame(now, 1440.0, api_code, 60.0)
            found = plan_capacity(frame, now, opts, self.get_threshold, self.language, minutes)
            hit = (found, [])
            self._remember(key, hit)
        plan: CapacityPlan = hit[0]
        return plan

    def _history_frame(
        self, now: float, minutes: float, api_code: str | None, step: float
    ) -> RollupFrame:
        """The rollups of the ``minutes`` before ``now``: hour rows where available when
        ``step`` is 3600, the finest rows when it is 60 (the ring's calls rolled up so)."""
        source = self.source
        since, fine = now - minutes * 60.0, step < 3600.0
        if not isinstance(source, MetricsCollector):
            return source.rollups(since, now, api_code=api_code, fine=fine)
        stored = source.rollups(since, now, api_code=api_code, fine=fine)
        if stored is not None:
            return stored
        snap = source.store.snapshot(since=since, until=now, columns=_ROLLUP_COLUMNS)
        if api_code is not None:
            snap = snap.select(snap.api_mask(api_code))
        return RollupFrame.from_snapshot(snap, step=step)

    def _report_capacity(self) -> CapacityPlan | None:
        """The reports' capacity section: the default plan of every API.

        None (logged) when the source cannot answer for the longer history the plan
        reads: the report is still written, without the section.
        """
        try:
            return self.get_capacity_plan()
        except SourceError as exc:
            logger.warning("capacity plan left out of the report: %s", exc)
            return None

    # -- reports -------------------------------------------------------------------------------
    def export_performance_report(self, time_range_hours: float = 24, format: str = "json") -> str:
        """The report over the last ``time_range_hours`` as ``json``, ``csv`` or ``html`` text."""
        if format not in REPORT_FORMATS:
            raise ValueError(f"format must be one of {', '.join(REPORT_FORMATS)} (got {format!r})")
        hours = check_positive("time_range_hours", time_range_hours)
        overview, incidents = self._report(hours)
        plan = self._report_capacity()
        return render_report(
            overview, self.alerts.history(), format, self.language, incidents, plan
        )

    def _report(self, hours: float) -> tuple[SystemOverview, list[Incident]]:
        """The report's overview and incidents; a report evaluates no live alert.

        Its active alerts are the incidents still open at the end of its window (the
        alert conditions over the alert window, replayed), not the conditions of the
        whole window at once.
        """
        minutes = hours * 60.0
        return self._overview(minutes, True, evaluate=False)[0], self.get_incidents(minutes)

    def write_report(
        self,
        path_or_dir: str | os.PathLike[str],
        formats: Iterable[str] = REPORT_FORMATS,
        *,
        time_range_hours: float = 24,
    ) -> list[Path]:
        """Write the report in each format; return the paths written.

        A directory (existing, or a path without suffix) gets
        ``performance_report.{json,csv,html}``; a file path gets its suffix replaced per
        format. CSV is written UTF-8 with a BOM so that Excel opens it correctly.
        Each file is written atomically; an unwritable directory or a full disk raises
        :class:`ReportWriteError` (an ``OSError`` naming the file) and leaves the
        in-memory data untouched.
        """
        wanted = list(dict.fromkeys(formats))
        bad = [f for f in wanted if f not in REPORT_FORMATS]
        if bad or not wanted:
            raise ValueError(f"formats must be among {', '.join(REPORT_FORMATS)} (got {bad})")
        hours = check_positive("time_range_hours", time_range_hours)
        target = Path(path_or_dir)
        base = (
            target / "performance_report"
            if target.is_dir() or not target.suffix
            else target.with_suffix("")
        )
        overview, incidents = self._report(hours)
        plan = self._report_capacity()
        history = self.alerts.history()
        written = []
        for fmt in wanted:
            path = base.with_suffix(f".{fmt}")
            text = render_report(overview, history, fmt, self.language, incidents, plan)
            write_text_atomic(path, text, "utf-8-sig" if fmt == "csv" else "utf-8")
            written.append(path)
        return written

    def __repr__(self) -> str:
        source = self.source
        reads = "collector" if isinstance(source, MetricsCollector) else source.name
        return (
            f"PerformanceAnalyzer(source={reads!r}, language={self.language!r}, "
            f"active_alerts={len(self.alerts.active())}, thresholds={len(self._thresholds)})"
        )
