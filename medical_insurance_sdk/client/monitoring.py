"""The client's side of monitoring: what it needs from a collector, and a guard around it.

The client observes each call from outside its business logic: it starts a call in the
collector before the HTTP exchange and ends it after (``connection_type="http"``, so the
call counts in ``active_connections{connection_type="http"}`` while in flight), and
reports cache hit ratios and unknown outcomes. :class:`CallMonitor` is the subset of
:class:`medical_insurance_sdk.core.MetricsCollector` the client uses (structural typing,
so any compatible collector works). :class:`GuardedMonitor` makes sure a monitoring
failure never fails a business call: errors are logged (rate limited) and counted.

The per-call path is the CPU the monitoring adds to every call (issue 3 budgets it at
1 %). When the collector is :class:`~medical_insurance_sdk.core.MetricsCollector` with its
own recording methods, :attr:`GuardedMonitor.channel` is a
:class:`~medical_insurance_sdk.core.channel.CallChannel` and the client records through it
without a Python frame (it ends every call it starts, on every path), and
:attr:`GuardedMonitor.start` / :attr:`GuardedMonitor.end` are the collector's own bound
methods, which never raise. Any other collector has no channel and its methods are wrapped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from medical_insurance_sdk.core.tracking import error_code_of
from medical_insurance_sdk.exceptions import MedicalInsuranceError

# Imported when a collector is given: `import medical_insurance_sdk` stays numpy-free.
if TYPE_CHECKING:
    from medical_insurance_sdk.core.channel import CallChannel
    from medical_insurance_sdk.core.metrics_collector import MetricsCollector

__all__ = ["CallMonitor", "GuardedMonitor", "describe_error"]

logger = logging.getLogger(__name__)

_LOG_INTERVAL = 60.0


class CallMonitor(Protocol):
    """What the client needs from a metrics collector."""

    def record_api_call_start(
        self,
        api_code: str,
        org_code: str,
        request_size: int = 0,
        trace_id: str | None = None,
        connection_type: str | None = None,
    ) -> int:
        """Start timing one call; its id for :meth:`record_api_call_end`."""
        ...

    def record_api_call_end(
        self,
        call_id: int,
        status: str,
        error_code: str | None = None,
        error_message: str | None = None,
        response_size: int = 0,
    ) -> None:
        """End a started call."""
        ...

    def record_cache_hit_ratio(self, ratio: float, cache_type: str) -> None:
        """Set the cache hit ratio gauge."""
        ...

    def record_outcome_unknown(self, api_code: str, org_code: str) -> None:
        """Count a W$ call whose outcome is unknown."""
        ...


def describe_error(error: BaseException) -> tuple[str, str | None]:
    """``(error_code, message)`` of a failed call's exception. Never raises.

    The code is the stable ``error_code`` (or the class name). Only the SDK's own errors
    give their message (built by the SDK, personal data masked, and masked again when
    stored); any other exception (a cancellation, an interrupt, a bug, a transport's
    error) gives none, since its text may quote anything, names and addresses included.
    """
    try:
        code = error_code_of(error)
    except Exception:  # an error_code property that raises: fall back to the class
        code = type(error).__name__
    if not isinstance(error, MedicalInsuranceError):
        return code, None
    return code, error.message or None


def _missing(what: str) -> Callable[..., Any]:
    def fail(*args: object) -> Any:
        raise AttributeError(f"the collector cannot record a call {what}")

    return fail


def _own(method: object, name: str) -> bool:
    """True when ``method`` is MetricsCollector's own ``name`` (bound, not replaced)."""
    from medical_insurance_sdk.core.metrics_collector import MetricsCollector

    return getattr(method, "__func__", None) is getattr(MetricsCollector, name)


StartCall = Callable[[str, str, int, str, str], "int | None"]
EndCall = Callable[[Any, str, "str | None", "str | None", int], None]
EndOk = Callable[[Any, int], None]


