"""Opt-in trace export: one call sets up OpenTelemetry to send the calls' spans over OTLP.

For an application without an OpenTelemetry setup of its own (one that has one keeps it:
the clients use the global ``TracerProvider`` and propagators, or ``tracer_provider=``)::

    tracing = configure_tracing("his-outpatient")   # OTEL_* variables fill the rest
    ...
    tracing.stats().dropped                         # spans that never reached the APM

Spans go through OTLP/HTTP (protobuf; SkyWalking, Elastic, Jaeger, Tempo and the Chinese
clouds' APMs take it) from a bounded queue on a background thread
(:class:`~medical_insurance_sdk.span_export.CountedBatchSpanProcessor`): a slow or
unreachable endpoint never slows or breaks a business call; the spans it cannot take are
dropped and counted (:meth:`TracingSetup.stats`) and a warning is logged at most once a
minute. The standard variables (:data:`OTEL_ENV_VARIABLES`, ``misdk docs tracing``) are
honoured; an explicit argument wins. Needs the ``[otel]`` extra.

Validation happens here, at setup (``ValueError`` naming the argument or variable);
nothing of it runs on a call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from medical_insurance_sdk.optional import is_available

if TYPE_CHECKING:
    from medical_insurance_sdk.span_export import CountedBatchSpanProcessor, SpanExportStats

__all__ = ["DEFAULT_SERVICE_NAME", "OTEL_ENV_VARIABLES", "TracingSetup", "configure_tracing"]

#: ``service.name`` when neither the argument nor ``OTEL_SERVICE_NAME`` gives one.
DEFAULT_SERVICE_NAME = "medical-insurance-sdk"
#: The standard variables :func:`configure_tracing` honours: (name, 中文说明, English).
OTEL_ENV_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("OTEL_SERVICE_NAME", "服务名 service.name（configure_tracing 的 service_name 参数优先）",
     "service.name (the service_name argument wins)"),
    ("OTEL_RESOURCE_ATTRIBUTES", "资源属性 key=value,…（如 deployment.environment=prod）",
     "resource attributes key=value,… (e.g. deployment.environment=prod)"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT",
     "OTLP/HTTP 基地址，默认 http://localhost:4318（追加 /v1/traces）",
     "OTLP/HTTP base URL, default http://localhost:4318 (/v1/traces is added)"),
    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "traces 的完整地址（优先于上一项）",
     "the full traces URL (wins over the base URL)"),
    ("OTEL_EXPORTER_OTLP_HEADERS", "导出请求头 key=value,…（如 APM 的鉴权 token）",
     "export request headers key=value,… (e.g. the APM's token)"),
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "每批导出的超时（秒，含重试），默认 10",
     "timeout of one batch's export (seconds, retries included), default 10"),
    ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip 或 none", "gzip or none"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "仅支持 http/protobuf（默认）",
     "http/protobuf only (the default)"),
    ("OTEL_TRACES_EXPORTER", "otlp（默认）或 none（只生成与传播 trace，不导出）",
     "otlp (default) or none (traces made and propagated, not exported)"),
    ("OTEL_TRACES_SAMPLER", "采样器，默认 parentbased_always_on；如 parentbased_traceidratio",
     "sampler, default parentbased_always_on; e.g. parentbased_traceidratio"),
    ("OTEL_TRACES_SAMPLER_ARG", "采样器参数（如比例 0.1）", "the sampler's argument (e.g. 0.1)"),
    ("OTEL_PROPAGATORS", "传播格式，默认 tracecontext,baggage",
     "propagation formats, default tracecontext,baggage"),
    ("OTEL_BSP_MAX_QUEUE_SIZE", "待导出队列上限，默认 2048；满时丢弃并计数",
     "bound of the spans waiting, default 2048; beyond it spans are dropped and counted"),
    ("OTEL_BSP_SCHEDULE_DELAY", "批量导出间隔（毫秒），默认 5000",
     "delay between two exports (milliseconds), default 5000"),
    ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "每批最多 span 数，默认 512",
     "most spans in one export, default 512"),
    ("OTEL_SDK_DISABLED", "true：不生成 span（请求头仍带本地生成的 traceparent）",
     "true: no spans (the request still carries a locally made traceparent)"),
)  # fmt: skip
_DEFAULT_QUEUE = 2048
_PROTOCOLS = ("http/protobuf",)
_EXPORTERS = ("otlp", "none")
_TRACES_PATH = "/v1/traces"
_DEFAULT_ENDPOINT = "http://localhost:4318"


class TracingSetup:
    """What :func:`configure_tracing` set up: the provider, where spans go, their counts."""

    def __init__(
        self, provider: Any, endpoint: str | None, processor: CountedBatchSpanProcessor | None
    ) -> None:
        #: The ``TracerProvider`` (global when ``set_global``; else pass it as
        #: ``tracer_provider=`` to the clients).
        self.provider = provider
        #: The OTLP traces URL, or None when the spans are not exported over OTLP.
        self.endpoint = endpoint
        self._processor = processor

    def stats(self) -> SpanExportStats:
        """Spans exported, dropped (queue full) and lost (failed batches) so far."""
        from medical_insurance_sdk.span_export import SpanExportStats

        return SpanExportStats() if self._processor is None else self._processor.stats()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export the spans waiting now (blocks up to the exporter's timeout)."""
        return bool(self.provider.force_flush(timeout_millis))

    def shutdown(self) -> None:
        """Export what waits and stop (also done at interpreter exit)."""
        self.provider.shutdown()


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _traces_url(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"endpoint must be an http(s) URL of an OTLP receiver: {endpoint!r}")
    base = endpoint.rstrip("/")
    return base if base.endswith(_TRACES_PATH) else base + _TRACES_PATH


