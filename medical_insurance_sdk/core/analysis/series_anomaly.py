"""Anomaly scores of one series' minutes: calls, p95 and failure ratio.

:func:`score_series` reads the minute rollups of one API (and org, or every org) and runs
:class:`~medical_insurance_sdk.core.analysis.anomaly.AnomalyDetector` (its public
``score()`` only) on three per-minute series: the calls (every minute of the window, 0
when there was none: a stop scores), the p95 and the failure ratio (the minutes with
calls). Scores are causal: the score of a minute uses that minute and the earlier ones.
The alerts do not fire from them (they have their own rules, docs/alerting.md); the scores
tell a dashboard or an operator how unusual each of the last minutes was, and back a
deviation an alert reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.analysis.anomaly import AnomalyDetector
from medical_insurance_sdk.core.analysis.robust_stats import group_percentiles
from medical_insurance_sdk.core.collection.rollups import MINUTE, RollupFrame

__all__ = ["SeriesAnomaly", "score_series"]


@dataclass(frozen=True)
class SeriesAnomaly:
    """Per minute of one series: its figures and their anomaly scores in [0, 1]."""

    api_code: str
    org_code: str | None  # None: every org of the API
    minutes: tuple[float, ...]  # epoch seconds of each minute's start
    calls: tuple[float, ...]
    p95_ms: tuple[float, ...]  # NaN: no call that minute
    failure_ratio: tuple[float, ...]  # NaN: no call that minute
    calls_score: tuple[float, ...]
    p95_score: tuple[float, ...]  # NaN where the minute had no call
    failure_score: tuple[float, ...]

    @property
    def latest(self) -> float:
        """The largest score of the last minute (0 for an empty series)."""
        if not self.minutes:
            return 0.0
        last = [self.calls_score[-1], self.p95_score[-1], self.failure_score[-1]]
        return max((s for s in last if not math.isnan(s)), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "api_code": self.api_code,
            "org_code": self.org_code,
            "minutes": list(self.minutes),
            "calls": list(self.calls),
            "p95_ms": list(self.p95_ms),
            "failure_ratio": list(self.failure_ratio),
            "calls_score": list(self.calls_score),
            "p95_score": list(self.p95_score),
            "failure_score": list(self.failure_score),
            "latest": self.latest,
        }


def _scored(
    detector: AnomalyDetector, t: npt.NDArray[np.float64], v: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Scores of the finite points of ``v`` (NaN elsewhere)."""
    out = np.full(v.size, np.nan)
    known = np.isfinite(v)
    if known.any():
        out[known] = detector.score(t[known], v[known])
    return out


def score_series(
    frame: RollupFrame,
    api_code: str,
    org_code: str | None,
    since: float,
    until: float,
    detector: AnomalyDetector | None = None,
) -> SeriesAnomaly:
    """The minutes of ``[since, until)`` of one series of ``frame`` (minute rollups), scored."""
    first = math.floor(since / MINUTE) * MINUTE
    n = max(math.ceil((until - first) / MINUTE), 0)
    part = frame.window(first, first + n * MINUTE).for_api(api_code)
    if org_code is not None:
        keep = np.array([o == org_code for o in part.org_codes] + [False])
        part = part.select(keep[part.org] if len(part) else np.zeros(0, dtype=np.bool_))
    minute = np.floor((part.start - first) / MINUTE).astype(np.int64)
    calls = np.bincount(minute, weights=part.calls, minlength=n).astype(np.float64)[:n]
    failed = np.bincount(minute, weights=part.calls - part.successes, minlength=n)[:n]
    p95 = group_percentiles(part, minute, n, (95.0,))[0] if len(part) else np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(calls > 0, failed / np.maximum(calls, 1.0), np.nan)
    t = first + MINUTE * np.arange(n, dtype=np.float64)
    used = detector if detector is not None else AnomalyDetector()
    return SeriesAnomaly(
        api_code=api_code,
        org_code=org_code,
        minutes=tuple(t.tolist()),
        calls=tuple(calls.tolist()),
        p95_ms=tuple(p95.tolist()),
        failure_ratio=tuple(ratio.tolist()),
        calls_score=tuple(_scored(used, t, calls).tolist()),
        p95_score=tuple(_scored(used, t, p95).tolist()),
        failure_score=tuple(_scored(used, t, ratio).tolist()),
    )