class GuardedMonitor:
    """Wraps a collector so that none of its failures reaches the business call.

    ``start(api_code, org_code, request_size, trace_id, connection_type)`` returns the
    call's id (None when a foreign collector failed); ``end(call_id, status, error_code,
    error_message, response_size)`` ends it, ``end_ok(call_id, response_size)`` ends it
    as a success (through the collector's optional ``record_api_call_success`` when it is
    MetricsCollector's own, else through ``end``). None of them raises. ``channel`` is the
    collector's frame-free path for ``connection_type`` when it has one (else None).
    """

    __slots__ = (
        "_collector",
        "_end",
        "_last_log",
        "_lock",
        "_start",
        "channel",
        "end",
        "end_ok",
        "failures",
        "start",
    )

    def __init__(self, collector: CallMonitor, connection_type: str = "http") -> None:
        self._collector = collector
        # Bound once: the per-call path is two calls. A collector missing them fails
        # (counted) at each call, never here.
        self._start = getattr(collector, "record_api_call_start", None) or _missing("start")
        self._end = getattr(collector, "record_api_call_end", None) or _missing("end")
        trusted = _own(self._start, "record_api_call_start") and _own(
            self._end, "record_api_call_end"
        )
        self.start: StartCall = self._start if trusted else self._guarded_start
        self.end: EndCall = self._end if trusted else self._guarded_end
        success = getattr(collector, "record_api_call_success", None)
        own_success = success is not None and _own(success, "record_api_call_success")
        self.end_ok: EndOk = self._guarded_end_ok
        if trusted and own_success and success is not None:
            self.end_ok = success
        self._lock = threading.Lock()
        self._last_log = 0.0
        #: How many monitoring operations failed (and were dropped).
        self.failures = 0
        self.channel: CallChannel | None = None
        # The channel stages what the collector's own methods would: a subclass that
        # overrides any of them records through them instead.
        from medical_insurance_sdk.core.metrics_collector import MetricsCollector

        if trusted and own_success and isinstance(collector, MetricsCollector):
            self.channel = self._open_channel(collector, connection_type)

    def _open_channel(
        self, collector: MetricsCollector, connection_type: str
    ) -> CallChannel | None:
        if not _own(getattr(collector, "open_channel", None), "open_channel"):
            return None
        try:
            return collector.open_channel(connection_type)
        except Exception:  # monitoring boundary: record through start/end instead
            self._failed("channel")
            return None

    def failed(self, operation: str, exc: BaseException) -> None:
        """Count a failure of the client's own monitoring steps; log it (rate limited)."""
        self._failed(operation, exc)

    def _failed(self, operation: str, exc: BaseException | None = None) -> None:
        with self._lock:
            self.failures += 1
            now = time.monotonic()
            if now - self._last_log < _LOG_INTERVAL:
                return
            self._last_log = now
        logger.error(
            "monitoring %s failed; the call goes on unmonitored",
            operation,
            exc_info=exc if exc is not None else True,
        )

    def _guarded_start(
        self, api_code: str, org_code: str, request_size: int, trace_id: str, connection_type: str
    ) -> int | None:
        try:
            call_id: int = self._start(api_code, org_code, request_size, trace_id, connection_type)
        except Exception:  # monitoring boundary: the call must go on
            self._failed("call start")
            return None
        return call_id

    def _guarded_end(
        self,
        call_id: Any,
        status: str,
        error_code: str | None,
        error_message: str | None,
        response_size: int,
    ) -> None:
        if call_id is None:  # the start failed: nothing to end
            return
        try:
            self._end(call_id, status, error_code, error_message, response_size)
        except Exception:  # monitoring boundary: the call's own result stands
            self._failed("call end")

    def _guarded_end_ok(self, call_id: Any, response_size: int) -> None:
        self._guarded_end(call_id, "success", None, None, response_size)

    def cache_ratio(self, ratio: float) -> None:
        """Report the response cache's hit ratio."""
        try:
            self._collector.record_cache_hit_ratio(ratio, "response")
        except Exception:  # monitoring boundary
            self._failed("cache ratio")

    def outcome_unknown(self, api_code: str, org_code: str) -> None:
        """Count an unknown W$ outcome."""
        try:
            self._collector.record_outcome_unknown(api_code, org_code)
        except Exception:  # monitoring boundary
            self._failed("outcome unknown")