def _env_traces_url() -> str:
    """The traces URL the ``OTEL_EXPORTER_OTLP_*`` variables name (the exporter's rule)."""
    url = _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if url:
        _traces_url(url)  # checked, used as given
        return url
    return _traces_url(_env("OTEL_EXPORTER_OTLP_ENDPOINT") or _DEFAULT_ENDPOINT)


def _queue_size(max_queue_size: int | None) -> int:
    if max_queue_size is not None:
        if max_queue_size < 1:
            raise ValueError("max_queue_size must be positive")
        return max_queue_size
    raw = _env("OTEL_BSP_MAX_QUEUE_SIZE")
    if not raw:
        return _DEFAULT_QUEUE
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"OTEL_BSP_MAX_QUEUE_SIZE must be a positive integer, not {raw!r}")
    return int(raw)


def _check_choice(name: str, allowed: tuple[str, ...]) -> str:
    value = _env(name).lower() or allowed[0]
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported here (use {', '.join(allowed)})")
    return value


def configure_tracing(
    service_name: str | None = None,
    *,
    endpoint: str | None = None,
    timeout: float | None = None,
    headers: Mapping[str, str] | None = None,
    max_queue_size: int | None = None,
    exporter: Any = None,
    set_global: bool = True,
) -> TracingSetup:
    """Set up OpenTelemetry tracing with OTLP/HTTP export; return the setup.

    ``service_name`` (else ``OTEL_SERVICE_NAME``, else ``medical-insurance-sdk``) names
    the service; ``endpoint`` is the receiver's base URL (``http://apm:4318``;
    ``/v1/traces`` is added) or its traces URL, else the ``OTEL_EXPORTER_OTLP_*``
    variables decide. ``timeout`` (seconds, retries included) bounds each batch's export;
    ``headers`` go with each export; ``max_queue_size`` (else ``OTEL_BSP_MAX_QUEUE_SIZE``,
    else 2048) bounds the spans waiting. ``exporter`` replaces the OTLP exporter (any
    OpenTelemetry ``SpanExporter``). With ``set_global`` the provider becomes
    OpenTelemetry's global one, which every client uses; a second global setup raises
    ``ValueError`` (OpenTelemetry keeps the first), so shut the first down and pass
    ``set_global=False`` with ``tracer_provider=`` to the clients instead.
    """
    if not is_available("opentelemetry.sdk.trace"):
        raise ValueError(
            "configure_tracing needs opentelemetry-sdk and the OTLP exporter: "
            "pip install 'medical-insurance-sdk[otel]'"
        )
    name = service_name if service_name is not None else _env("OTEL_SERVICE_NAME")
    if service_name is not None and not service_name.strip():
        raise ValueError("service_name must not be empty")
    if timeout is not None and not timeout > 0:
        raise ValueError("timeout must be a positive number of seconds")
    queue = _queue_size(max_queue_size)
    url = _traces_url(endpoint) if endpoint is not None else None
    export = exporter is not None or _check_choice("OTEL_TRACES_EXPORTER", _EXPORTERS) == "otlp"
    if exporter is None and export:
        _check_choice("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", _PROTOCOLS)
        _check_choice("OTEL_EXPORTER_OTLP_PROTOCOL", _PROTOCOLS)
        if not is_available("opentelemetry.exporter.otlp.proto.http.trace_exporter"):
            raise ValueError(
                "OTLP export needs opentelemetry-exporter-otlp-proto-http: "
                "pip install 'medical-insurance-sdk[otel]' (or OTEL_TRACES_EXPORTER=none)"
            )
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    if set_global and not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        raise ValueError(
            "an OpenTelemetry TracerProvider is already set globally: use it, or call "
            "configure_tracing(set_global=False) and pass tracer_provider= to the clients"
        )
    provider = TracerProvider(
        resource=Resource.create({"service.name": name or DEFAULT_SERVICE_NAME})
    )
    processor = None
    if export:
        from medical_insurance_sdk.span_export import CountedBatchSpanProcessor

        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            url = url or _env_traces_url()
            exporter = OTLPSpanExporter(endpoint=url, timeout=timeout, headers=headers)
        processor = CountedBatchSpanProcessor(exporter, max_queue_size=queue)
        provider.add_span_processor(processor)
    if set_global:
        trace.set_tracer_provider(provider)
    return TracingSetup(provider, url if export else None, processor)
