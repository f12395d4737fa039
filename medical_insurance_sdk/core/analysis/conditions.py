"""Alert conditions per (API, org): the figures behind each :class:`Observation`.

For one API's calls in the window, calls are grouped by org; for each org with calls
:func:`observe` measures p95 latency, the system-error rate, the success rate and the
most calls in flight at once, and compares them with the API's threshold (see
:mod:`~medical_insurance_sdk.core.analysis.alerts` for the lifecycle).
"""

from __future__ import annotations

import math
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
from medical_insurance_sdk.core.analysis.evidence import has_evidence
from medical_insurance_sdk.core.analysis.texts import Lang, alert_message
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold
from medical_insurance_sdk.core.collection.store import CallSnapshot

__all__ = ["AlertPolicy", "judge", "observe", "observed_concurrency", "system_error_mask"]


def observed_concurrency(observations: list[Observation]) -> int:
    """The most calls in flight at once for one org, from :func:`observe`'s output."""
    return int(max((o.value for o in observations if o.alert_type == "concurrency"), default=0))


@dataclass(frozen=True)
class AlertPolicy:
    """How alerts fire and resolve (see docs/alerting.md).

    ``min_calls`` per org and window, ``hysteresis`` as a fraction of the limit;
    ``confidence`` and ``min_failures``: a ratio alert needs failures that reject the
    budget at that confidence (one-sided binomial test) and at least that many;
    ``short_window_minutes``: the short window of the multi-window evaluation (a
    condition holding in the long window fires unless the short one is clear, and
    resolves as soon as the short one is clear with ``min_short_calls`` calls);
    ``latency_factor`` and ``latency_z``: a p95 this many times its baseline, and this
    many robust standard deviations above it, is a ``latency_baseline`` alert;
    ``refusal_factor`` and ``refusal_margin``: business refusals above
    ``max(factor·usual, usual + margin)`` with evidence are a ``refusal_rate`` alert;
    ``drop_confidence`` and ``drop_ratio``: fewer than ``drop_ratio`` of the usual calls
    in the short window, and a Poisson test at ``drop_confidence``, are a
    ``traffic_drop`` alert; ``baselines=False`` turns the baseline alerts off.
    """

    min_calls: int = 20
    hysteresis: float = 0.1
    confidence: float = 0.99
    min_failures: int = 3
    short_window_minutes: float = 1.0
    min_short_calls: int = 10
    latency_factor: float = 2.5
    latency_z: float = 4.0
    refusal_factor: float = 3.0
    refusal_margin: float = 0.02
    drop_confidence: float = 0.999999
    drop_ratio: float = 0.5
    baselines: bool = True

    def __post_init__(self) -> None:
        for name in ("min_calls", "min_failures", "min_short_calls"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"AlertPolicy.{name} must be an int >= 1")
        if not 0.0 <= self.hysteresis < 1.0:
            raise ValueError("AlertPolicy.hysteresis must be in [0, 1)")
        for name in ("confidence", "drop_confidence"):
            if not 0.5 <= getattr(self, name) < 1.0:
                raise ValueError(f"AlertPolicy.{name} must be in [0.5, 1)")
        if not 0.0 < self.drop_ratio < 1.0:
            raise ValueError("AlertPolicy.drop_ratio must be in (0, 1)")
        for name in ("short_window_minutes", "latency_factor", "refusal_factor"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"AlertPolicy.{name} must be > 0")
        for name in ("latency_z", "refusal_margin"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"AlertPolicy.{name} must be >= 0")


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
    ratio: bool = False,
) -> tuple[list[int], list[bool]]:
    """Severity (0 none, 1 warning, 2 critical) and cleared flag per value.

    Each value must stay at or below ``limit``; it is critical above twice the limit,
    and cleared at or below ``limit·(1 - hysteresis)``. Fewer than ``policy.min_calls``
    calls decide nothing (severity 0, not cleared). A ``ratio`` (of failures) holds only
    with evidence: the failures reject the budget ``limit`` (:mod:`.evidence`).
    """
    enough = calls >= policy.min_calls
    fires = enough
    if ratio:
        failures = np.rint(values * calls)
        fires = enough & has_evidence(
            failures, calls, limit, policy.confidence, policy.min_failures
        )
    severity = np.where(values > 2.0 * limit, 2, np.where(values > limit, 1, 0)) * fires
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
    figures = (  # kind, measured, limit, shown value, shown limit, a failure ratio
        ("response_time", p95, threshold.max_response_time_ms, p95, None, False),
        ("error_rate", sys_rate, threshold.max_error_rate, sys_rate, None, True),
        ("success_rate", 1.0 - success, budget, success, threshold.min_success_rate, True),
        ("concurrency", most, float(threshold.max_concurrent_calls), most, None, False),
    )
    judged = [  # per kind: (kind, severities, cleared flags, shown values, shown limit)
        (
            kind,
            *_upper(measured, limit, n, policy, ratio),
            shown.tolist(),
            limit if at is None else at,
        )
        for kind, measured, limit, shown, at, ratio in figures
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
