"""Call tracing: a W3C trace context per call, and OpenTelemetry spans when available.

Each call gets a trace id and a span id, sent as a ``traceparent`` header
(``00-<32 hex trace id>-<16 hex span id>-<flags>``). When ``opentelemetry-api`` is
installed (the ``[tracing]`` extra) a CLIENT span ``medins <api_code>`` is opened per
call as a child of the active span, and the headers are written by OpenTelemetry's
configured propagators (``opentelemetry.propagate.inject``: W3C ``traceparent`` and
``tracestate``, ``baggage``, or whatever ``OTEL_PROPAGATORS`` names). Without
OpenTelemetry, or when it yields no valid span context (the API without a configured SDK),
the ids are generated locally and sent as our own ``traceparent``.

The span follows OpenTelemetry's semantic conventions for HTTP clients
(``http.request.method``, ``url.full`` without query or user info, ``server.address``,
``server.port``, ``http.response.status_code``, ``network.protocol.version``,
``error.type``) plus ``medins.*`` attributes: ``api_code``, ``org_code``, ``msgid``,
``interface_kind`` (``R``, ``W``, ``W$``), ``attempt`` and ``outcome`` (``ok``,
``refused``, ``failed``, ``unknown``). Retries are events on the call's one span
(``medins.attempt_failed``; every attempt carries the same ``traceparent``) and
``http.request.resend_count``; an unknown outcome adds the ``medins.outcome_unknown``
event with the 2601 reversal hint. Nothing personal is ever an attribute or an event:
only codes, the msgid, the URL without its query, numbers.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from medical_insurance_sdk.optional import is_available

__all__ = [
    "ATTEMPT_FAILED_EVENT",
    "OUTCOMES",
    "OUTCOME_UNKNOWN_EVENT",
    "CallTrace",
    "Tracer",
    "http_attributes",
]

_RNG = random.SystemRandom()
logger = logging.getLogger("medical_insurance_sdk.client")
_LOG_INTERVAL_S = 60.0
#: The values of ``medins.outcome``.
OUTCOMES: tuple[str, ...] = ("ok", "refused", "failed", "unknown")
#: The event a failed attempt that is retried adds to the call's span.
ATTEMPT_FAILED_EVENT = "medins.attempt_failed"
#: The event of a call whose outcome is unknown (W$: reverse with 2601).
OUTCOME_UNKNOWN_EVENT = "medins.outcome_unknown"
_UNKNOWN_HINT = "do not resend; reverse with 2601 (omsgid, oinfno) or reconcile with 3201/3202"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(slots=True)
class CallTrace:
    """The trace context of one call; ``span`` is the OpenTelemetry span, if any, and
    ``context`` the OpenTelemetry context holding it (what the propagators inject)."""

    trace_id: str
    span_id: str
    sampled: bool
    span: Any = None
    context: Any = None

    @property
    def traceparent(self) -> str:
        """The W3C ``traceparent`` header value."""
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"


def _local_trace() -> CallTrace:
    trace_id = _RNG.getrandbits(128) or 1
    span_id = _RNG.getrandbits(64) or 1
    return CallTrace(f"{trace_id:032x}", f"{span_id:016x}", sampled=True)


def http_attributes(url: str) -> dict[str, str | int]:
    """The semantic-convention attributes of a POST to ``url`` known before sending.

    ``url.full`` keeps scheme, host, port and path: user info, query and fragment (where
    a token could hide) are dropped.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    attributes: dict[str, str | int] = {"http.request.method": "POST"}
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    attributes["url.full"] = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if host:
        attributes["server.address"] = host
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    if port is not None:
        attributes["server.port"] = port
    return attributes


