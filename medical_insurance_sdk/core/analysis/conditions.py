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
    grouped_max_concurrency,
    sorted_percentiles,
)
from medical_insurance_sdk.core.analysis.texts import Lang, alert_message
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold
from medical_insurance_sdk.core.store import CallSnapshot

__all__ = ["AlertPolicy", "observe", "observed_concurrency", "system_error_mask"]


def observed_concurrency(observations: list[Observation]) -> int:
    """The most calls in flight at once for one org, from :func:`observe`'s output."""
    return int(max((o.value for o in observations if o.alert_type == "concurrency"), default=0))


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
    by_latency: npt.NDArray[np.intp] | None = None,
) -> list[Observation]:
    """Observations of every (org, type) with calls in ``snap`` (one API's calls).

    ``by_latency`` is ``argsort`` of the durations when the caller has it already.
    """
    out: list[Observation] = []
    if len(snap) == 0:
        return out
    n_org = len(snap.org_codes)
    org = snap.org
    calls = np.bincount(org, minlength=n_org)
    oks = np.bincount(org, weights=snap.success.astype(np.float64), minlength=n_org)
    sys_errors = np.bincount(
        org, weights=system_error_mask(snap).astype(np.float64), minlength=n_org
    )
    ms = snap.duration_ms
    by_ms = np.argsort(ms) if by_latency is None else by_latency
    order, _ = group_slices(org[by_ms])  # stable: each org's latencies stay sorted
    sorted_ms = ms[by_ms[order]]
    starts = np.concatenate(([0], np.cumsum(calls)[:-1])).astype(np.intp)
    p95s = sorted_percentiles(sorted_ms, starts, calls.astype(np.intp), (95.0,))[0]
    conc = grouped_max_concurrency(snap.timestamp, snap.duration, org, n_org)
    budget = 1.0 - threshold.min_success_rate
    for org_index in np.flatnonzero(calls):
        code = snap.org_codes[org_index]
        n = int(calls[org_index])
        p95 = float(p95s[org_index])
        sys_rate = float(sys_errors[org_index] / n)
        failure = 1.0 - float(oks[org_index] / n)
        most = float(conc[org_index])
        figures = (
            ("response_time", p95, threshold.max_response_time_ms, p95),
            ("error_rate", sys_rate, threshold.max_error_rate, sys_rate),
            ("success_rate", failure, budget, 1.0 - failure),
            ("concurrency", most, float(threshold.max_concurrent_calls), most),
        )
        for kind, measured, limit, shown in figures:
            severity, cleared = _upper(measured, limit, n, policy)
            shown_limit = threshold.min_success_rate if kind == "success_rate" else limit
            out.append(
                Observation(
                    api_code=api_code,
                    org_code=code,
                    alert_type=kind,
                    calls=n,
                    value=shown,
                    threshold=shown_limit,
                    severity=severity,
                    cleared=cleared,
                    # only a holding condition needs its text (fire, escalate, refresh)
                    message=""
                    if severity is None
                    else alert_message(lang, kind, api_code, code, shown, shown_limit, n),
                )
            )
    return out
