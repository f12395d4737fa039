"""Clocks: monotonic durations, and wall-clock timestamps that cannot jump.

Durations always come from a monotonic nanosecond clock (``time.perf_counter_ns``).
Timestamps, used only to place a call in a time window, are the same monotonic reading
plus a constant ``wall_offset`` (the epoch time of monotonic zero, measured once). A wall
clock stepped backwards or forwards while the process runs (an NTP step, an operator)
therefore cannot reorder records, nor make a window swallow or lose calls; and the hot
path reads one clock, not two. Tests inject :class:`ManualClock`.
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["AnchoredClock", "Clock", "ManualClock"]


class Clock(Protocol):
    """What the collector needs: a monotonic clock and the epoch time of its zero."""

    @property
    def wall_offset(self) -> float:
        """Epoch seconds at monotonic zero: ``wall = monotonic_ns / 1e9 + wall_offset``."""

    def monotonic_ns(self) -> int:
        """Nanoseconds from an arbitrary origin."""

    def wall(self) -> float:
        """Epoch seconds now, on the same scale as recorded timestamps."""


class AnchoredClock:
    """``perf_counter_ns`` anchored to the wall clock once, at construction."""

    __slots__ = ("wall_offset",)

    def __init__(self) -> None:
        self.wall_offset = time.time() - time.perf_counter_ns() / 1e9

    #: The builtin itself, not a method around it: the collector's hot path reads it
    #: twice per call, and a Python frame each time would cost more than the read.
    monotonic_ns = staticmethod(time.perf_counter_ns)

    def wall(self) -> float:
        return time.perf_counter_ns() / 1e9 + self.wall_offset


class ManualClock:
    """A clock that moves only when told: for tests and replays."""

    __slots__ = ("_mono_ns", "wall_offset")

    def __init__(self, wall: float = 1_700_000_000.0) -> None:
        self.wall_offset = float(wall)
        self._mono_ns = 0

    def monotonic_ns(self) -> int:
        return self._mono_ns

    def wall(self) -> float:
        return self._mono_ns / 1e9 + self.wall_offset

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("ManualClock.advance: seconds must be >= 0")
        self._mono_ns += round(seconds * 1e9)
