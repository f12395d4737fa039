"""HistoryRecorder: the collector's boundary between its rollups and the history file.

Every housekeeping run :meth:`~HistoryRecorder.flush` takes the minutes closed before
``now - grace`` from the collector's
:class:`~medical_insurance_sdk.core.collection.rollup_builder.RollupBuilder`
and writes them, then prunes one bounded step. A fault (locked, corrupt, read-only or
full file, a newer schema) never reaches the business call or the collector: it is
counted as ``medical_insurance_monitoring_errors_total{stage="history"}``, logged at
most once a minute, and the rollups are given back to the builder to be retried next run
(bounded by the builder's ``max_rows``; rollups dropped beyond it are counted as
``medical_insurance_monitoring_dropped_total{reason="history_rollups"}``).
"""

from __future__ import annotations

import math
import threading

from medical_insurance_sdk.core.collection.rollup_builder import RollupBuilder
from medical_insurance_sdk.core.collection.rollups import RollupFrame
from medical_insurance_sdk.core.history.writer import HistoryWriter
from medical_insurance_sdk.core.runtime import forking
from medical_insurance_sdk.core.runtime.health import MonitoringHealth

__all__ = ["DEFAULT_GRACE", "HistoryRecorder"]

#: Seconds a minute stays open after it ends, for calls still being folded.
DEFAULT_GRACE = 5.0


class HistoryRecorder:
    """Moves closed rollups from a builder into a writer; counts faults, retries."""

    def __init__(
        self,
        builder: RollupBuilder,
        writer: HistoryWriter,
        health: MonitoringHealth,
        *,
        grace: float = DEFAULT_GRACE,
        prune_steps: int = 1,
    ) -> None:
        self.builder = builder
        self.writer = writer
        self.health = health
        self.grace = grace
        self.prune_steps = prune_steps
        self._lock = threading.Lock()
        self._dropped_seen = 0

    def flush(self, now: float, *, prune: bool = True) -> int:
        """Write the minutes that ended before ``now - grace``, then prune one step.

        Returns the rows written, ``-1`` after a fault (counted; the rollups are kept).
        Never raises.
        """
        with self._lock:
            written = self._write(self.builder.drain(now - self.grace))
            if written >= 0 and prune and self.prune_steps > 0:  # a failed write: skip
                try:
                    self.writer.prune(max_steps=self.prune_steps, now=now)
                except Exception as exc:  # monitoring boundary: counted, retried next run
                    self.health.error("history", exc)
            self._count_dropped()
            return written

    def flush_all(self) -> int:
        """Write everything held, open minutes included (shutdown); as :meth:`flush`."""
        with self._lock:
            written = self._write(self.builder.drain(math.inf))
            self._count_dropped()
            return written

    def _write(self, frame: RollupFrame) -> int:
        if not len(frame):
            return 0
        try:
            return self.writer.write(frame)
        except Exception as exc:  # monitoring boundary: give the rollups back, retry later
            self.builder.restore(frame)
            self.health.error("history", exc)
            return -1

    def _count_dropped(self) -> None:
        dropped = self.builder.dropped_rows
        if dropped > self._dropped_seen:
            self.health.drop("history_rollups", dropped - self._dropped_seen)
            self._dropped_seen = dropped

    def rollups(
        self, since: float, until: float, *, api_code: str | None = None, fine: bool = False
    ) -> RollupFrame:
        """This process's rows in the file plus the rollups not yet written, merged.

        A file that cannot be read is counted (stage ``history``) and only the rollups
        held in memory are answered.
        """
        with self._lock:
            try:
                stored = self.writer.own_rollups(since, until, api_code=api_code, fine=fine)
            except Exception as exc:  # monitoring boundary
                self.health.error("history", exc)
                stored = RollupFrame.empty()
            held = self.builder.peek().window(since, until)
        if api_code is not None:
            held = held.for_api(api_code)
        return RollupFrame.concat([stored, held]).merge()

    def after_fork(self) -> None:
        """In a forked child: forget the parent's unwritten rollups (the parent writes
        them) and register as a writer of its own at the next write."""
        forking.renew_locks(self.builder)  # callable, so the collector's walk skips it
        self.builder.drain(math.inf)
        self._dropped_seen = self.builder.dropped_rows
        self.writer.close()
