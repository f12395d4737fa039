"""The API metrics as OpenTelemetry metric data, read from the cumulative aggregates.

:class:`ApiMetricsProducer` plays the part of the OpenTelemetry specification's
*MetricProducer* (opentelemetry-python has none yet): :meth:`~ApiMetricsProducer.produce`
folds the call store, reads :class:`ApiAggregates` under its lock with the same row readers
as the Prometheus exposition (``series_rows.py``) and returns ``MetricsData`` that any
OpenTelemetry ``MetricExporter`` sends (OTLP, console, ...). Nothing is recorded twice:
the hot path feeds the aggregates only, and both exports read them.

=============================================  ===================================  =========
OpenTelemetry metric (same labels as attrs)    data                                 unit
=============================================  ===================================  =========
medical_insurance_api_calls                    Sum, monotonic, cumulative           {call}
medical_insurance_api_errors                   Sum, monotonic, cumulative           {error}
medical_insurance_api_duration_seconds         Histogram, explicit bounds, cumul.   s
=============================================  ===================================  =========

The names are the Prometheus families' names, which is also what a Prometheus-compatible
backend's OTLP ingestion makes of them: a monotonic Sum gets ``_total`` appended
(``medical_insurance_api_calls_total``), and ``_seconds`` is not appended twice. The
attributes are the labels (``api_code``, ``org_code``, ``status``, ``error_code``) rather
than namespaced OpenTelemetry attribute names, so one query works on both paths. The bucket
bounds are the collector's ``duration_buckets``; OTLP's buckets are upper-inclusive like
Prometheus' ``le``. Every point starts at the collector's start (cumulative temporality).

Exemplars: each bucket's last traced call, as on ``/metrics``. The aggregates keep its trace
id, not its span id, and OTLP's encoder sends the ``trace_id`` field only with a span id, so
the trace id travels as the exemplar's attribute ``trace_id`` (the OpenMetrics exemplar's
label name; Prometheus-compatible OTLP ingestion turns it into that exemplar label). Only
W3C trace ids are exported, checked once like the exposition's. The payload-size summaries,
gauges and self-monitoring counters stay Prometheus-only.

Needs ``opentelemetry-sdk`` (the ``[otel]`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from opentelemetry.sdk.metrics import Exemplar as OtelExemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    DataT,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from medical_insurance_sdk._version import __version__
from medical_insurance_sdk.core.collection.store import CallStore
from medical_insurance_sdk.core.export.aggregates import (
    EXEMPLAR_TRACE_LABEL,
    ApiAggregates,
    Exemplar,
)
from medical_insurance_sdk.core.export.series_rows import (
    CounterRows,
    ExemplarCheck,
    HistogramRows,
    call_rows,
    error_rows,
    histogram_rows,
)

__all__ = ["SCOPE_NAME", "ApiMetricsProducer"]

#: The instrumentation scope of the exported metrics.
SCOPE_NAME = "medical_insurance_sdk"

_CUMULATIVE = AggregationTemporality.CUMULATIVE
_CALLS = "medical_insurance_api_calls"
_ERRORS = "medical_insurance_api_errors"
_DURATION = "medical_insurance_api_duration_seconds"


class ApiMetricsProducer:
    """Produces the API metrics as OpenTelemetry ``MetricsData`` from the aggregates.

    ``start_time_unix_nano`` is when the aggregates started counting (the collector's
    start); ``now_unix_nano`` gives each collection's time; ``on_invalid_trace_id`` counts
    an exemplar dropped because its trace id is not a W3C one. ``produce`` is thread-safe
    and may raise only what folding the store or the conversion raises (the caller, a
    background export, catches and counts).
    """

    def __init__(
        self,
        store: CallStore,
        aggregates: ApiAggregates,
        *,
        resource: Resource,
        start_time_unix_nano: int,
        now_unix_nano: Callable[[], int],
        on_invalid_trace_id: Callable[[], None],
    ) -> None:
        self._store = store
        self._agg = aggregates
        self._now = now_unix_nano
        self._start = start_time_unix_nano
        self.resource = resource
        self._scope = InstrumentationScope(SCOPE_NAME, __version__)
        self._check = ExemplarCheck(on_invalid_trace_id)
        #: (series row, bucket) -> the aggregates' exemplar and its OpenTelemetry form.
        self._converted: dict[tuple[int, int], tuple[Exemplar, OtelExemplar]] = {}
        #: Exemplars converted, and reused from an earlier export (the cache's hit rate).
        self.exemplars_converted = 0
        self.exemplars_reused = 0
        self._bounds = [float(b) for b in aggregates.bounds]
        self._duration_labels: tuple[str, ...] = (
            ("api_code", "org_code") if aggregates.histogram_by_org else ("api_code",)
        )

    def produce(self) -> MetricsData:
        """Fold the store, then read every series once (one lock hold) and convert it."""
        self._store.fold()
        agg = self._agg
        with agg.lock:
            calls, errors = call_rows(agg), error_rows(agg)
            duration = histogram_rows(agg, check=self._check)
        now = self._now()
        metrics = [
            metric
            for metric in (
                self._sum(
                    _CALLS,
                    "医保接口调用总数 API calls to the platform",
                    "{call}",
                    ("api_code", "org_code", "status"),
                    calls,
                    now,
                ),
                self._histogram(duration, now),
                self._sum(
                    _ERRORS,
                    "医保接口错误数 API call errors by error code",
                    "{error}",
                    ("api_code", "org_code", "error_code"),
                    errors,
                    now,
                ),
            )
            if metric is not None
        ]
        scope = ScopeMetrics(scope=self._scope, metrics=metrics, schema_url="")
        return MetricsData(
            resource_metrics=[
                ResourceMetrics(resource=self.resource, scope_metrics=[scope], schema_url="")
            ]
        )

    def _sum(
        self,
        name: str,
        description: str,
        unit: str,
        label_names: tuple[str, ...],
        rows: CounterRows,
        now: int,
    ) -> Metric | None:
        if not rows.counts:
            return None
        points = [
            NumberDataPoint(
                attributes=dict(zip(label_names, labels, strict=True)),
                start_time_unix_nano=self._start,
                time_unix_nano=now,
                value=int(count),
            )
            for labels, count in zip(rows.labels, rows.counts, strict=True)
        ]
        data = Sum(data_points=points, aggregation_temporality=_CUMULATIVE, is_monotonic=True)
        return _metric(name, description, unit, data)

    def _histogram(self, rows: HistogramRows, now: int) -> Metric | None:
        if not rows.labels:
            return None
        points = []
        # OTLP wants each bucket's own count: undo the cumulative sum, all rows at once.
        per_bucket = np.diff(np.asarray(rows.cumulative, dtype=np.int64), axis=1, prepend=0)
        for i, (labels, counts) in enumerate(zip(rows.labels, per_bucket.tolist(), strict=True)):
            marks = rows.exemplars[i] if rows.exemplars is not None else ()
            points.append(
                HistogramDataPoint(
                    attributes=dict(zip(self._duration_labels, labels, strict=True)),
                    start_time_unix_nano=self._start,
                    time_unix_nano=now,
                    count=rows.cumulative[i][-1],
                    sum=rows.sums[i],
                    bucket_counts=counts,
                    explicit_bounds=self._bounds,
                    # OTLP's min and max are optional: the aggregates keep neither, and the
                    # encoder leaves a None field unset.
                    min=None,  # type: ignore[arg-type]
                    max=None,  # type: ignore[arg-type]
                    exemplars=self._exemplars(i, marks),
                )
            )
        data = Histogram(data_points=points, aggregation_temporality=_CUMULATIVE)
        return _metric(_DURATION, "医保接口响应时间 API call duration in seconds", "s", data)

    def _exemplars(self, row: int, marks: Sequence[Exemplar | None]) -> list[OtelExemplar]:
        """The row's exemplars as OpenTelemetry's, each converted once (most buckets keep
        theirs from one export to the next)."""
        out = []
        cache = self._converted
        converted = 0
        for b, ex in enumerate(marks):
            if ex is None:
                continue
            hit = cache.get((row, b))
            if hit is None or hit[0] is not ex:
                otel = OtelExemplar(
                    filtered_attributes={EXEMPLAR_TRACE_LABEL: ex.trace_id},
                    value=float(ex.value),
                    time_unix_nano=int(ex.timestamp * 1e9),
                )
                hit = cache[(row, b)] = (ex, otel)
                converted += 1
            out.append(hit[1])
        self.exemplars_converted += converted
        self.exemplars_reused += len(out) - converted
        return out


def _metric(name: str, description: str, unit: str, data: DataT) -> Metric:
    return Metric(name=name, description=description, unit=unit, data=data)
