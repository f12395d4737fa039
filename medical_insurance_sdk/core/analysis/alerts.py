"""Alerts with a lifecycle: fire once, stay active, resolve with hysteresis.

An alert is identified by ``(api_code, org_code, alert_type)``. On every evaluation each
identity gets an :class:`Observation` for the calls of that API and org in the window:

* **fire**: the condition holds (``warning`` beyond the threshold, ``critical`` beyond
  twice the threshold, or twice the error budget for the success rate) and at least
  ``min_calls`` calls were seen: a new alert is created and reported once;
* **stay**: while it holds the same alert stays active (its value is refreshed, never
  duplicated); an escalation from warning to critical is reported again;
* **resolve**: when the value is back inside the threshold by a margin (the hysteresis,
  10 % by default) with at least ``min_calls`` calls, or when the org made no call at all
  in the window. Fewer calls than ``min_calls`` neither fire nor resolve anything. A
  resolved alert reads as one: its message is replaced by the resolve text with the value
  at resolve time and the threshold, ``已恢复：接口 2207（门诊结算） 机构 H1 成功率 99.8%
  （目标 99.5%）`` (``Resolved: ...`` in English; "no calls in the window" when idle), in
  the language of the observation that fired it.

Types: ``response_time`` (p95 against ``max_response_time_ms``), ``error_rate`` (system
errors against ``max_error_rate``), ``success_rate`` (against ``min_success_rate``) and
``concurrency`` (most calls in flight at once against ``max_concurrent_calls``); against
a baseline (:mod:`.detection`): ``latency_baseline``, ``refusal_rate`` (business
refusals) and ``traffic_drop``. When the conditions hold, and whether a few calls are
evidence enough, is decided before the manager sees an observation (:mod:`.conditions`,
:mod:`.detection`, docs/alerting.md): the manager applies the lifecycle only.
Callbacks get a :class:`PerformanceAlert` on fire (``state == "active"``), escalation
and resolution (``state == "resolved"``); a failing callback is logged, never raised.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, NamedTuple

from medical_insurance_sdk.core.analysis.texts import Lang, resolved_message

__all__ = [
    "ALERT_TYPES",
    "AlertCallback",
    "AlertManager",
    "Observation",
    "PerformanceAlert",
    "iso",
]

logger = logging.getLogger(__name__)

ALERT_TYPES = (
    "response_time",
    "error_rate",
    "success_rate",
    "concurrency",
    "latency_baseline",
    "refusal_rate",
    "traffic_drop",
)


def iso(epoch: float) -> str:
    """UTC ISO-8601 text of an epoch time."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


@dataclass(frozen=True)
class PerformanceAlert:
    """One alert (an immutable view; the manager replaces it as its state changes)."""

    alert_id: str
    alert_type: str
    api_code: str
    org_code: str
    severity: str  # 'warning' | 'critical'
    state: str  # 'active' | 'resolved'
    threshold_value: float
    actual_value: float
    message: str
    timestamp: float  # when it fired, epoch seconds
    updated_at: float
    resolved_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "alert_type": self.alert_type,
            "api_code": self.api_code,
            "org_code": self.org_code,
            "severity": self.severity,
            "state": self.state,
            "threshold_value": self.threshold_value,
            "actual_value": self.actual_value,
            "message": self.message,
            "timestamp": iso(self.timestamp),
            "updated_at": iso(self.updated_at),
            "resolved_at": None if self.resolved_at is None else iso(self.resolved_at),
        }


class Observation(NamedTuple):
    """One identity's condition at one evaluation.

    A named tuple, not a frozen dataclass: an overview makes four per (API, org), and
    a tuple is built several times faster.
    """

    api_code: str
    org_code: str
    alert_type: str
    calls: int
    value: float
    threshold: float
    severity: str | None  # the condition holds at this severity; None when it does not
    cleared: bool  # back inside the threshold by the hysteresis margin, or no calls
    message: str
    lang: Lang = "zh"  # the language of ``message`` (and of the resolve text)


AlertCallback = Callable[[PerformanceAlert], None]
Key = tuple[str, str, str]


