"""Prometheus exposition of the SDK's metrics (requires ``prometheus_client``).

:class:`AggregatesCollector` is a prometheus_client *custom collector* registered in the
collector's own ``CollectorRegistry``. At scrape time it flushes the call store and
yields metric families built from the cumulative :class:`ApiAggregates`, so the exposed
counts always equal the calls recorded, and the hot path updates no metric object.

Metrics (the original API's six first):

=============================================  =========  ================================
name                                           type       labels
=============================================  =========  ================================
medical_insurance_api_calls_total              counter    api_code, org_code, status
medical_insurance_api_duration_seconds         histogram  api_code, org_code
medical_insurance_api_errors_total             counter    api_code, org_code, error_code
medical_insurance_active_connections           gauge      connection_type
medical_insurance_cache_hit_ratio              gauge      cache_type
medical_insurance_system_info                  info       version, python, host, start_time
medical_insurance_api_request_size_bytes       summary    api_code
medical_insurance_api_response_size_bytes      summary    api_code
medical_insurance_api_outcome_unknown_total    counter    api_code, org_code
medical_insurance_api_calls_abandoned_total    counter    api_code, org_code
medical_insurance_api_calls_in_flight          gauge
medical_insurance_monitoring_errors_total      counter    stage
medical_insurance_monitoring_dropped_total     counter    reason
medical_insurance_store_calls                  gauge
medical_insurance_process_* / system_*         gauge      (psutil figures)
=============================================  =========  ================================

The duration histogram carries OpenMetrics exemplars ``{trace_id="..."}``. Only W3C trace
ids (32 lowercase hex digits) are exposed: the hot path records whatever trace id it is
given, and here, the first time an exemplar is exposed, one whose trace id is anything
else (too long, a newline, upper case...) is discarded, before it could break the
exposition, and counted once (``invalid_trace_id`` in the monitoring health). Each
exemplar is checked once, not at every scrape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.samples import Exemplar as PromExemplar

from medical_insurance_sdk.core.collection.labelled_numbers import LabelledNumbers
from medical_insurance_sdk.core.collection.store import CallStore
from medical_insurance_sdk.core.collection.system_metrics import SystemSample
from medical_insurance_sdk.core.export.aggregates import EXEMPLAR_TRACE_LABEL, ApiAggregates
from medical_insurance_sdk.core.export.exposition_cache import (
    ApiScrape,
    CachedFamily,
    ExpositionCache,
)
from medical_insurance_sdk.core.export.series_rows import (
    KINDS,
    ExemplarCheck,
    call_rows,
    error_rows,
    histogram_rows,
    size_rows,
)
from medical_insurance_sdk.core.export.series_text import FamilySpec
from medical_insurance_sdk.core.runtime.health import MonitoringHealth

__all__ = ["NAMESPACE", "AggregatesCollector", "ExportSources"]

NAMESPACE = "medical_insurance"


@dataclass(frozen=True)
class ExportSources:
    """Everything the exporter reads, injected by the MetricsCollector."""

    store: CallStore
    aggregates: ApiAggregates
    active_connections: LabelledNumbers
    cache_hit_ratio: LabelledNumbers
    outcome_unknown: LabelledNumbers
    abandoned: LabelledNumbers
    health: MonitoringHealth
    info: dict[str, str]
    in_flight: Callable[[], int]
    connections: Callable[[], dict[str, float]]
    system: Callable[[], SystemSample | None]


def _n(name: str) -> str:
    return f"{NAMESPACE}_{name}"


class AggregatesCollector:
    """prometheus_client custom collector over the SDK's aggregates.

    The five API families are yielded as :class:`CachedFamily`: prometheus_client builds
    their samples when it reads them, while the scrape renderer (``scrape.py``) writes
    their lines from the :class:`ExpositionCache` without building samples.
    """

    def __init__(self, sources: ExportSources) -> None:
        self._s = sources
        #: Exemplars with a trace id that may not be exposed are dropped (checked once).
        self._exemplar_check = ExemplarCheck(lambda: sources.health.drop("invalid_trace_id"))
        self._les = [_le_label(float(b)) for b in sources.aggregates.bounds] + ["+Inf"]
        by_org = sources.aggregates.histogram_by_org
        self._labels: dict[str, tuple[str, ...]] = {
            "calls": ("api_code", "org_code", "status"),
            "duration": ("api_code", "org_code") if by_org else ("api_code",),
            "errors": ("api_code", "org_code", "error_code"),
            "request_size": ("api_code",),
            "response_size": ("api_code",),
        }
        specs = {
            kind: FamilySpec(family.name, self._labels[kind])
            for kind, family in self._api_families().items()
        }
        #: The rendered API series, reused from scrape to scrape where nothing changed.
        self.exposition_cache = ExpositionCache(
            sources.aggregates, specs, self._les, self._exemplar_check
        )

    def describe(self) -> Iterator[Metric]:
        """Metric names without samples, so the registry can detect name clashes."""
        yield from self._api_families().values()
        yield from self._state_families()

    def collect(self) -> Iterator[Metric]:
        """Flush the store, then yield every family with current values."""
        self._s.store.fold()
        families = self._api_families()
        scrape = ApiScrape(self.exposition_cache, families, lambda: self._fill(families))
        for kind in KINDS:
            yield CachedFamily(families[kind], kind, scrape)
        yield from self._state_families()
        yield from self._system_families()

    # -- API metrics -------------------------------------------------------------------
    def _api_families(self) -> dict[str, Metric]:
        """The five API families, empty, by kind (their names and HELP texts live here)."""
        labels = self._labels
        return {
            "calls": CounterMetricFamily(
                _n("api_calls"),
                "医保接口调用总数 API calls to the platform",
                labels=labels["calls"],
            ),
            "duration": HistogramMetricFamily(
                _n("api_duration_seconds"),
                "医保接口响应时间 API call duration in seconds",
                labels=labels["duration"],
                unit="",
            ),
            "errors": CounterMetricFamily(
                _n("api_errors"),
                "医保接口错误数 API call errors by error code",
                labels=labels["errors"],
            ),
            "request_size": SummaryMetricFamily(
                _n("api_request_size_bytes"),
                "请求报文大小 Request payload size in bytes",
                labels=labels["request_size"],
            ),
            "response_size": SummaryMetricFamily(
                _n("api_response_size_bytes"),
                "响应报文大小 Response payload size in bytes",
                labels=labels["response_size"],
            ),
        }

    def _fill(self, families: dict[str, Metric]) -> None:
        """Add every series to the (empty) API families, in one read of the aggregates."""
        agg = self._s.aggregates
        with agg.lock:
            calls, errors = call_rows(agg), error_rows(agg)
            duration = histogram_rows(agg, check=self._exemplar_check)
            sizes = {kind: size_rows(agg, kind) for kind in ("request_size", "response_size")}
        calls_family = cast(CounterMetricFamily, families["calls"])
        for labels, count in zip(calls.labels, calls.counts, strict=True):
            calls_family.add_metric(labels, float(count))
        hist_family = cast(HistogramMetricFamily, families["duration"])
        for i, labels in enumerate(duration.labels):
            marks = duration.exemplars[i] if duration.exemplars is not None else None
            buckets: list[tuple[str, float] | tuple[str, float, PromExemplar]] = []
            for b, (le, count) in enumerate(zip(self._les, duration.cumulative[i], strict=True)):
                ex = marks[b] if marks is not None else None
                if ex is None:
                    buckets.append((le, float(count)))
                else:
                    pex = PromExemplar({EXEMPLAR_TRACE_LABEL: ex.trace_id}, ex.value, ex.timestamp)
                    buckets.append((le, float(count), pex))
            hist_family.add_metric(labels, buckets, float(duration.sums[i]))
        errors_family = cast(CounterMetricFamily, families["errors"])
        for labels, count in zip(errors.labels, errors.counts, strict=True):
            errors_family.add_metric(labels, float(count))
        for kind, rows in sizes.items():
            family = cast(SummaryMetricFamily, families[kind])
            for labels, count, total in zip(rows.labels, rows.counts, rows.sums, strict=True):
                family.add_metric(labels, count, float(total))

    # -- gauges, rare counters, self-monitoring ------------------------------------------
    def _state_families(self) -> Iterator[Metric]:
        s = self._s
        connections = GaugeMetricFamily(
            _n("active_connections"),
            "活跃连接数 Active connections by type (set, or calls in flight)",
            labels=["connection_type"],
        )
        for kind, value in sorted(s.connections().items()):
            connections.add_metric([kind], float(value))
        yield connections
        yield _labelled(
            GaugeMetricFamily,
            "cache_hit_ratio",
            "缓存命中率 Cache hit ratio (0-1) by cache",
            s.cache_hit_ratio,
        )
        yield _labelled(
            CounterMetricFamily,
            "api_outcome_unknown",
            "结果未知的交易 W$ calls whose outcome is unknown (reconcile or 2601)",
            s.outcome_unknown,
        )
        yield _labelled(
            CounterMetricFamily,
            "api_calls_abandoned",
            "已放弃的调用 Started calls never ended (expired)",
            s.abandoned,
        )
        yield InfoMetricFamily(
            _n("system"), "SDK 与主机信息 SDK and host information", value=dict(s.info)
        )
        yield GaugeMetricFamily(
            _n("api_calls_in_flight"),
            "进行中的调用 Calls started and not yet ended",
            value=float(s.in_flight()),
        )
        yield GaugeMetricFamily(
            _n("store_calls"),
            "内存中保存的调用记录数 Calls held in memory",
            value=float(len(s.store)),
        )
        errors = CounterMetricFamily(
            _n("monitoring_errors"),
            "监控内部错误 Internal monitoring errors (business unaffected)",
            labels=["stage"],
        )
        for stage, count in sorted(s.health.errors().items()):
            errors.add_metric([stage], float(count))
        yield errors
        dropped = CounterMetricFamily(
            _n("monitoring_dropped"),
            "监控丢弃的数据 Data dropped on purpose, by reason",
            labels=["reason"],
        )
        drops = dict(s.health.dropped())
        for reason, count in s.aggregates.overflow.items():
            drops[f"overflow_{reason}"] = count
        drops.update(s.store.drop_counts())
        for reason, count in sorted(drops.items()):
            dropped.add_metric([reason], float(count))
        yield dropped

    def _system_families(self) -> Iterator[Metric]:
        sample = self._s.system()
        if sample is None:
            return
        p, y = sample.process, sample.system
        for name, doc, value in (
            ("process_resident_memory_bytes", "进程常驻内存 Process RSS", p.rss_bytes),
            ("process_virtual_memory_bytes", "进程虚拟内存 Process VMS", p.vms_bytes),
            ("process_cpu_percent", "进程 CPU 使用率 Process CPU percent", p.cpu_percent),
            ("process_threads", "进程线程数 Process threads", p.threads),
            ("process_open_fds", "进程打开的文件数 Process open fds", p.open_fds),
            ("system_memory_total_bytes", "系统内存总量 System memory", y.memory_total_bytes),
            (
                "system_memory_available_bytes",
                "系统可用内存 Available memory",
                y.memory_available_bytes,
            ),
            ("system_memory_percent", "系统内存使用率 Memory used percent", y.memory_percent),
            ("system_cpu_count", "CPU 核数 CPU count", y.cpu_count),
            ("system_cpu_percent", "系统 CPU 使用率 System CPU percent", y.cpu_percent),
            ("system_load1", "1 分钟负载 Load average 1m", y.load_1m),
            ("system_load5", "5 分钟负载 Load average 5m", y.load_5m),
            ("system_load15", "15 分钟负载 Load average 15m", y.load_15m),
            ("system_disk_percent", "磁盘使用率 Disk used percent", y.disk_percent),
        ):
            yield GaugeMetricFamily(_n(name), doc, value=float(value))


def _le_label(value: float) -> str:
    """The ``le`` label of a bucket bound: Python's ``repr`` of the float.

    Not prometheus_client's ``floatToGoString`` (its own histograms' format): the two agree
    below 1e6 and differ from there on (``1000000.0`` here, ``1e+06`` there). Bounds are
    seconds, so in practice they agree.
    """
    return repr(value)


def _labelled(
    family: type[CounterMetricFamily] | type[GaugeMetricFamily],
    name: str,
    doc: str,
    values: LabelledNumbers,
) -> Metric:
    metric = family(_n(name), doc, labels=list(values.labelnames))
    for labels, value in sorted(values.items()):
        metric.add_metric(list(labels), float(value))
    return metric
