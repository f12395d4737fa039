"""The client's side of monitoring: what it needs from a collector, and a guard around it.

The client observes each call from outside its business logic: it opens
``collector.track(...)`` around the HTTP exchange, reports cache hit ratios, in-flight
requests and unknown outcomes. :class:`CallMonitor` is the subset of
:class:`medical_insurance_sdk.core.MetricsCollector` the client uses (structural typing,
so any compatible collector works). :class:`GuardedMonitor` makes sure a monitoring
failure never fails a business call: errors are logged (rate limited) and counted.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Protocol

__all__ = ["CallMonitor", "GuardedMonitor", "TrackedCall"]

logger = logging.getLogger(__name__)

_LOG_INTERVAL = 60.0


class TrackedCall(Protocol):
    """The handle ``collector.track(...)`` yields for one call."""

    request_size: int
    response_size: int

    def fail(self, error_code: str, error_message: str | None = None) -> None:
        """Mark the call as failed without raising."""
        ...


class CallMonitor(Protocol):
    """What the client needs from a metrics collector."""

    def track(
        self,
        api_code: str,
        org_code: str,
        *,
        request_size: int = 0,
        trace_id: str | None = None,
    ) -> AbstractContextManager[Any]:
        """Context manager timing one call; yields a :class:`TrackedCall`."""
        ...

    def record_cache_hit_ratio(self, ratio: float, cache_type: str) -> None:
        """Set the cache hit ratio gauge."""
        ...

    def inc_active_connections(self, connection_type: str, delta: int = 1) -> None:
        """Move the in-flight connections gauge."""
        ...

    def record_outcome_unknown(self, api_code: str, org_code: str) -> None:
        """Count a W$ call whose outcome is unknown."""
        ...


class GuardedMonitor:
    """Wraps a collector so that none of its failures reaches the business call."""

    __slots__ = ("_collector", "_last_log", "_lock", "failures")

    def __init__(self, collector: CallMonitor) -> None:
        self._collector = collector
        self._lock = threading.Lock()
        self._last_log = 0.0
        #: How many monitoring operations failed (and were dropped).
        self.failures = 0

    def _failed(self, operation: str) -> None:
        with self._lock:
            self.failures += 1
            now = time.monotonic()
            if now - self._last_log < _LOG_INTERVAL:
                return
            self._last_log = now
        logger.exception("monitoring %s failed; the call goes on unmonitored", operation)

    def enter(
        self, api_code: str, org_code: str, request_size: int, trace_id: str
    ) -> tuple[AbstractContextManager[Any], TrackedCall] | None:
        """Open the collector's tracking context; None if the collector failed."""
        try:
            context = self._collector.track(
                api_code, org_code, request_size=request_size, trace_id=trace_id
            )
            return context, context.__enter__()
        except Exception:  # monitoring boundary: the call must go on
            self._failed("track")
            return None

    def exit(
        self,
        tracked: tuple[AbstractContextManager[Any], TrackedCall] | None,
        response_size: int,
        error: BaseException | None,
    ) -> None:
        """Close the tracking context, passing the call's error (if any) to the collector."""
        if tracked is None:
            return
        context, call = tracked
        try:
            call.response_size = response_size
            if error is None:
                context.__exit__(None, None, None)
            else:
                tb: TracebackType | None = error.__traceback__
                context.__exit__(type(error), error, tb)
        except Exception as exc:  # monitoring boundary: the call's own result stands
            if exc is not error:  # a collector may re-raise the call's own error
                self._failed("track exit")

    def cache_ratio(self, ratio: float) -> None:
        """Report the response cache's hit ratio."""
        try:
            self._collector.record_cache_hit_ratio(ratio, "response")
        except Exception:  # monitoring boundary
            self._failed("cache ratio")

    def in_flight(self, delta: int) -> None:
        """Move ``active_connections{connection_type="http"}`` by ``delta``."""
        try:
            self._collector.inc_active_connections("http", delta)
        except Exception:  # monitoring boundary
            self._failed("active connections")

    def outcome_unknown(self, api_code: str, org_code: str) -> None:
        """Count an unknown W$ outcome."""
        try:
            self._collector.record_outcome_unknown(api_code, org_code)
        except Exception:  # monitoring boundary
            self._failed("outcome unknown")