class Tracer:
    """Starts and ends call traces; decides once whether OpenTelemetry is used.

    ``use_otel=None`` means "if installed"; ``False`` always generates ids locally.
    ``provider`` is an OpenTelemetry ``TracerProvider`` to use instead of the global one.
    ``url`` is the platform's service URL (the span's ``url.full`` and ``server.*``).
    Decided at construction; at run time nothing here raises into a call but what
    OpenTelemetry itself raises (its API never does).
    """

    def __init__(self, use_otel: bool | None = None, provider: Any = None, url: str = "") -> None:
        if use_otel is None:
            use_otel = provider is not None or is_available("opentelemetry.trace")
        self._otel: Any = None
        #: Calls whose configured propagators raised (they sent our own ``traceparent``).
        self.inject_failures = 0
        self._logged_at = -_LOG_INTERVAL_S
        self._static = http_attributes(url) if url else {}
        if use_otel:
            from opentelemetry import propagate, trace

            self._otel = trace.get_tracer("medical_insurance_sdk", tracer_provider=provider)
            self._span_kind = trace.SpanKind.CLIENT
            self._status = trace.Status
            self._error = trace.StatusCode.ERROR
            self._in_context = trace.set_span_in_context
            self._inject = propagate.inject

    @property
    def uses_otel(self) -> bool:
        """True when calls open OpenTelemetry spans."""
        return self._otel is not None

    def start(self, api_code: str, org_code: str, msgid: str, kind: str = "") -> CallTrace:
        """Start the trace of one call (opens a client span when OpenTelemetry is used)."""
        if self._otel is None:
            return _local_trace()
        attributes: dict[str, str | int] = {
            **self._static,
            "medins.api_code": api_code,
            "medins.org_code": org_code,
            "medins.msgid": msgid,
        }
        if kind:
            attributes["medins.interface_kind"] = kind
        span = self._otel.start_span(
            f"medins {api_code}", kind=self._span_kind, attributes=attributes
        )
        context = span.get_span_context()
        if not context.is_valid:  # no SDK configured: local ids, our own traceparent
            local = _local_trace()
            local.span = span
            return local
        return CallTrace(
            f"{context.trace_id:032x}",
            f"{context.span_id:016x}",
            sampled=bool(context.trace_flags & 0x01),
            span=span,
            context=self._in_context(span),
        )

    def inject(self, trace: CallTrace, headers: dict[str, str]) -> None:
        """Write the call's trace context into the request ``headers``.

        A propagator that raises (a configured third-party one) never fails the call: our
        own ``traceparent`` is sent instead, the failure counted in
        :attr:`inject_failures` and logged at most once a minute.
        """
        if trace.context is None:
            headers["traceparent"] = trace.traceparent
            return
        try:
            self._inject(headers, context=trace.context)
        except Exception as exc:  # monitoring boundary: the call goes on
            headers["traceparent"] = trace.traceparent
            self.inject_failures += 1
            now = time.monotonic()
            if now - self._logged_at >= _LOG_INTERVAL_S:
                self._logged_at = now
                logger.warning(
                    "OpenTelemetry propagation failed (%s), own traceparent sent; %d so far",
                    type(exc).__name__,
                    self.inject_failures,
                )

    def attempt_failed(
        self, trace: CallTrace, attempt: int, error_code: str, status_code: int, delay: float
    ) -> None:
        """Note on the call's span that ``attempt`` failed and the call is retried."""
        span = trace.span
        if span is None or not span.is_recording():
            return
        attributes: dict[str, str | int | float] = {
            "medins.attempt": attempt,
            "error.type": error_code,
            "medins.retry_delay_s": round(delay, 3),
        }
        if status_code:
            attributes["http.response.status_code"] = status_code
        span.add_event(ATTEMPT_FAILED_EVENT, attributes)

    def outcome_unknown(self, trace: CallTrace, api_code: str, msgid: str) -> None:
        """Add the unknown-outcome event: the 2601 reversal to send (omsgid, oinfno)."""
        span = trace.span
        if span is None or not span.is_recording():
            return
        span.add_event(
            OUTCOME_UNKNOWN_EVENT,
            {
                "medins.hint": _UNKNOWN_HINT,
                "medins.reversal.api_code": "2601",
                "medins.reversal.omsgid": msgid,
                "medins.reversal.oinfno": api_code,
            },
        )

    def end(
        self,
        trace: CallTrace,
        error_code: str | None,
        outcome: str = "ok",
        attempts: int = 1,
        status_code: int = 0,
        http_version: str = "",
    ) -> None:
        """End the call's span: outcome, attempts, status; an error status on failure."""
        span = trace.span
        if span is None:
            return
        if span.is_recording():
            attributes: dict[str, str | int] = {
                "medins.outcome": outcome,
                "medins.attempt": attempts,
            }
            if attempts > 1:
                attributes["http.request.resend_count"] = attempts - 1
            if status_code:
                attributes["http.response.status_code"] = status_code
            if http_version:
                attributes["network.protocol.version"] = http_version.rpartition("/")[2]
            if error_code is not None:
                attributes["error.type"] = error_code
            span.set_attributes(attributes)
            if error_code is not None:
                span.set_status(self._status(self._error, error_code))
        span.end()
