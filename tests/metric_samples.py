"""The API families as comparable samples, from the Prometheus exposition and from OTLP.

Import by module name (``from metric_samples import ...``): ``tests/`` is on ``sys.path``.
Both sides become ``(sample name, labels, value)`` the way Prometheus names them: a
monotonic Sum gets ``_total``; a histogram becomes cumulative ``_bucket`` samples with an
``le`` label (its float's ``repr``, so "0.5" and "0.50" agree), ``_count`` and ``_sum``.
"""

from __future__ import annotations

import math

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Metric
from prometheus_client.parser import text_string_to_metric_families

from medical_insurance_sdk.core import MetricsCollector

__all__ = ["FAMILIES", "Sample", "exposition_samples", "metrics_by_name", "otlp_samples"]

FAMILIES = (
    "medical_insurance_api_calls",
    "medical_insurance_api_duration_seconds",
    "medical_insurance_api_errors",
)
Sample = tuple[str, frozenset[tuple[str, str]], float]


def metrics_by_name(request: ExportMetricsServiceRequest) -> dict[str, Metric]:
    """The metrics of one OTLP request, by name (each name once)."""
    found = [m for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
    out = {m.name: m for m in found}
    assert len(out) == len(found), [m.name for m in found]
    return out


def exposition_samples(c: MetricsCollector) -> set[Sample]:
    """The three API families of ``/metrics``, as (sample name, labels, value); le as float."""
    out: set[Sample] = set()
    for family in text_string_to_metric_families(c.get_prometheus_metrics()):
        if family.name not in FAMILIES:
            continue
        for s in family.samples:
            labels = dict(s.labels)
            if "le" in labels:
                labels["le"] = repr(float(labels["le"]))
            out.add((s.name, frozenset(labels.items()), float(s.value)))
    return out


def otlp_samples(metrics: dict[str, Metric]) -> set[Sample]:
    """What Prometheus makes of the OTLP metrics: ``_total`` for a monotonic Sum, and
    ``_bucket`` (cumulative, ``le``), ``_count``, ``_sum`` for a histogram."""
    out: set[Sample] = set()
    for name, m in metrics.items():
        if m.HasField("sum"):
            assert m.sum.is_monotonic
            assert (
                m.sum.aggregation_temporality
                == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
            )
            for p in m.sum.data_points:
                attrs = frozenset((a.key, a.value.string_value) for a in p.attributes)
                out.add((f"{name}_total", attrs, float(p.as_int)))
            continue
        assert m.HasField("histogram"), name
        assert (
            m.histogram.aggregation_temporality
            == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
        )
        for p in m.histogram.data_points:
            attrs = {a.key: a.value.string_value for a in p.attributes}
            assert len(p.bucket_counts) == len(p.explicit_bounds) + 1
            assert not p.HasField("min")
            assert not p.HasField("max")
            running = 0
            for bound, count in zip([*p.explicit_bounds, math.inf], p.bucket_counts, strict=True):
                running += count
                labels = frozenset({**attrs, "le": repr(float(bound))}.items())
                out.add((f"{name}_bucket", labels, float(running)))
            out.add((f"{name}_count", frozenset(attrs.items()), float(p.count)))
            out.add((f"{name}_sum", frozenset(attrs.items()), p.sum))
    return out
