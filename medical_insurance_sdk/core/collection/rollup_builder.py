"""RollupBuilder: minute rollups of every folded batch, kept until history takes them.

The builder is a listener of the call store (:meth:`CallStore.add_listener`): each batch
the fold turns into columns (the same batch that feeds ``/metrics``) becomes a
:class:`~medical_insurance_sdk.core.collection.rollups.RollupFrame` of minute rollups.
Nothing runs on the business call's hot path. :meth:`drain` hands the closed minutes
(those ending at or before a cut-off) to the history writer and forgets them;
:meth:`peek` shows what is held without taking it (the analysis reads the minutes not
yet written). Outcome-unknown W$ calls are counted per minute by :meth:`note_unknown`.

Memory is bounded: beyond ``max_rows`` held rollups (history down for a long time), the
oldest minutes are dropped and counted in :attr:`dropped_rows`.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from medical_insurance_sdk.core.collection.rollups import MINUTE, RollupFrame, frame_from_calls
from medical_insurance_sdk.core.collection.store import CallBatch

__all__ = ["RollupBuilder"]


class RollupBuilder:
    """Accumulates minute rollups of folded batches. Thread-safe."""

    def __init__(self, max_rows: int = 200_000, step: float = MINUTE) -> None:
        if max_rows < 1:
            raise ValueError("RollupBuilder.max_rows must be >= 1")
        self.max_rows = max_rows
        self.step = step
        self._lock = threading.Lock()
        self._held = RollupFrame.empty()
        self._parts: list[RollupFrame] = []
        self._unknown: dict[tuple[float, str, str], int] = {}
        #: Rollups dropped because ``max_rows`` were held (history not taking them).
        self.dropped_rows = 0

    def __call__(self, batch: CallBatch) -> None:
        """Store listener: roll up one folded batch."""
        cols = batch.columns
        frame = frame_from_calls(
            timestamp=cols["timestamp"],
            duration=cols["duration"],
            api=cols["api"],
            org=cols["org"],
            error=cols["error"],
            success=cols["success"],
            request_size=cols["request_size"],
            response_size=cols["response_size"],
            api_codes=batch.api_codes,
            org_codes=batch.org_codes,
            error_codes=batch.error_codes,
            step=self.step,
        )
        with self._lock:
            self._parts.append(frame)
            if len(self._parts) >= 16:
                self._consolidate()

    def note_unknown(self, api_code: str, org_code: str, when: float) -> None:
        """Count one outcome-unknown call of ``api_code``/``org_code`` at epoch ``when``."""
        key = (math.floor(when / self.step) * self.step, api_code, org_code)
        with self._lock:
            self._unknown[key] = self._unknown.get(key, 0) + 1

    def _consolidate(self) -> RollupFrame:
        """Merge the parts and unknown counts into the held frame (lock held)."""
        if self._parts or self._unknown:
            held = RollupFrame.concat([self._held, *self._parts]).merge()
            held = held.with_unknown_outcomes(self._unknown, self.step)
            self._parts, self._unknown = [], {}
            excess = len(held) - self.max_rows
            if excess > 0:
                order = np.argsort(held.start, kind="stable")
                keep = np.ones(len(held), dtype=np.bool_)
                keep[order[:excess]] = False
                self.dropped_rows += excess
                held = held.select(keep)
            self._held = held
        return self._held

    def peek(self) -> RollupFrame:
        """Every rollup held (closed and open minutes), without taking it."""
        with self._lock:
            return self._consolidate()

    def drain(self, cutoff: float) -> RollupFrame:
        """Take the rollups whose interval ends at or before ``cutoff`` (epoch seconds)."""
        with self._lock:
            held = self._consolidate()
            closed = held.start + held.step <= cutoff
            taken = held.select(closed)
            self._held = held.select(~closed)
            return taken

    def restore(self, frame: RollupFrame) -> None:
        """Give back rollups a writer could not store (they are retried with the next)."""
        with self._lock:
            self._parts.append(frame)
