"""The analyzer's baselines, learned from its source and refreshed cheaply.

:class:`BaselineBook` asks two callables for rollups (the analyzer knows where they
live: the collector's ring or history, or a source):

* ``recent(since, until)``: minute rollups of the last :attr:`recent_minutes` up to
  :attr:`exclude_minutes` ago; re-read at most every :attr:`refresh_seconds` (300);
* ``history(since, until)``: rollups of the :attr:`history_days` days before today
  (hour rows are fine); re-read only when the hour of the week changes.

Between refreshes the same baselines are returned (a few minutes old at most: a
baseline describes an hour, not a second). :meth:`BaselineBook.get` never raises for a
failing callable: the previous baselines stay, the failure is logged (once a minute)
and counted in :attr:`BaselineBook.failures`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from medical_insurance_sdk.core.analysis.baselines import (
    CST_OFFSET,
    Baseline,
    SeriesKey,
    hour_of_week,
    learn_baselines,
)
from medical_insurance_sdk.core.collection.rollups import MINUTE, RollupFrame

__all__ = ["BaselineBook", "Fetch"]

logger = logging.getLogger(__name__)

Fetch = Callable[[float, float], "RollupFrame | None"]
_LOG_EVERY = 60.0


class BaselineBook:
    """Cached baselines per (api_code, org_code); thread-safe."""

    def __init__(
        self,
        recent: Fetch,
        history: Fetch,
        *,
        recent_minutes: float = 60.0,
        exclude_minutes: float = 5.0,
        history_days: int = 21,
        refresh_seconds: float = 300.0,
    ) -> None:
        self._recent = recent
        self._history = history
        self.recent_minutes = recent_minutes
        self.exclude_minutes = exclude_minutes
        self.history_days = history_days
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._at = -math.inf
        self._how = -1
        self._history_frame = RollupFrame.empty()
        self._found: dict[SeriesKey, Baseline] = {}
        #: Refreshes that failed (the source down ...), logged once a minute.
        self.failures = 0
        self._logged = -math.inf

    def get(self, now: float) -> dict[SeriesKey, Baseline]:
        """Every series' baseline at ``now`` (refreshed when due)."""
        with self._lock:
            how = int(hour_of_week(now))
            due = now - self._at >= self.refresh_seconds or now < self._at or how != self._how
            if due:
                try:
                    self._refresh(now, how)
                except Exception as exc:  # a source down must not stop the alerts
                    self._failed(exc)
                self._at = now  # a failure is retried after refresh_seconds, not at once
                self._how = how
            return self._found

    def baseline(self, now: float, api_code: str, org_code: str | None) -> Baseline | None:
        """One series' baseline (None: not enough data yet)."""
        return self.get(now).get((api_code, org_code))

    def _refresh(self, now: float, how: int) -> None:
        if how != self._how:
            local_day = math.floor((now + CST_OFFSET) / 86400.0) * 86400.0 - CST_OFFSET
            since = local_day - self.history_days * 86400.0
            frame = self._history(since, local_day)
            self._history_frame = frame if frame is not None else RollupFrame.empty()
            self._how = how
        until = math.floor((now - self.exclude_minutes * MINUTE) / MINUTE) * MINUTE
        since = until - (self.recent_minutes - self.exclude_minutes) * MINUTE
        recent = self._recent(since, until)
        self._found = learn_baselines(
            recent if recent is not None else RollupFrame.empty(),
            since,
            until,
            self._history_frame,
            now,
        )

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        wall = time.monotonic()
        if wall - self._logged >= _LOG_EVERY:
            self._logged = wall
            logger.error("baseline refresh failed (%d so far): %s", self.failures, exc)
