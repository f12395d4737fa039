"""For any traffic, the OTLP metrics (as OpenTelemetry's OTLP encoder sends them) equal the
Prometheus exposition of the same aggregates: caps folding into __other__, calls without
an error code, the histogram with or without org_code, export after export."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metric_samples import exposition_samples, metrics_by_name, otlp_samples
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from medical_insurance_sdk.core import MetricConfig, MetricsCollector


class EncodingExporter(MetricExporter):
    """Encodes each export with OpenTelemetry's OTLP encoder and keeps the request."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[ExportMetricsServiceRequest] = []

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        request = ExportMetricsServiceRequest()
        request.ParseFromString(encode_metrics(metrics_data).SerializeToString())
        self.requests.append(request)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to close."""


CALLS = st.lists(
    st.tuples(
        st.sampled_from(["1101", "2207", "2208", "5205"]),
        st.sampled_from(["H43010500001", "H43010500002", "H43010500003"]),
        st.booleans(),
        st.floats(min_value=0.0, max_value=120_000.0, allow_nan=False),
        st.sampled_from([None, "TIMEOUT_READ", "BIZ_-1", "HTTP_503"]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=CALLS, second=CALLS, by_org=st.booleans(), small_caps=st.booleans())
def test_otlp_equals_the_exposition(
    first: list[tuple[str, str, bool, float, str | None]],
    second: list[tuple[str, str, bool, float, str | None]],
    by_org: bool,
    small_caps: bool,
) -> None:
    """Two rounds of calls, an export after each: the OTLP samples equal /metrics' samples."""
    caps: dict[str, Any] = {"max_org_codes": 2, "max_series_per_metric": 3} if small_caps else {}
    c = MetricsCollector(
        MetricConfig(prometheus_port=0, background=False, histogram_by_org=by_org, **caps)
    )
    exporter = EncodingExporter()
    export = c.start_otlp_metrics(exporter=exporter, interval=3600)
    try:
        for calls in (first, second):
            for api, org, ok, ms, code in calls:
                status = "success" if ok else "error"
                c.record_api_call(api, org, status, ms, error_code=None if ok else code)
            assert export.force_flush()
            assert otlp_samples(metrics_by_name(exporter.requests[-1])) == exposition_samples(c)
    finally:
        c.shutdown()
