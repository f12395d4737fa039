"""CallChannel: recording calls without a Python frame, for instrumentation that ends them all.

:meth:`MetricsCollector.record_api_call_start` and ``record_api_call_end`` keep every
started call in a registry under an id, so that any code may end any call, and so that a
call never ended is found and counted abandoned. That costs two Python calls, a dict
insertion and a pop per call. Instrumentation that owns both ends of each call, and ends
it on every path (the SDK client ends its calls in ``except BaseException``), can record
through a channel instead, where each step is one call of a C builtin:

.. code-block:: python

    channel = collector.open_channel("http")      # once; None when monitoring is off
    start_ns = channel.clock()                     # the start
    channel.enter(None)                            # counts the call in flight
    ...                                            # the call itself
    channel.leave()                                # on every path, exactly once
    channel.stage((channel.clock(), start_ns, api_code, org_code, ok,
                   error_code, error_message, request_size, response_size, trace_id))
    if len(channel.staging) >= channel.fold_at:
        channel.fold()

The staged tuple is the store's record (:class:`~medical_insurance_sdk.core.store.StagedCall`
with the raw clock readings, as the collector's own end stages it). The channel trusts its
caller: sizes must be non-negative ints and the record must have its ten fields; error
messages are masked when folded, as for every call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from medical_insurance_sdk.core.health import MonitoringHealth
from medical_insurance_sdk.core.store import STAGED_WIDTH, CallStore

__all__ = ["CallChannel"]


class CallChannel:
    """The collector's frame-free recording path for one connection type (see the module)."""

    __slots__ = (
        "_health",
        "_store",
        "clock",
        "connection_type",
        "enter",
        "fold_at",
        "leave",
        "stage",
        "staging",
    )

    def __init__(
        self,
        store: CallStore,
        clock_ns: Callable[[], int],
        in_flight: list[None],
        connection_type: str | None,
        health: MonitoringHealth,
    ) -> None:
        #: The collector's monotonic clock in ns: read it at the start and at the end.
        self.clock = clock_ns
        self.connection_type = connection_type
        #: ``enter(None)`` at the start, ``leave()`` at the end: the length of the list
        #: is the number of calls in flight (``active_connections{connection_type}``).
        self.enter: Callable[[None], None] = in_flight.append
        self.leave: Callable[[], object] = in_flight.pop
        #: Extends the store's staging list by one call's ten fields (one atomic step).
        self.stage: Callable[[tuple[Any, ...]], None] = store.staging.extend
        self.staging = store.staging
        #: Fold the staging list once it holds this many fields.
        self.fold_at = store.batch_size * STAGED_WIDTH
        self._store = store
        self._health = health

    def fold(self) -> None:
        """Fold the staged calls into the store. Never raises (failures are counted)."""
        try:
            self._store.flush()
        except Exception as exc:  # monitoring boundary: never break the business call
            self._health.error("channel_fold", exc)

    def failed(self, exc: BaseException) -> None:
        """Count (and log, rate limited) a failure of the caller's recording steps."""
        self._health.error("channel_record", exc)
