"""Sources of rollups: what the analyzer reads when it reads history or the fleet.

A :class:`RollupSource` answers :meth:`~RollupSource.rollups` with a
:class:`~medical_insurance_sdk.core.collection.rollups.RollupFrame` of the rollups whose
interval starts in ``[since, until)`` (epoch seconds), optionally for one API only. A
source may answer with coarser rows where they fit inside the window (hour rollups for
whole hours) and finer ones at the edges, unless asked for ``fine`` rows; counts are the
same either way. ``now()`` is
the source's present (epoch seconds): windows of "the last N minutes" end there.

Implementations: :class:`MemorySource` (a frame held in memory, for tests and replays),
``HistorySource`` (the embedded SQLite history) and ``PrometheusSource`` (PromQL over
Prometheus or VictoriaMetrics). A source that cannot answer (server down, wrong or
unauthorised URL, a file from a newer schema, too many series) raises
:class:`SourceError` naming the source and the reason; bad arguments raise
``ValueError``. A source with no data answers an empty frame.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from medical_insurance_sdk.core.collection.rollups import RollupFrame

__all__ = ["MemorySource", "RollupSource", "SourceError", "check_window"]


class SourceError(RuntimeError):
    """A source of history could not answer; the message names the source and why."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


@runtime_checkable
class RollupSource(Protocol):
    """Anything the analyzer can read rollups from."""

    @property
    def name(self) -> str:
        """Where the rollups come from (``history:PATH``, ``prometheus:URL``...)."""
        ...

    def now(self) -> float:
        """The source's present, epoch seconds."""
        ...

    def rollups(
        self, since: float, until: float, *, api_code: str | None = None, fine: bool = False
    ) -> RollupFrame:
        """Rollups whose interval starts in ``[since, until)``.

        ``fine=True`` asks for the finest rows the source keeps (minute rows wherever it
        still has them), for evaluations that slide minute by minute (incidents);
        otherwise the source may answer whole hours with hour rows.
        """
        ...


def check_window(since: float, until: float) -> tuple[float, float]:
    """``(since, until)`` as floats; ``ValueError`` unless both are finite and ordered."""
    a, b = float(since), float(until)
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"window must be finite epoch seconds (got {since!r}, {until!r})")
    if a > b:
        raise ValueError(f"window starts after it ends ({since!r} > {until!r})")
    return a, b


class MemorySource:
    """A source over a frame held in memory (tests, replayed logs)."""

    def __init__(
        self,
        frame: RollupFrame,
        *,
        now: Callable[[], float] | float | None = None,
        name: str = "memory",
    ) -> None:
        self.frame = frame
        self._now = now
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def now(self) -> float:
        if self._now is None:
            return time.time()
        return self._now() if callable(self._now) else float(self._now)

    def rollups(
        self, since: float, until: float, *, api_code: str | None = None, fine: bool = False
    ) -> RollupFrame:
        """The held rows starting in ``[since, until)`` (as held, whatever ``fine``)."""
        a, b = check_window(since, until)
        frame = self.frame.window(a, b)
        return frame if api_code is None else frame.for_api(api_code)
