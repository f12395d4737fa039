"""Clocks: monotonic durations, and wall-clock timestamps that cannot jump.

Durations always come from ``time.perf_counter_ns()``. Timestamps (used only to place a
call in a time window) come from :class:`AnchoredClock`: the wall clock read once at
construction, advanced by the monotonic clock. A wall clock stepped backwards or
forwards while the process runs (NTP step, operator error) therefore cannot reorder
records or make a window swallow or lose calls. Tests inject their own clock.
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["AnchoredClock", "Clock", "ManualClock"]


class Clock(Protocol):
    """What the collector needs from a clock."""

    def wall(self) -> float:
        """Epoch seconds, for time windows."""

    def monotonic_ns(self) -> int:
        """Nanoseconds from an arbitrary origin, for durations."""


class AnchoredClock:
    """Wall time anchored once, advanced monotonically."""

    __slots__ = ("_anchor_mono", "_anchor_wall")

    def __init__(self) -> None:
        self._anchor_wall = time.time()
        self._anchor_mono = time.perf_counter()

    def wall(self) -> float:
        return self._anchor_wall + (time.perf_counter() - self._anchor_mono)

    def monotonic_ns(self) -> int:
        return time.perf_counter_ns()


class ManualClock:
    """A clock that moves only when told: for tests and replays."""

    __slots__ = ("_mono_ns", "_wall")

    def __init__(self, wall: float = 1_700_000_000.0) -> None:
        self._wall = float(wall)
        self._mono_ns = 0

    def wall(self) -> float:
        return self._wall

    def monotonic_ns(self) -> int:
        return self._mono_ns

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("ManualClock.advance: seconds must be >= 0")
        self._wall += seconds
        self._mono_ns += int(seconds * 1e9)
