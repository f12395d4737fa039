"""CallChannel: recording calls without a Python frame (internal: our client and collector).

:meth:`MetricsCollector.record_api_call_start` and ``record_api_call_end`` keep every
started call in a registry under an id, so that any code may end any call, and so that a
call never ended is found and counted abandoned. That costs two Python calls, a dict
insertion and a pop per call. The SDK client owns both ends of each call and ends it on
every path (``except BaseException`` included), so it records through a channel instead,
where each step is one call of a C builtin. This is a private protocol between the
client (``client/_base.py``) and the collector (``MetricsCollector._open_channel``), not
a public API: other instrumentation records through ``record_api_call_start``/``end``
or ``track``, which check what they are given.

The protocol, in this order (the client's ``_open_monitor``, ``_succeed`` and
``_record_failure`` follow it; ``tests/unit/test_channel.py`` drives it the same way):

.. code-block:: python

    channel = collector._open_channel("http")      # once; None when monitoring is off
    start_ns = channel.clock()                     # the start
    channel.enter(None)                            # counts the call in flight
    ...                                            # the call itself
    channel.stage((channel.clock(), start_ns, api_code, org_code, ok,
                   error_code, error_message, request_size, response_size, trace_id))
    channel.leave()                                # on every path, exactly once
    if len(channel.staging) >= channel.fold_at:
        channel.fold()

The record is staged before the call leaves the in-flight count, so a failing ``leave``
(an in-flight list emptied by a fork) never loses the call. The staged tuple is a
:class:`~medical_insurance_sdk.core.collection.staged.StagedCall` (field order and units there:
two raw clock readings in ns, then the labels, the flag and the sizes). The channel
trusts its caller on the hot path; the fold checks every batch (whole records, int
readings and sizes, a bool flag) and drops and counts a malformed one, and error
messages are masked when folded, as for every call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from medical_insurance_sdk.core.collection.staged import STAGED_WIDTH
from medical_insurance_sdk.core.collection.store import CallStore
from medical_insurance_sdk.core.runtime.health import MonitoringHealth

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
        #: Extends the store's staging list by one StagedCall's fields (one atomic step).
        self.stage: Callable[[tuple[Any, ...]], None] = store.staging.extend
        self.staging = store.staging
        #: Fold the staging list once it holds this many fields.
        self.fold_at = store.batch_size * STAGED_WIDTH
        self._store = store
        self._health = health

    def fold(self) -> None:
        """Fold the staged calls into the store. Never raises (failures are counted)."""
        try:
            self._store.fold()
        except Exception as exc:  # monitoring boundary: never break the business call
            self._health.error("channel_fold", exc)

    def failed(self, exc: BaseException) -> None:
        """Count (and log, rate limited) a failure of the caller's recording steps."""
        self._health.error("channel_record", exc)
