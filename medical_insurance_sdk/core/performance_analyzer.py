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
from pathlib import Path
from typing import Any

from medical_insurance_sdk.core.analysis.alerts import (
    AlertCallback,
    AlertManager,
    Observation,
    PerformanceAlert,
)
from medical_insurance_sdk.core.analysis.api_analysis import ApiAnalysis, analyze_calls
from medical_insurance_sdk.core.analysis.capacity import plan_capacity
from medical_insurance_sdk.core.analysis.capacity_options import DEFAULT_POOL_SIZE, CapacityOptions
from medical_insurance_sdk.core.analysis.capacity_plan import CapacityPlan
from medical_insurance_sdk.core.analysis.conditions import (
    AlertPolicy,
    observe,
    observed_concurrency,
)
from medical_insurance_sdk.core.analysis.descriptive import latency_order
from medical_insurance_sdk.core.analysis.incidents import Incident, find_incidents
from medical_insurance_sdk.core.analysis.overview import (
    ANALYSIS_COLUMNS,
    SystemOverview,
    analyze_all,
)
from medical_insurance_sdk.core.analysis.reports.files import ReportWriteError, write_text_atomic
from medical_insurance_sdk.core.analysis.reports.formats import REPORT_FORMATS, render_report
from medical_insurance_sdk.core.analysis.result_cache import CacheInfo, ResultCache
from medical_insurance_sdk.core.analysis.rollup_overview import (
    analyze_rollups,
    rollup_system_series,
)
from medical_insurance_sdk.core.analysis.texts import check_lang
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold, default_threshold
from medical_insurance_sdk.core.analysis.timeseries import TimeSeries, time_series
from medical_insurance_sdk.core.analysis.trend import Trend
from medical_insurance_sdk.core.collection.rollups import RollupFrame
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
#: What minute rollups of the ring need.
_ROLLUP_COLUMNS = ANALYSIS_COLUMNS | {"request_size", "response_size"}

#: Background evaluation failures are logged at most once per this many seconds.
_LOG_EVERY = 60.0
#: The background evaluation's period over a source (it has no collection_interval).
DEFAULT_SOURCE_INTERVAL = 60.0


class PerformanceAnalyzer:
    """Analyses the calls a :class:`MetricsCollector` stored, or a source's rollups.

    ``source`` is a :class:`MetricsCollector` or any
    :class:`~medical_insurance_sdk.core.history.source.RollupSource`.
    ``language`` (``"zh"`` default, or ``"en"``) selects the text of alerts,
    recommendations and reports. ``alert_policy`` sets the minimum calls per org and the
    hysteresis of alerts; ``background=True`` starts evaluating alerts every
    ``evaluation_interval`` seconds (default: the collector's ``collection_interval``,
    60 s over a source) over the last ``alert_window_minutes``.
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
        self.evaluation_interval = (
            None
            if evaluation_interval is None
            else check_positive("evaluation_interval", evaluation_interval)
        )
        self.language = check_lang(language)
        self.alert_policy = alert_policy if alert_policy is not None else AlertPolicy()
        self.alert_window_minutes = check_positive("alert_window_minutes", alert_window_minutes)
        self.alerts = AlertManager(history_size)
        self._thresholds: dict[str, PerformanceThreshold] = {}
        self._thresholds_version = 0
        self._cache = ResultCache(cache_size, cache_resolution)
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
                found, observed = analyze_rollups(
                    fetch(),
                    minutes,
                    now,
                    self.get_threshold,
                    self.alert_policy,
                    self.language,
                    [api_code],
                )
                hit = (found[0], observed)
                self._remember(key, hit)
            return self._with_alerts(api_code, now, hit)
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
        return self._with_alerts(api_code, now, hit)

    def _with_alerts(self, api_code: str, now: float, hit: _Cached) -> ApiAnalysis:
        analysis, observations = hit
        self.alerts.update(observations, (api_code,), now)
        active = [a for a in self.alerts.active() if a.api_code == api_code]
        result: ApiAnalysis = analysis.with_alerts(active)
        return result

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
                hit = ((found, chart), observed)
                self._remember(key, hit)
            (per_api, chart_series), seen = hit
            return self._evaluated(minutes, now, per_api, chart_series, seen, evaluate)
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
    ) -> tuple[SystemOverview, list[PerformanceAlert]]:
        """The overview; with ``evaluate``, the alerts updated from ``observations`` first."""
        changed: list[PerformanceAlert] = []
        if evaluate:
            # every API with an active alert is in scope: one without calls now resolves
            scope = {a.api_code for a in analyses} | {a.api_code for a in self.alerts.active()}
            changed = self.alerts.update(observations, scope, now)
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
            apis=[a.with_alerts(by_api.get(a.api_code, [])) for a in analyses],
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

        Default: ``evaluation_interval``, else the collector's ``collection_interval``,
        else (over a source) :data:`DEFAULT_SOURCE_INTERVAL` (60 s).
        """
        if self._worker is not None and self._worker.alive:
            return
        every = interval if interval is not None else self.evaluation_interval
        if every is None:
            source = self.source
            every = (
                source.config.collection_interval
                if isinstance(source, MetricsCollector)
                else DEFAULT_SOURCE_INTERVAL
            )
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
