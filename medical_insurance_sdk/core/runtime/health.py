"""Self-monitoring: what the monitoring system dropped, and where it failed.

Monitoring never breaks the business call, so its own failures are caught at the
boundary, counted here by stage, and logged at most once per ``log_interval`` seconds per
stage (the first with a traceback). Everything dropped on purpose (unknown call ids,
overflowing pending calls, abandoned calls, label overflow) is counted by reason. Both
are exported as ``medical_insurance_monitoring_errors_total{stage}`` and
``medical_insurance_monitoring_dropped_total{reason}``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from medical_insurance_sdk.redaction import mask_text

__all__ = ["MonitoringHealth"]

logger = logging.getLogger("medical_insurance_sdk.monitoring")


class MonitoringHealth:
    """Thread-safe counters of internal errors and drops, with rate-limited logging."""

    def __init__(self, log_interval: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._errors: Counter[str] = Counter()
        self._dropped: Counter[str] = Counter()
        self._last_log: dict[str, float] = {}
        self._log_interval = log_interval

    def error(self, stage: str, exc: BaseException) -> None:
        """Count an internal failure at ``stage`` and log it (rate limited)."""
        with self._lock:
            self._errors[stage] += 1
            count = self._errors[stage]
            now = time.monotonic()
            last = self._last_log.get(stage)
            due = last is None or now - last >= self._log_interval
            if due:
                self._last_log[stage] = now
        if due:
            # The message is masked; the traceback (which may quote raw data) is DEBUG only.
            logger.warning(
                "monitoring error in %s (%d so far; the business call is unaffected): %s: %s",
                stage,
                count,
                type(exc).__name__,
                mask_text(str(exc), 300),
            )
            logger.debug("monitoring error in %s", stage, exc_info=exc)

    def drop(self, reason: str, n: int = 1) -> None:
        """Count ``n`` items dropped on purpose for ``reason``."""
        with self._lock:
            self._dropped[reason] += n

    def errors(self) -> dict[str, int]:
        """Internal errors by stage."""
        with self._lock:
            return dict(self._errors)

    def dropped(self) -> dict[str, int]:
        """Drops by reason."""
        with self._lock:
            return dict(self._dropped)
