"""MetricsCollector: the original API's monitoring facade and its O(1) hot path.

Which side of the line each public method is on:

* **Hot path, never raises** (errors are caught, counted in
  ``medical_insurance_monitoring_errors_total`` and logged rate-limited):
  :meth:`~MetricsCollector.record_api_call_start`, :meth:`~MetricsCollector.record_api_call_end`,
  :meth:`~MetricsCollector.track`, ``@monitor_api_call``,
  :meth:`~MetricsCollector.inc_active_connections`,
  :meth:`~MetricsCollector.record_outcome_unknown`.
* **Explicit API, raises ValueError naming the problem**: ``MetricConfig``,
  :meth:`~MetricsCollector.record_api_call`, :meth:`~MetricsCollector.record_custom_metric`,
  :meth:`~MetricsCollector.record_database_connections`,
  :meth:`~MetricsCollector.record_cache_hit_ratio`,
  :meth:`~MetricsCollector.start_otlp_metrics` (whose exports then never raise), the query
  methods' arguments.

A start puts ``(api, org, t0, sizes, trace id)`` in a dict under a fresh integer id; an
end pops it, reads the monotonic clock again and extends the store's flat staging list
by the call's :class:`~medical_insurance_sdk.core.collection.staged.StagedCall` fields, the two raw
clock readings among them (the fold turns them into a timestamp and a duration, and
checks the batch). Nothing on that path scans, sorts or locks a
metric: the store folds staged calls into numpy columns in batches, and the Prometheus
exporter reads cumulative aggregates at scrape time (see ``collection/store.py`` and
``export/aggregates.py``). The SDK client, which ends every call it starts, skips the registry
and its two Python calls: the internal ``_open_channel`` gives it the same staging
through C builtins only (``collection/channel.py``).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from medical_insurance_sdk.core.collection.channel import CallChannel
from medical_insurance_sdk.core.collection.collector_report import build_performance_report
from medical_insurance_sdk.core.collection.custom_metrics import CustomMetrics, PerformanceMetric
from medical_insurance_sdk.core.collection.labelled_numbers import LabelledNumbers
from medical_insurance_sdk.core.collection.labels import check_clean_label
from medical_insurance_sdk.core.collection.pending import PendingCalls
from medical_insurance_sdk.core.collection.records import APICallMetric
from medical_insurance_sdk.core.collection.rollups import RollupFrame
from medical_insurance_sdk.core.collection.staged import STAGED_WIDTH, StagedCall
from medical_insurance_sdk.core.collection.statistics import api_statistics, rollup_statistics
from medical_insurance_sdk.core.collection.store import CallSnapshot, CallStore
from medical_insurance_sdk.core.collection.system_metrics import SystemSample
from medical_insurance_sdk.core.collection.tracking import CallTracker
from medical_insurance_sdk.core.runtime import forking
from medical_insurance_sdk.core.runtime.background import PeriodicWorker
from medical_insurance_sdk.core.runtime.clock import AnchoredClock, Clock
from medical_insurance_sdk.core.runtime.config import MetricConfig
from medical_insurance_sdk.core.runtime.health import MonitoringHealth
from medical_insurance_sdk.core.runtime.validation import (
    check_finite,
    check_label,
    check_positive,
    check_size,
)
from medical_insurance_sdk.optional import is_available, warn_missing
from medical_insurance_sdk.redaction import MAX_MESSAGE_CHARS, mask_text

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricExporter

    from medical_insurance_sdk.core.export.otlp_export import OtlpMetricsExport

__all__ = [
    "STATUSES",
    "MetricsCollector",
    "get_metrics_collector",
    "initialize_metrics_collector",
    "reset_metrics_collector",
]

logger = logging.getLogger(__name__)

#: The statuses a call can end with.
STATUSES = ("success", "error")


class MetricsCollector:
    """Records API calls and custom metrics; exports them; answers statistics queries."""

    def __init__(
        self,
        config: MetricConfig | None = None,
        *,
        registry: Any | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config if config is not None else MetricConfig.from_env()
        if not isinstance(self.config, MetricConfig):
            raise ValueError("MetricsCollector: config must be a MetricConfig")
        cfg = self.config
        self._clock: Clock = clock if clock is not None else AnchoredClock()
        # Bound once: the hot path reads one clock and appends one tuple.
        self._mono_ns = self._clock.monotonic_ns
        self._wall_offset = self._clock.wall_offset
        self._enabled = cfg.enabled
        self._ids = itertools.count(1)
        self.health = MonitoringHealth()
        self.store = CallStore(
            cfg.max_memory_metrics,
            batch_size=cfg.fold_batch_size,
            on_listener_error=lambda exc: self.health.error("store_fold", exc),
            wall_offset=self._wall_offset,
            health=self.health,
        )
        self._staging = self.store.staging
        self._stage = self.store.staging.extend  # one StagedCall's fields (collection/staged.py)
        self._staged_limit = cfg.fold_batch_size * STAGED_WIDTH
        self.active_connections = LabelledNumbers(("connection_type",))
        self.cache_hit_ratio = LabelledNumbers(("cache_type",))
        self.outcome_unknown = LabelledNumbers(("api_code", "org_code"), cfg.max_org_codes)
        self.abandoned = LabelledNumbers(("api_code", "org_code"), cfg.max_org_codes)
        self.pending = PendingCalls(
            cfg.max_memory_metrics, cfg.pending_timeout, self._mono_ns, self.health, self.abandoned
        )
        self._pending = self.pending.calls
        self._kinds = self.pending.kinds.clean  # raw connection type -> clean label value
        self._max_pending = cfg.max_memory_metrics
        self.started_at = self._clock.wall()
        self._system = self._make_sampler() if cfg.enabled and cfg.system_metrics_enabled else None
        self.prometheus = self._make_prometheus(registry) if cfg.enabled else None
        self.custom = CustomMetrics(
            cfg.max_memory_metrics,
            self._clock.wall,
            self.prometheus.registry if self.prometheus is not None else None,
            cfg.max_series_per_metric,
        )
        self._history = self._make_history() if cfg.enabled and cfg.history_path else None
        self._otlp_exports: list[OtlpMetricsExport] = []
        self._closed = False
        self._worker = PeriodicWorker(
            "misdk-housekeeping",
            cfg.collection_interval,
            self.run_housekeeping,
            lambda exc: self.health.error("housekeeping", exc),
        )
        # Multiprocess mode: other processes scrape the files, so fold every second.
        self._mp_worker: PeriodicWorker | None = None
        if self.prometheus is not None and self.prometheus.multiprocess is not None:
            self._mp_worker = PeriodicWorker(
                "misdk-multiprocess-fold",
                1.0,
                self._multiprocess_tick,
                lambda exc: self.health.error("multiprocess_fold", exc),
            )
        if cfg.enabled and cfg.background:
            self._worker.start()
            if self._mp_worker is not None:
                self._mp_worker.start()
        forking.register(self)

    # -- construction helpers --------------------------------------------------------------
    def _make_sampler(self) -> Any:
        if not is_available("psutil"):
            warn_missing("System metrics (process/system figures)", "psutil", "system")
            return None
        from medical_insurance_sdk.core.collection.system_metrics import SystemSampler

        sampler = SystemSampler()
        try:
            sampler.sample()
        except OSError as exc:
            self.health.error("system_metrics", exc)
        return sampler

    def _make_history(self) -> Any:
        """The rollup builder (a store listener) and the history writer (opened lazily)."""
        from medical_insurance_sdk.core.collection.rollup_builder import RollupBuilder
        from medical_insurance_sdk.core.history.recorder import HistoryRecorder
        from medical_insurance_sdk.core.history.writer import HistoryWriter

        cfg = self.config
        builder = RollupBuilder()
        writer = HistoryWriter(
            str(cfg.history_path),
            minute_days=cfg.history_minute_days,
            hour_days=cfg.history_hour_days,
            clock=self._clock.wall,
        )
        self.store.add_listener(builder)
        return HistoryRecorder(builder, writer, self.health)

    def _make_prometheus(self, registry: Any | None) -> Any:
        if not self.config.prometheus_enabled:
            return None
        if not is_available("prometheus_client"):
            warn_missing("Prometheus export (/metrics, push)", "prometheus_client", "prometheus")
            return None
        from medical_insurance_sdk.core.export.prometheus_integration import (
            PrometheusIntegration,
            build_export_sources,
        )

        sources = build_export_sources(
            self.config,
            store=self.store,
            health=self.health,
            gauges={
                "active_connections": self.active_connections,
                "cache_hit_ratio": self.cache_hit_ratio,
                "outcome_unknown": self.outcome_unknown,
                "abandoned": self.abandoned,
            },
            started_at=self.started_at,
            in_flight=self.pending.__len__,  # registered calls and channels' calls
            connections=self.connections,
            system=self._latest_system,
        )
        from medical_insurance_sdk.core.export.multiprocess import multiprocess_dir

        return PrometheusIntegration(
            self.config, sources, registry, multiprocess_path=multiprocess_dir()
        )

    def _latest_system(self) -> SystemSample | None:
        return self._system.latest() if self._system is not None else None

    # -- hot path --------------------------------------------------------------------------
    def record_api_call_start(
        self,
        api_code: str,
        org_code: str,
        request_size: int = 0,
        trace_id: str | None = None,
        connection_type: str | None = None,
    ) -> int:
        """Start timing a call; return its id for :meth:`record_api_call_end`. Never raises.

        ``trace_id`` may become the call's exemplar; only a W3C trace id (32 lowercase hex
        digits) is ever exposed: the exporter drops an exemplar with any other and counts
        it (``invalid_trace_id``), so this path does no per-call check. With
        ``connection_type`` the call counts in ``active_connections{connection_type}``
        while it is in flight (computed when read, so it costs nothing here); the value
        is sanitised like every label, once per distinct value (see ``PendingCalls.kinds``).
        """
        if not self._enabled:
            return 0
        try:
            if connection_type is not None:
                try:
                    connection_type = self._kinds[connection_type]
                except (KeyError, TypeError):  # first sight (or unhashable): sanitise
                    connection_type = self.pending.connection_type(connection_type)
            call_id = next(self._ids)
            pending = self._pending
            pending[call_id] = (
                api_code, org_code, self._mono_ns(), request_size, trace_id, connection_type
            )  # fmt: skip
            if len(pending) > self._max_pending:
                self.pending.evict_overflow()
        except Exception as exc:  # monitoring boundary: never break the business call
            self.health.error("record_api_call_start", exc)
            return 0
        return call_id

    def record_api_call_end(
        self,
        call_id: int,
        status: str,
        error_code: str | None = None,
        error_message: str | None = None,
        response_size: int = 0,
        request_size: int | None = None,
    ) -> None:
        """End a started call. Unknown or already-ended ids are counted, never raised.

        ``request_size``, when given, replaces the size passed at the start.
        """
        if not self._enabled:
            return
        end_ns = self._mono_ns()
        try:
            entry = self._pending.pop(call_id, None)
            if entry is None:
                self._unknown_call(call_id)
                return
            api, org, start_ns, req, trace_id, _ = entry
            ok = status == "success"
            if not ok and status != "error":
                error_code = error_code or "invalid_status"
                self.health.drop("invalid_status_recorded_as_error")
            if not ok and type(error_message) is str and len(error_message) > MAX_MESSAGE_CHARS:
                error_message = mask_text(error_message)  # a huge text is not held until the fold
            if request_size is not None:
                req = request_size
            self._stage((  # a StagedCall (core/collection/staged.py), built in one C call
                end_ns, start_ns, api, org, ok,
                error_code, error_message, req if type(req) is int and req >= 0 else 0,
                response_size if type(response_size) is int and response_size >= 0 else 0,
                trace_id,
            ))  # fmt: skip
            if len(self._staging) >= self._staged_limit:
                self.store.fold()
        except TypeError:  # an unhashable call id cannot be pending
            self._unknown_call(call_id)
        except Exception as exc:  # monitoring boundary
            self.health.error("record_api_call_end", exc)

    @property
    def clock(self) -> Clock:
        """The clock this collector reads (``clock=`` at construction, or the default)."""
        return self._clock

    def _open_channel(self, connection_type: str | None = None) -> CallChannel | None:
        """The SDK client's frame-free recording path (internal; see ``collection/channel.py``).

        None when monitoring is disabled. Raises ValueError for a ``connection_type``
        that is not a label value as is (a non-empty printable str of at most 64
        characters, no personal data).
        """
        if connection_type is not None:
            check_clean_label("_open_channel: connection_type", connection_type)
        if not self._enabled:
            return None
        lane = self.pending.lane(connection_type)
        return CallChannel(self.store, self._mono_ns, lane, connection_type, self.health)

    def _unknown_call(self, call_id: object) -> None:
        self.health.drop("unknown_call_id")
        logger.debug("record_api_call_end: unknown or already ended call id %r", call_id)

    def track(
        self,
        api_code: str,
        org_code: str,
        *,
        request_size: int = 0,
        trace_id: str | None = None,
        connection_type: str | None = None,
    ) -> CallTracker:
        """``with collector.track("2207", org) as call:`` times the block; see CallTracker."""
        return CallTracker(self, api_code, org_code, request_size, trace_id, connection_type)

    def inc_active_connections(self, connection_type: str, delta: int = 1) -> None:
        """Add ``delta`` to ``active_connections{connection_type}``. Never raises."""
        try:
            self.active_connections.add(delta, self.pending.connection_type(connection_type))
        except Exception as exc:  # monitoring boundary
            self.health.error("inc_active_connections", exc)

    def record_outcome_unknown(self, api_code: str, org_code: str) -> None:
        """Count a W$ call whose outcome is unknown (reconcile or reverse it). Never raises."""
        try:
            self.outcome_unknown.add(1, api_code, org_code)
            if self._history is not None:
                self._history.builder.note_unknown(api_code, org_code, self._clock.wall())
        except Exception as exc:  # monitoring boundary
            self.health.error("record_outcome_unknown", exc)

    # -- pending calls ---------------------------------------------------------------------
    def expire_pending(self) -> int:
        """Expire calls pending longer than ``pending_timeout``; count them abandoned."""
        return self.pending.expire()

    def connections(self) -> dict[str, float]:
        """``active_connections`` by type: values set or added, plus calls in flight."""
        merged = {labels[0]: value for labels, value in self.active_connections.items()}
        for kind, n in self.pending.in_flight_by_type().items():
            merged[kind] = merged.get(kind, 0.0) + n
        return merged

    @property
    def pending_calls(self) -> int:
        """Calls started and not yet ended."""
        return len(self.pending)

    # -- explicit recording ------------------------------------------------------------------
    def record_api_call(
        self,
        api_code: str,
        org_code: str,
        status: str,
        duration_ms: float,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
        timestamp: float | None = None,
        request_size: int = 0,
        response_size: int = 0,
    ) -> None:
        """Record a call that already completed (log import, replay, tests).

        Raises ``ValueError`` for an unknown status, a negative/NaN/infinite duration, a
        bad timestamp or size, or a non-string code.
        """
        check_label("record_api_call: api_code", api_code)
        check_label("record_api_call: org_code", org_code)
        if status not in STATUSES:
            raise ValueError(
                f"record_api_call: status must be 'success' or 'error' (got {status!r})"
            )
        duration = check_finite("record_api_call: duration_ms", duration_ms)
        if duration < 0:
            raise ValueError(f"record_api_call: duration_ms must be >= 0 (got {duration_ms!r})")
        when = (
            self._clock.wall()
            if timestamp is None
            else check_finite("record_api_call: timestamp", timestamp)
        )
        check_size("record_api_call: request_size", request_size)
        check_size("record_api_call: response_size", response_size)
        for name, text in (("error_code", error_code), ("error_message", error_message)):
            if text is not None and not isinstance(text, str):
                raise ValueError(f"record_api_call: {name} must be a str or None (got {text!r})")
        if not self._enabled:
            return
        if error_message is not None and len(error_message) > MAX_MESSAGE_CHARS:
            error_message = mask_text(error_message)  # a huge text is not held until the fold
        self.store.append(
            StagedCall.from_seconds(
                when,
                duration / 1000.0,
                api_code,
                org_code,
                status == "success",
                error_code,
                error_message,
                request_size,
                response_size,
                None,
                wall_offset=self.store.wall_offset,
            )
        )

    def record_custom_metric(
        self,
        name: str,
        value: float,
        metric_type: str = "gauge",
        labels: Mapping[str, str] | None = None,
        additional_data: Mapping[str, Any] | None = None,
    ) -> PerformanceMetric | None:
        """Record a custom counter/gauge/histogram/summary value; exported to Prometheus.

        Raises ``ValueError`` for an invalid name, type, value or labels.
        """
        return self.custom.record(
            name, value, metric_type, labels, additional_data, keep=self._enabled
        )

    def record_database_connections(self, count: int, connection_type: str = "database") -> None:
        """Set ``active_connections{connection_type}`` to ``count`` (an int >= 0).

        ``connection_type`` must be a label value as is (a non-empty printable str of at
        most 64 characters, no personal data).
        """
        check_size("record_database_connections: count", count)
        label = check_clean_label("record_database_connections: connection_type", connection_type)
        self.active_connections.set(float(count), label)

    def record_cache_hit_ratio(self, ratio: float, cache_type: str = "default") -> None:
        """Set ``cache_hit_ratio{cache_type}`` to ``ratio`` (a fraction in 0..1)."""
        value = check_finite("record_cache_hit_ratio: ratio", ratio)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"record_cache_hit_ratio: ratio must be in 0..1 (got {ratio!r})")
        label = check_label("record_cache_hit_ratio: cache_type", cache_type)
        self.cache_hit_ratio.set(value, label)

    # -- queries ---------------------------------------------------------------------------
    def now(self) -> float:
        """The collector's wall-clock time (epoch seconds) used for windows."""
        return self._clock.wall()

    def snapshot(self, time_range_minutes: float | None = None) -> CallSnapshot:
        """Stored calls of the last ``time_range_minutes`` (all when ``None``)."""
        if time_range_minutes is None:
            return self.store.snapshot()
        minutes = check_positive("time_range_minutes", time_range_minutes)
        now = self._clock.wall()
        return self.store.snapshot(since=now - minutes * 60.0, until=now)

    def get_api_statistics(self, time_range_minutes: float = 60) -> dict[str, Any]:
        """Totals, success rate (fraction), mean time (ms), per-API and per-error breakdowns.

        When the ring no longer holds every call of the window (evicted or expired) and
        history is on, the figures come from the history's rollups (all exact).
        """
        minutes = check_positive("time_range_minutes", time_range_minutes)
        now = self._clock.wall()
        since = now - minutes * 60.0
        if not self.store.covers(since):
            frame = self.rollups(since, now)
            if frame is not None:
                return rollup_statistics(frame, time_range_minutes, now).to_dict()
        snap = self.store.snapshot(since=since, until=now)
        return api_statistics(snap, time_range_minutes, now).to_dict()

    def get_recent_calls(self, limit: int = 100) -> list[APICallMetric]:
        """The most recent stored calls as :class:`APICallMetric` records (messages masked)."""
        check_size("get_recent_calls: limit", limit)
        snap = self.store.snapshot()
        return APICallMetric.from_snapshot(snap, max(0, len(snap) - limit))

    def get_system_metrics(self) -> dict[str, Any]:
        """Process and system figures from psutil (refreshed every collection_interval)."""
        if self._system is None:
            if not is_available("psutil"):
                warn_missing("System metrics (process/system figures)", "psutil", "system")
            return {"available": False}
        sample = self._system.latest() or self._system.sample()
        return {"available": True, **sample.to_dict()}

    def get_prometheus_metrics(self, openmetrics: bool = False) -> str:
        """The exposition text (OpenMetrics with exemplars when ``openmetrics``)."""
        if self.prometheus is None:
            return ""
        text: str = self.prometheus.exposition(openmetrics)
        return text

    def get_custom_metrics(self) -> list[PerformanceMetric]:
        """Stored custom metric values, oldest first."""
        return self.custom.records()

    def monitoring_health(self) -> dict[str, Any]:
        """What monitoring dropped and where it failed (also exported)."""
        dropped = {**self.health.dropped(), **self.store.drop_counts()}
        return {
            "errors": self.health.errors(),
            "dropped": dropped,
            "pending_calls": self.pending_calls,
            "stored_calls": len(self.store),
            "store_bytes": self.store.nbytes,
        }

    def generate_performance_report(self, time_range_hours: float = 24) -> dict[str, Any]:
        """Everything above in one dict: statistics, system, gauges, custom metrics, health."""
        hours = check_positive("time_range_hours", time_range_hours)
        return build_performance_report(self, hours)

    # -- fork safety (see runtime/forking.py) --------------------------------------------
    def _fork_locks(self) -> list[Any]:
        locks: list[Any] = [self.store.lock, self.pending.lock]
        aggregates = getattr(self.prometheus, "aggregates", None)
        if aggregates is not None:
            locks.append(aggregates.lock)
        return locks

    def _fork_prepare(self) -> None:
        if self._history is not None:  # staged calls go to this process's rollups, not both
            self.store.fold()
        for lock in self._fork_locks():
            lock.acquire()

    def _fork_parent(self) -> None:
        for lock in reversed(self._fork_locks()):
            lock.release()

    def _fork_child(self) -> None:
        forking.renew_locks(self)
        self.pending.forget_all()
        if self._history is not None:
            self._history.after_fork()
        if self.prometheus is not None:
            self.prometheus.after_fork_in_child()
        if not self._closed and self.config.enabled and self.config.background:
            for worker in (self._worker, self._mp_worker):
                if worker is not None:
                    worker.start()
        for export in self._otlp_exports:
            export.after_fork_in_child()

    # -- push, OTLP, housekeeping, lifecycle -------------------------------------------------
    def start_otlp_metrics(
        self,
        service_name: str | None = None,
        *,
        endpoint: str | None = None,
        interval: float | None = None,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
        exporter: MetricExporter | None = None,
    ) -> OtlpMetricsExport:
        """Export the call counts, errors and duration histogram over OTLP every ``interval``.

        Read from the same aggregates as ``/metrics`` (nothing is recorded twice; see
        ``core/export/otel_producer.py`` for the names). ``endpoint`` is the receiver's base
        URL (``http://apm:4318``; ``/v1/metrics`` is added) or its metrics URL, else the
        ``OTEL_EXPORTER_OTLP_*`` variables decide; ``interval`` (else
        ``OTEL_METRIC_EXPORT_INTERVAL``, else 60 s) and ``timeout`` (seconds per export,
        retries included) are seconds; ``exporter`` replaces the OTLP/HTTP exporter (any
        OpenTelemetry ``MetricExporter``). Raises ``ValueError`` naming the problem (the
        ``[otel]`` extra missing, no in-process aggregates, a bad argument); afterwards
        nothing raises: failed exports are counted (``stats()``, monitoring health stage
        ``otlp_metrics``). :meth:`shutdown` exports a last time and stops it.
        """
        if not is_available("opentelemetry.sdk.metrics") or (
            exporter is None and not is_available("opentelemetry.exporter.otlp.proto.http")
        ):
            raise ValueError(
                "OTLP metrics need opentelemetry-sdk and the OTLP exporter: "
                "pip install 'medical-insurance-sdk[otel]'"
            )
        prometheus = self.prometheus
        if prometheus is None or prometheus.exporter is None or self._closed:
            raise ValueError(
                "OTLP metrics are read from the in-process aggregates: they need an open "
                "collector with prometheus_enabled, prometheus_client installed and no "
                "multiprocess mode (prometheus_port=0 serves no /metrics)"
            )
        from medical_insurance_sdk.core.export.otlp_export import start_otlp_metrics_export

        export = start_otlp_metrics_export(
            self.store,
            prometheus.aggregates,
            self.health,
            started_at=self.started_at,
            wall=self._clock.wall,
            service_name=service_name,
            endpoint=endpoint,
            interval=interval,
            timeout=timeout,
            headers=headers,
            exporter=exporter,
        )
        self._otlp_exports.append(export)
        return export

    def export_metrics_to_prometheus_gateway(
        self, gateway_url: str | None = None, job_name: str = "medical_insurance_sdk"
    ) -> bool:
        """Push to a Pushgateway now. ``False`` (logged, counted) on failure; never raises."""
        url = gateway_url or self.config.prometheus_gateway_url
        if self.prometheus is None or not url:
            return False
        ok: bool = self.prometheus.push(url, job_name)
        return ok

    def cleanup_old_metrics(self) -> int:
        """Remove calls and custom values older than ``retention_days``; return how many."""
        days = self.config.retention_days
        if days <= 0:
            return 0
        cutoff = self._clock.wall() - days * 86400.0
        return self.store.remove_older_than(cutoff) + self.custom.remove_older_than(cutoff)

    def run_housekeeping(self) -> None:
        """One background pass: expire pending, retention, system sample, push."""
        for stage, task in (
            ("expire_pending", self.expire_pending),
            ("retention", self.cleanup_old_metrics),
            ("system_metrics", self._sample_system),
            ("fold", self.store.fold),
            ("history", self._write_history),
            ("push", self._scheduled_push),
        ):
            try:
                task()
            except Exception as exc:  # one failing task must not stop the others
                self.health.error(stage, exc)

    def _write_history(self) -> None:
        if self._history is not None:  # faults are counted inside (stage "history")
            self._history.flush(self._clock.wall())

    def rollups(
        self, since: float, until: float, *, api_code: str | None = None, fine: bool = False
    ) -> RollupFrame | None:
        """This process's minute rollups starting in ``[since, until)`` (epoch seconds).

        What this process wrote to the history file (hour rows for whole hours inside the
        window, unless ``fine``: minute rows wherever they have not expired) plus what it
        has not written yet, merged; ``None`` when history is off.
        Other processes sharing the file are not included (read them with
        ``HistorySource``).
        """
        from medical_insurance_sdk.core.history.source import check_window

        a, b = check_window(since, until)
        if self._history is None:
            return None
        self.store.fold()
        frame: RollupFrame = self._history.rollups(a, b, api_code=api_code, fine=fine)
        return frame

    def _multiprocess_tick(self) -> None:
        self.store.fold()
        if self.prometheus is not None:
            self.prometheus.sync_multiprocess()

    def _sample_system(self) -> None:
        if self._system is not None:
            self._system.sample()

    def _scheduled_push(self) -> None:
        url = self.config.prometheus_gateway_url
        if url and self.prometheus is not None:
            self.prometheus.push(url, self.config.push_job_name)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop background work, push a last time and delete the group if configured."""
        if self._closed:
            return
        self._closed = True
        self._worker.stop(timeout)
        if self._mp_worker is not None:
            self._mp_worker.stop(timeout)
        for export in self._otlp_exports:
            export.shutdown(timeout)
        self.store.fold()
        if self._history is not None:
            self._history.flush_all()
            self._history.writer.close()
        if self.prometheus is not None:
            self.prometheus.sync_multiprocess()
            self._scheduled_push()
            self.prometheus.close()

    close = shutdown

    def __enter__(self) -> MetricsCollector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    @property
    def metrics_port(self) -> int | None:
        """The port /metrics is served on, or ``None``."""
        if self.prometheus is None or self.prometheus.server is None:
            return None
        port: int = self.prometheus.server.port
        return port

    def __repr__(self) -> str:
        return (
            f"MetricsCollector(enabled={self._enabled}, stored={len(self.store)}, "
            f"pending={self.pending_calls}, port={self.metrics_port})"
        )


# -- the process-wide default collector -------------------------------------------------------
_global: MetricsCollector | None = None
_global_lock = threading.Lock()


def get_metrics_collector() -> MetricsCollector:
    """The process-wide collector, created on first use from ``MISDK_*``/defaults."""
    global _global
    collector = _global
    if collector is not None:
        return collector
    with _global_lock:
        if _global is None:
            _global = MetricsCollector(MetricConfig.from_env())
        return _global


def initialize_metrics_collector(config: MetricConfig | None = None) -> MetricsCollector:
    """Replace the process-wide collector (the old one is shut down) and return it."""
    global _global
    with _global_lock:
        old, _global = _global, None
        if old is not None:
            old.shutdown()  # first: the new collector may need the old one's port
        collector = _global = MetricsCollector(config)
    return collector


def reset_metrics_collector() -> None:
    """Shut the process-wide collector down and forget it; the next use creates a new one.

    For tests and for programs that re-read their configuration.
    """
    global _global
    with _global_lock:
        old, _global = _global, None
    if old is not None:
        old.shutdown()
