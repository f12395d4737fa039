"""Prometheus exposition of the SDK's metrics (requires ``prometheus_client``).

:class:`AggregatesCollector` is a prometheus_client *custom collector* registered in the
collector's own ``CollectorRegistry``. At scrape time it folds the call store and
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

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.samples import Exemplar as PromExemplar

from medical_insurance_sdk.core.aggregates import ApiAggregates, Exemplar
from medical_insurance_sdk.core.health import MonitoringHealth
from medical_insurance_sdk.core.labelled_numbers import LabelledNumbers
from medical_insurance_sdk.core.labels import is_trace_id
from medical_insurance_sdk.core.store import CallStore
from medical_insurance_sdk.core.system_metrics import SystemSample

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
    """prometheus_client custom collector over the SDK's aggregates."""

    def __init__(self, sources: ExportSources) -> None:
        self._s = sources
        #: The exemplar last checked in each (series, bucket): checked once, not per scrape.
        self._checked: dict[tuple[int, int], Exemplar] = {}
        self._les = [_le_label(float(b)) for b in sources.aggregates.bounds] + ["+Inf"]

    def describe(self) -> Iterator[Metric]:
        """Metric names without samples, so the registry can detect name clashes."""
        yield from self._api_families(describe_only=True)
        yield from self._state_families()

    def collect(self) -> Iterator[Metric]:
        """Fold the store, then yield every family with current values."""
        self._s.store.fold()
        yield from self._api_families(describe_only=False)
        yield from self._state_families()
        yield from self._system_families()

    # -- API metrics -------------------------------------------------------------------
    def _api_families(self, *, describe_only: bool) -> Iterator[Metric]:
        agg = self._s.aggregates
        by_org = agg.histogram_by_org
        calls = CounterMetricFamily(
            _n("api_calls"),
            "医保接口调用总数 API calls to the platform",
            labels=["api_code", "org_code", "status"],
        )
        duration = HistogramMetricFamily(
            _n("api_duration_seconds"),
            "医保接口响应时间 API call duration in seconds",
            labels=["api_code", "org_code"] if by_org else ["api_code"],
            unit="",
        )
        errors = CounterMetricFamily(
            _n("api_errors"),
            "医保接口错误数 API call errors by error code",
            labels=["api_code", "org_code", "error_code"],
        )
        req = SummaryMetricFamily(
            _n("api_request_size_bytes"),
            "请求报文大小 Request payload size in bytes",
            labels=["api_code"],
        )
        resp = SummaryMetricFamily(
            _n("api_response_size_bytes"),
            "响应报文大小 Response payload size in bytes",
            labels=["api_code"],
        )
        if not describe_only:
            with agg.lock:
                apis, orgs, errs = agg.apis.values(), agg.orgs.values(), agg.errors.values()
                for i, (a, o, ok) in enumerate(agg.call_series.keys):
                    status = "success" if ok else "error"
                    calls.add_metric([apis[a], orgs[o], status], float(agg.call_counts[i]))
                for i, (a, o) in enumerate(agg.hist_series.keys):
                    cumulative = agg.hist_buckets[i].cumsum()
                    buckets: list[tuple[str, float] | tuple[str, float, PromExemplar]] = []
                    for b, le in enumerate(self._les):
                        ex = agg.exemplars.get((i, b))
                        if ex is not None and ex is not self._checked.get((i, b)):
                            ex = self._checked_exemplar(agg, (i, b), ex)
                        if ex is None:
                            buckets.append((le, float(cumulative[b])))
                        else:
                            pex = PromExemplar({"trace_id": ex.trace_id}, ex.value, ex.timestamp)
                            buckets.append((le, float(cumulative[b]), pex))
                    labels = [apis[a], orgs[o]] if by_org else [apis[a]]
                    duration.add_metric(labels, buckets, float(agg.hist_sums[i]))
                for i, (a, o, e) in enumerate(agg.error_series.keys):
                    errors.add_metric([apis[a], orgs[o], errs[e]], float(agg.error_counts[i]))
                for i, (a,) in enumerate(agg.size_series.keys):
                    count = int(agg.size_counts[i])
                    req.add_metric([apis[a]], count, float(agg.request_bytes[i]))
                    resp.add_metric([apis[a]], count, float(agg.response_bytes[i]))
        yield from (calls, duration, errors, req, resp)

    def _checked_exemplar(
        self, agg: ApiAggregates, key: tuple[int, int], ex: Exemplar
    ) -> Exemplar | None:
        """``ex`` if its trace id may be exposed; else drop it and count (lock held)."""
        if is_trace_id(ex.trace_id):
            self._checked[key] = ex
            return ex
        del agg.exemplars[key]
        self._s.health.drop("invalid_trace_id")
        return None

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
