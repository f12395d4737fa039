"""Anomaly scores of a series' minutes, from the analyzer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from suite_constants import NOW

from medical_insurance_sdk.core import PerformanceAnalyzer


def _record(collector, minutes: int, stop_last: int) -> None:
    rng = np.random.default_rng(2)
    for m in range(minutes - stop_last):
        for _ in range(int(rng.poisson(30))):
            collector.record_api_call(
                "2207",
                "H1",
                "success",
                float(rng.lognormal(5.4, 0.4)),
                timestamp=NOW - (minutes - m) * 60.0 + float(rng.uniform(0, 60)),
            )


def test_scores_cover_every_minute_and_a_stop_scores(mc):
    """One score per minute in [0, 1]; the stop scores above a usual steady minute."""
    collector, _ = mc
    _record(collector, 120, 3)
    found = PerformanceAnalyzer(collector).get_anomaly_scores("2207", "H1", 120)
    assert len(found.minutes) == len(found.calls_score) >= 120  # the current minute too
    assert found.calls[-3:] == (0.0, 0.0, 0.0)
    assert all(math.isnan(v) for v in found.p95_ms[-3:])  # no call: no p95, no score
    assert all(0.0 <= s <= 1.0 for s in found.calls_score)
    usual = float(np.median(found.calls_score[:-4]))
    assert max(found.calls_score[-4:]) > usual  # the drop (its first minutes) scores
    assert found.to_dict()["latest"] == found.latest
    whole = PerformanceAnalyzer(collector).get_anomaly_scores("2207", None, 120)
    assert whole.calls == found.calls  # one org: the API's series is the org's


def test_anomaly_scores_reject_bad_arguments(mc):
    """An empty code or a window <= 0 is a ValueError."""
    collector, _ = mc
    analyzer = PerformanceAnalyzer(collector)
    with pytest.raises(ValueError, match="api_code"):
        analyzer.get_anomaly_scores("")
    with pytest.raises(ValueError, match="time_range_minutes"):
        analyzer.get_anomaly_scores("2207", time_range_minutes=0)
