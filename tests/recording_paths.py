"""The three ways a client records its calls, for tests parametrised over every path.

``RECORDERS`` names a collector to read results from and the CallMonitor handed to the
client: our collector (the channel), a subclass overriding how a call ends (its
methods, guarded), and a foreign CallMonitor (an adapter around a collector, guarded).
"""

from __future__ import annotations

from typing import Any

from medical_insurance_sdk.core import MetricConfig, MetricsCollector

__all__ = ["PATHS", "Foreign", "ForeignOldEnd", "Subclassed", "recorder"]

#: Parametrisation ids, and the recording path each one takes.
PATHS = {"ours": "channel", "subclass": "guarded", "foreign": "guarded"}


class Subclassed(MetricsCollector):
    """Our collector with an overridden end (that must see every call)."""

    ended = 0

    def record_api_call_end(
        self,
        call_id: int,
        status: str,
        error_code: str | None = None,
        error_message: str | None = None,
        response_size: int = 0,
        request_size: int | None = None,
    ) -> None:
        """Count, then end as ours does."""
        self.ended += 1
        super().record_api_call_end(
            call_id, status, error_code, error_message, response_size, request_size
        )


class Foreign:
    """A CallMonitor that is not a MetricsCollector: an adapter in front of one."""

    def __init__(self, inner: MetricsCollector) -> None:
        self.inner = inner

    def record_api_call_start(
        self,
        api_code: str,
        org_code: str,
        request_size: int = 0,
        trace_id: str | None = None,
        connection_type: str | None = None,
    ) -> int:
        """Start on the inner collector."""
        return self.inner.record_api_call_start(
            api_code, org_code, request_size, trace_id, connection_type
        )

    def record_api_call_end(
        self,
        call_id: int,
        status: str,
        error_code: str | None = None,
        error_message: str | None = None,
        response_size: int = 0,
        request_size: int | None = None,
    ) -> None:
        """End on the inner collector."""
        self.inner.record_api_call_end(
            call_id, status, error_code, error_message, response_size, request_size
        )

    def record_cache_hit_ratio(self, ratio: float, cache_type: str) -> None:
        """Forward."""
        self.inner.record_cache_hit_ratio(ratio, cache_type)

    def record_outcome_unknown(self, api_code: str, org_code: str) -> None:
        """Forward."""
        self.inner.record_outcome_unknown(api_code, org_code)


class ForeignOldEnd(Foreign):
    """A foreign CallMonitor written to the protocol's older end (no request_size)."""

    def record_api_call_end(  # type: ignore[override]
        self,
        call_id: int,
        status: str,
        error_code: str | None = None,
        error_message: str | None = None,
        response_size: int = 0,
    ) -> None:
        """End on the inner collector, keeping the start's request size."""
        self.inner.record_api_call_end(call_id, status, error_code, error_message, response_size)


def recorder(kind: str, config: MetricConfig) -> tuple[MetricsCollector, Any]:
    """``(collector to read, monitor to hand to the client)`` for ``kind`` in PATHS."""
    if kind == "ours":
        ours = MetricsCollector(config)
        return ours, ours
    if kind == "subclass":
        sub = Subclassed(config)
        return sub, sub
    inner = MetricsCollector(config)
    return inner, Foreign(inner)
