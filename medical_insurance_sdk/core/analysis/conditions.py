"""Alert conditions per (API, org): the figures behind each :class:`Observation`.

For one API's calls in the window, calls are grouped by org; for each org with calls
:func:`observe` measures p95 latency, the system-error rate, the success rate and the
most calls in flight at once, and compares them with the API's threshold (see
:mod:`~medical_insurance_sdk.core.analysis.alerts` for the lifecycle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.analysis.alerts import Observation
from medical_insurance_sdk.core.analysis.descriptive import (
    SYSTEM_ERROR_CLASSES,
    error_class,
    group_slices,
    max_concurrency,
)
from medical_insurance_sdk.core.analysis.texts import Lang, alert_message
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold
from medical_insurance_sdk.core.store import CallSnapshot

__all__ = ["AlertPolicy", "observe", "system_error_mask"]


@dataclass(frozen=True)
class AlertPolicy:
    """How alerts fire and resolve: ``min_calls`` per org, ``hysteresis`` as a fraction."""

    min_calls: int = 20
    hysteresis: float = 0.1

    def __post_init__(self) -> None:
        if isinstance(self.min_calls, bool) or not isinstance(self.min_calls, int):
            raise ValueError("AlertPolicy.min_calls must be an int >= 1")
        if self.min_calls < 1:
            raise ValueError("AlertPolicy.min_calls must be an int >= 1")
        if not 0.0 <= self.hysteresis < 1.0:
            raise ValueError("AlertPolicy.hysteresis must be in [0, 1)")


def system_error_mask(snap: CallSnapshot) -> npt.NDArray[np.bool_]:
    """Failed calls whose error class is a system one (network, gateway, protocol ...)."""
    table = np.array(
        [error_class(code) in SYSTEM_ERROR_CLASSES for code in snap.error_codes] + [True],
        dtype=np.bool_,
    )
    # index -1 (no code) picks the last entry: a failure without a code counts as system
    return ~snap.success & table[snap.error]


def _upper(value: float, limit: float, calls: int, policy: AlertPolicy) -> tuple[str | None, bool]:
    """Severity and cleared flag for a value that must stay at or below ``limit``."""
    enough = calls >= policy.min_calls
    if not enough:
        return None, False
    if value > 2.0 * limit:
        return "critical", False
    if value > limit:
        return "warning", False
    return None, value <= limit * (1.0 - policy.hysteresis)


def observe(
    snap: CallSnapshot,
    api_code: str,
    threshold: PerformanceThreshold,
    policy: AlertPolicy,
    lang: Lang = "zh",
) -> list[Observation]:
    """Observations of every (org, type) with calls in ``snap`` (one API's calls)."""
    out: list[Observation] = []
    if len(snap) == 0:
        return out
    sys_err = system_error_mask(snap)
    order, groups = group_slices(snap.org)
    ms = snap.duration_ms[order]
    ok = snap.success[order]
    sys_sorted = sys_err[order]
    ts = snap.timestamp[order]
    dur = snap.duration[order]
    for org_index, a, b in groups:
        org = snap.org_codes[org_index]
        calls = b - a
        p95 = float(np.percentile(ms[a:b], 95.0))
        sys_rate = float(np.count_nonzero(sys_sorted[a:b]) / calls)
        failure = 1.0 - float(np.count_nonzero(ok[a:b]) / calls)
        conc = float(max_concurrency(ts[a:b], dur[a:b]))
        budget = 1.0 - threshold.min_success_rate
        figures = (
            ("response_time", p95, threshold.max_response_time_ms, p95),
            ("error_rate", sys_rate, threshold.max_error_rate, sys_rate),
            ("success_rate", failure, budget, 1.0 - failure),
            ("concurrency", conc, float(threshold.max_concurrent_calls), conc),
        )
        for kind, measured, limit, shown in figures:
            severity, cleared = _upper(measured, limit, calls, policy)
            shown_limit = threshold.min_success_rate if kind == "success_rate" else limit
            out.append(
                Observation(
                    api_code=api_code,
                    org_code=org,
                    alert_type=kind,
                    calls=calls,
                    value=shown,
                    threshold=shown_limit,
                    severity=severity,
                    cleared=cleared,
                    message=alert_message(lang, kind, api_code, org, shown, shown_limit, calls),
                )
            )
    return out