class AlertManager:
    """Holds active alerts and a bounded history; thread-safe."""

    def __init__(self, history_size: int = 1000) -> None:
        if history_size < 1:
            raise ValueError("AlertManager.history_size must be >= 1")
        self._lock = threading.Lock()
        self._active: dict[Key, PerformanceAlert] = {}
        self._langs: dict[Key, Lang] = {}  # per active alert: the language it fired in
        self._history: deque[PerformanceAlert] = deque(maxlen=history_size)
        self._callbacks: list[AlertCallback] = []
        self._ids = itertools.count(1)
        #: Callback invocations that raised (logged).
        self.callback_errors = 0

    def on_alert(self, callback: AlertCallback) -> None:
        """Call ``callback(alert)`` on every fire, escalation and resolution."""
        with self._lock:
            self._callbacks.append(callback)

    def active(self) -> list[PerformanceAlert]:
        """Active alerts, oldest first."""
        with self._lock:
            return sorted(self._active.values(), key=lambda a: (a.timestamp, a.alert_id))

    def history(self) -> list[PerformanceAlert]:
        """Fired, escalated and resolved alerts, oldest first (bounded)."""
        with self._lock:
            return list(self._history)

    def update(
        self, observations: Iterable[Observation], api_codes: Iterable[str], now: float
    ) -> list[PerformanceAlert]:
        """Apply one evaluation of ``api_codes``; return the alerts that changed.

        Active alerts of those APIs without an observation (no call from that org in the
        window) are resolved.
        """
        changed: list[PerformanceAlert] = []
        seen: set[Key] = set()
        with self._lock:
            for obs in observations:
                key = (obs.api_code, obs.org_code, obs.alert_type)
                seen.add(key)
                current = self._active.get(key)
                if current is None:
                    if obs.severity is not None:
                        alert = PerformanceAlert(
                            alert_id=f"{obs.alert_type}-{obs.api_code}-{next(self._ids):06d}",
                            alert_type=obs.alert_type,
                            api_code=obs.api_code,
                            org_code=obs.org_code,
                            severity=obs.severity,
                            state="active",
                            threshold_value=obs.threshold,
                            actual_value=obs.value,
                            message=obs.message,
                            timestamp=now,
                            updated_at=now,
                        )
                        self._active[key] = alert
                        self._langs[key] = obs.lang
                        changed.append(alert)
                elif obs.cleared:
                    changed.append(self._resolve(key, current, now, obs.value, obs.threshold))
                elif obs.severity is not None:
                    escalated = obs.severity == "critical" and current.severity == "warning"
                    # the constructor, not dataclasses.replace: this runs for every
                    # holding condition at every evaluation
                    self._active[key] = PerformanceAlert(
                        alert_id=current.alert_id,
                        alert_type=current.alert_type,
                        api_code=current.api_code,
                        org_code=current.org_code,
                        severity="critical" if escalated else current.severity,
                        state=current.state,
                        threshold_value=obs.threshold,
                        actual_value=obs.value,
                        message=obs.message,
                        timestamp=current.timestamp,
                        updated_at=now,
                    )
                    if escalated:
                        changed.append(self._active[key])
            scope = set(api_codes)
            for key, current in list(self._active.items()):
                if key[0] in scope and key not in seen:
                    changed.append(self._resolve(key, current, now, None, current.threshold_value))
            self._history.extend(changed)
            callbacks = list(self._callbacks)
        for alert in changed:
            for callback in callbacks:
                try:
                    callback(alert)
                except Exception:  # a user's callback must not break the evaluation
                    self.callback_errors += 1
                    logger.exception("alert callback %r failed for %s", callback, alert.alert_id)
        return changed

    def _resolve(
        self, key: Key, current: PerformanceAlert, now: float, value: float | None, limit: float
    ) -> PerformanceAlert:
        """End ``current``: ``value`` is the figure now (None: the org made no call)."""
        del self._active[key]
        lang = self._langs.pop(key, "zh")
        return replace(
            current,
            state="resolved",
            actual_value=current.actual_value if value is None else value,
            threshold_value=limit,
            message=resolved_message(
                lang, current.alert_type, current.api_code, current.org_code, value, limit
            ),
            updated_at=now,
            resolved_at=now,
        )
