"""The client's side of monitoring: what it needs from a collector, and a guard around it.

The client observes each call from outside its business logic: it starts a call in the
collector before the HTTP exchange and ends it after (``connection_type="http"``, so the
call counts in ``active_connections{connection_type="http"}`` while in flight), and
reports cache hit ratios and unknown outcomes. :class:`CallMonitor` is the subset of
:class:`medical_insurance_sdk.core.MetricsCollector` the client uses (structural typing,
so any compatible collector works). :class:`GuardedMonitor` makes sure a monitoring
failure never fails a business call: errors are logged (rate limited) and counted.

The per-call path is the CPU the monitoring adds to every call (budgeted at
1 %, ``bench/bench_client.py``). Which of three recording paths a collector gets is decided once, by
:func:`recording_path` (the one rule; see there): our own collector's calls are staged
through a frame-free channel, its unmodified methods are called unwrapped, anything else
goes through guards. Every path records the same values for the same call (the tests in
``tests/unit/test_client_monitor.py`` and ``tests/integration/test_client_monitoring.py``
run over each): in particular the request size is passed again at the end
(``record_api_call_end(..., request_size=)``), since a 9101 upload's multipart body is
only known after the call started. A foreign collector whose ``record_api_call_end``
does not accept ``request_size`` (the protocol's older signature) is still called, the
old way, and keeps the size given at the start.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

from medical_insurance_sdk.core.collection.tracking import CallRecorder, error_code_of
from medical_insurance_sdk.exceptions import MedicalInsuranceError

# Imported when a collector is given: `import medical_insurance_sdk` stays numpy-free.
if TYPE_CHECKING:
    from medical_insurance_sdk.core.collection.channel import CallChannel
    from medical_insurance_sdk.core.metrics_collector import MetricsCollector

__all__ = ["CallMonitor", "GuardedMonitor", "RecordingPath", "describe_error", "recording_path"]

logger = logging.getLogger(__name__)

_LOG_INTERVAL = 60.0


class CallMonitor(CallRecorder, Protocol):
    """What the client needs from a metrics collector: a call's start and end (the
    :class:`~medical_insurance_sdk.core.collection.tracking.CallRecorder` that ``track``
    needs too), the cache hit ratio and unknown outcomes."""

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


def _own(collector: object, name: str) -> bool:
    """True when ``collector.name`` is MetricsCollector's own method (bound, not replaced)."""
    from medical_insurance_sdk.core.metrics_collector import MetricsCollector

    method = getattr(collector, name, None)
    return getattr(method, "__func__", None) is getattr(MetricsCollector, name)


#: The three ways the client records a call (see :func:`recording_path`).
RecordingPath = Literal["channel", "direct", "guarded"]

#: The methods whose own (MetricsCollector's) code the channel reproduces.
_CHANNEL_METHODS = ("record_api_call_start", "record_api_call_end", "_open_channel")


def recording_path(collector: object) -> RecordingPath:
    """How the client records its calls on ``collector``: the one rule, decided once.

    * ``"channel"``: ``collector`` is a :class:`MetricsCollector` (a subclass included)
      whose ``record_api_call_start``, ``record_api_call_end`` and ``_open_channel`` are
      all MetricsCollector's own, and which is enabled. The client stages each call's
      :class:`~medical_insurance_sdk.core.collection.staged.StagedCall` through the collector's
      internal channel (``core/collection/channel.py``): the same record those methods would stage,
      without a Python frame.
    * ``"direct"``: the same methods are MetricsCollector's own but there is no channel
      (the collector is disabled, or opening the channel failed): the client calls
      ``record_api_call_start``/``end`` unwrapped, since they never raise.
    * ``"guarded"``: anything else: a subclass that overrides either method (its
      override must see every call), any other :class:`CallMonitor`. The client calls
      start/end through guards that count and log (rate limited) every failure.

    The channel is only a faster way to write the same record: on every path a call
    stores the same api and org codes, status, error code and message, sizes and trace id.
    """
    from medical_insurance_sdk.core.metrics_collector import MetricsCollector

    if not all(_own(collector, name) for name in _CHANNEL_METHODS[:2]):
        return "guarded"
    if isinstance(collector, MetricsCollector) and _own(collector, "_open_channel"):
        return "channel" if collector.config.enabled else "direct"
    return "direct"


def _takes_request_size(end: Callable[..., Any]) -> bool:
    """True when ``end`` accepts ``request_size=`` (the protocol's current signature)."""
    try:
        inspect.signature(end).bind(0, "success", None, None, 0, request_size=0)
    except (TypeError, ValueError):  # the older signature, or no signature to read
        return False
    return True


StartCall = Callable[[str, str, int, str, str], "int | None"]
EndCall = Callable[[Any, str, "str | None", "str | None", int, int], None]


class GuardedMonitor:
    """Wraps a collector so that none of its failures reaches the business call.

    ``start(api_code, org_code, request_size, trace_id, connection_type)`` returns the
    call's id (None when a foreign collector failed); ``end(call_id, status, error_code,
    error_message, response_size, request_size)`` ends it. Neither raises. ``path`` is
    the recording path :func:`recording_path` chose; ``channel`` is the collector's
    frame-free path for ``connection_type`` on the ``"channel"`` path (else None).
    """

    __slots__ = (
        "_collector",
        "_end",
        "_end_takes_request_size",
        "_last_log",
        "_lock",
        "_start",
        "channel",
        "end",
        "failures",
        "path",
        "start",
    )

    def __init__(self, collector: CallMonitor, connection_type: str = "http") -> None:
        self._collector = collector
        self._lock = threading.Lock()
        self._last_log = 0.0
        #: How many monitoring operations failed (and were dropped).
        self.failures = 0
        # Bound once: the per-call path is two calls. A collector missing them fails
        # (counted) at each call, never here.
        self._start = getattr(collector, "record_api_call_start", None) or _missing("start")
        self._end = getattr(collector, "record_api_call_end", None) or _missing("end")
        self._end_takes_request_size = _takes_request_size(self._end)
        self.path: RecordingPath = recording_path(collector)
        self.channel: CallChannel | None = None
        from medical_insurance_sdk.core.metrics_collector import MetricsCollector

        if self.path == "channel" and isinstance(collector, MetricsCollector):
            self.channel = self._open_channel(collector, connection_type)
            if self.channel is None:
                self.path = "direct"
        direct = self.path != "guarded"
        self.start: StartCall = self._start if direct else self._guarded_start
        self.end: EndCall = self._end if direct else self._guarded_end

    def _open_channel(
        self, collector: MetricsCollector, connection_type: str
    ) -> CallChannel | None:
        try:
            return collector._open_channel(connection_type)
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
        request_size: int,
    ) -> None:
        if call_id is None:  # the start failed: nothing to end
            return
        try:
            if self._end_takes_request_size:
                self._end(
                    call_id, status, error_code, error_message, response_size,
                    request_size=request_size,
                )  # fmt: skip
            else:  # the protocol's older signature: the size given at the start stays
                self._end(call_id, status, error_code, error_message, response_size)
        except Exception:  # monitoring boundary: the call's own result stands
            self._failed("call end")

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
