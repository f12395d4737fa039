"""Calls started and not yet ended: bounded, expiring, counted when abandoned.

The hot path touches only :attr:`PendingCalls.calls` (a plain dict: setting and popping a
key are atomic in CPython). Eviction beyond the bound and expiry after the timeout take a
lock and count each dropped call in ``abandoned{api_code, org_code}`` and in the
monitoring health under ``pending_overflow`` / ``pending_expired``.

Connection types are label values: :attr:`PendingCalls.kinds` sanitises each distinct one
once (a lone surrogate, a control character or personal data never reaches the
exposition), keeps at most :data:`MAX_CONNECTION_TYPES` and counts what it changed or
folded into ``__other__``; pending entries hold the clean value.

Calls recorded through a :class:`~medical_insurance_sdk.core.collection.channel.CallChannel` are not
registered one by one: each channel's caller ends every call it starts, and counts it in
flight in its connection type's list (:meth:`PendingCalls.lane`), which the counts here
include.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from medical_insurance_sdk.core.collection.labelled_numbers import LabelledNumbers
from medical_insurance_sdk.core.collection.labels import LabelCache
from medical_insurance_sdk.core.runtime.health import MonitoringHealth

__all__ = ["MAX_CONNECTION_TYPES", "PendingCall", "PendingCalls"]

#: Distinct ``connection_type`` values kept; later ones are reported as ``__other__``.
MAX_CONNECTION_TYPES = 64

#: (api_code, org_code, start monotonic ns, request_size, trace_id, connection_type)
PendingCall = tuple[Any, Any, int, Any, "str | None", "str | None"]


class PendingCalls:
    """The started calls of one collector."""

    def __init__(
        self,
        limit: int,
        timeout_s: float,
        clock_ns: Callable[[], int],
        health: MonitoringHealth,
        abandoned: LabelledNumbers,
    ) -> None:
        self.calls: dict[int, PendingCall] = {}
        #: Raw connection type -> clean label value; the clean values seen so far are
        #: reported (at 0 when idle) once seen.
        self.kinds = LabelCache(
            "connection_type", MAX_CONNECTION_TYPES, max_length=64, on_drop=health.drop
        )
        #: The channels' in-flight lists by connection type (see :meth:`lane`).
        self._lanes: dict[str | None, list[None]] = {}
        self.limit = limit
        self._timeout_ns = int(timeout_s * 1e9)
        self._clock_ns = clock_ns
        self._health = health
        self._abandoned = abandoned
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.calls) + sum(len(calls) for calls in list(self._lanes.values()))

    @property
    def connection_types(self) -> tuple[str, ...]:
        """The clean connection types seen so far."""
        return tuple(self.kinds.values)

    def connection_type(self, raw: object) -> str:
        """The clean label value of a connection type (sanitised once per value)."""
        try:
            return self.kinds.clean[raw]
        except (KeyError, TypeError):  # new, or unhashable
            return self.kinds.resolve(raw)

    def lane(self, connection_type: str | None) -> list[None]:
        """The in-flight list of the channels of ``connection_type``: one ``None`` per call.

        ``append`` and ``pop`` are atomic, so the channels' callers need no lock.
        """
        kind = None if connection_type is None else self.connection_type(connection_type)
        with self.lock:
            return self._lanes.setdefault(kind, [])

    def evict_overflow(self) -> None:
        """Drop the oldest calls while more than ``limit`` are pending."""
        calls = self.calls
        with self.lock:
            while len(calls) > self.limit:
                try:
                    entry = calls.pop(next(iter(calls)))
                except (StopIteration, KeyError, RuntimeError):  # raced with an end
                    continue
                self._abandon(entry, "pending_overflow")

    def expire(self) -> int:
        """Drop calls pending longer than the timeout; return how many."""
        limit = self._clock_ns() - self._timeout_ns
        expired = 0
        with self.lock:
            for call_id, entry in list(self.calls.items()):
                if entry[2] < limit and self.calls.pop(call_id, None) is not None:
                    self._abandon(entry, "pending_expired")
                    expired += 1
        return expired

    def in_flight_by_type(self) -> dict[str, int]:
        """Pending calls that declared a connection type, counted by type."""
        counts = dict.fromkeys(self.connection_types, 0)
        for entry in list(self.calls.values()):
            kind = entry[5]
            if kind is not None:
                counts[kind] = counts.get(kind, 0) + 1
        for kind, calls in list(self._lanes.items()):
            if kind is not None:
                counts[kind] = counts.get(kind, 0) + len(calls)
        return counts

    def forget_all(self) -> None:
        """Forget every pending call without counting it (a forked child's inheritance)."""
        self.calls.clear()
        for calls in self._lanes.values():
            calls.clear()

    def _abandon(self, entry: PendingCall, reason: str) -> None:
        self._health.drop(reason)
        self._abandoned.add(1, entry[0], entry[1])
