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
    latency_order,
    sorted_percentiles,
)
from medical_insurance_sdk.core.analysis.texts import Lang, alert_message
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold
from medical_insurance_sdk.core.collection.store import CallSnapshot

__all__ = ["AlertPolicy", "judge", "observe", "observed_concurrency", "system_error_mask"]


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


_SEVERITIES: tuple[str | None, ...] = (None, "warning", "critical")


def _upper(
    values: npt.NDArray[np.float64],
    limit: float,
    calls: npt.NDArray[np.int64],
    policy: AlertPolicy,
) -> tuple[list[int], list[bool]]:
    """Severity (0 none, 1 warning, 2 critical) and cleared flag per value.

    Each value must stay at or below ``limit``; it is critical above twice the limit,
    and cleared at or below ``limit·(1 - hysteresis)``. Fewer than ``policy.min_calls``
    calls decide nothing (severity 0, not cleared).
    """
    enough = calls >= policy.min_calls
    severity = np.where(values > 2.0 * limit, 2, np.where(values > limit, 1, 0)) * enough
    cleared = enough & (values <= limit * (1.0 - policy.hysteresis))
    return severity.tolist(), cleared.tolist()


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
    if len(snap) == 0:
        return []
    n_org = len(snap.org_codes)
    org = snap.org
    calls = np.bincount(org, minlength=n_org)
    oks = np.bincount(org, weights=snap.success.astype(np.float64), minlength=n_org)
    sys_errors = np.bincount(
        org, weights=system_error_mask(snap).astype(np.float64), minlength=n_org
    )
    ms = snap.duration_ms
    by_ms = latency_order(ms) if by_latency is None else by_latency
    order, _ = group_slices(org[by_ms])  # stable: each org's latencies stay sorted
    sorted_ms = ms[by_ms[order]]
    starts = np.concatenate(([0], np.cumsum(calls)[:-1])).astype(np.intp)
    p95s = sorted_percentiles(sorted_ms, starts, calls.astype(np.intp), (95.0,))[0]
    conc = grouped_max_concurrency(snap.timestamp, snap.duration, org, n_org)
    present = np.flatnonzero(calls)
    return judge(
        api_code,
        [snap.org_codes[i] for i in present.tolist()],
        calls[present],
        p95s[present],
        sys_errors[present] / calls[present],
        oks[present] / calls[present],
        conc[present].astype(np.float64),
        threshold,
        policy,
        lang,
    )


def judge(
    api_code: str,
    org_codes: list[str],
    calls: npt.NDArray[np.int64],
    p95: npt.NDArray[np.float64],
    sys_rate: npt.NDArray[np.float64],
    success: npt.NDArray[np.float64],
    most: npt.NDArray[np.float64],
    threshold: PerformanceThreshold,
    policy: AlertPolicy,
    lang: Lang = "zh",
) -> list[Observation]:
    """Observations of one API's orgs from their figures (one entry per org, with calls).

    ``p95`` in ms, ``sys_rate`` and ``success`` fractions, ``most`` calls in flight at
    once: :func:`observe` measures them from calls, the rollups' analysis from rollups.
    """
    n = np.asarray(calls, dtype=np.int64)
    budget = 1.0 - threshold.min_success_rate
    figures = (  # kind, measured, limit, shown value, shown limit
        ("response_time", p95, threshold.max_response_time_ms, p95, None),
        ("error_rate", sys_rate, threshold.max_error_rate, sys_rate, None),
        ("success_rate", 1.0 - success, budget, success, threshold.min_success_rate),
        ("concurrency", most, float(threshold.max_concurrent_calls), most, None),
    )
    judged = [  # per kind: (kind, severities, cleared flags, shown values, shown limit)
        (kind, *_upper(measured, limit, n, policy), shown.tolist(), limit if at is None else at)
        for kind, measured, limit, shown, at in figures
    ]
    out: list[Observation] = []
    for row, (org_code, k) in enumerate(zip(org_codes, n.tolist(), strict=True)):
        for kind, severities, cleared, shown_values, shown_at in judged:
            level, value = severities[row], shown_values[row]
            out.append(
                Observation(
                    api_code=api_code,
                    org_code=org_code,
                    alert_type=kind,
                    calls=k,
                    value=value,
                    threshold=shown_at,
                    severity=_SEVERITIES[level],
                    cleared=cleared[row],
                    # only a holding condition needs its text (fire, escalate, refresh)
                    message=alert_message(lang, kind, api_code, org_code, value, shown_at, k)
                    if level
                    else "",
                    lang=lang,
                )
            )
    return out
